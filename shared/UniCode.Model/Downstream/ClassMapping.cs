using System.Security.Cryptography;
using System.Text;
using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Model.Downstream;

/// <summary>
/// The classes two datasets share, for cross-dataset transfer (AVE→AVVP: 12 classes; UCF↔VGGSound: 16):
/// shared class k is <c>Pairs[k].Source</c> in the source dataset and <c>Pairs[k].Target</c> in the
/// target dataset. Both datasets are relabelled to K + 1 columns (the K shared classes in this
/// order, background last).
/// </summary>
public sealed record ClassMapping(IReadOnlyList<(string Source, string Target)> Pairs)
{
    /// <summary>A mapping between classes of the same name in both datasets.</summary>
    public static ClassMapping SameNames(IEnumerable<string> names) => new(names.Select(n => (n, n)).ToList());

    /// <summary>Aligned name lists (line k of one file ↔ line k of the other, as UCF101sameVGGSound.txt / VGGSoundsameUCF101.txt).</summary>
    public static ClassMapping Aligned(IReadOnlyList<string> source, IReadOnlyList<string> target)
    {
        if (source.Count != target.Count)
            throw new ArgumentException($"aligned class lists have {source.Count} and {target.Count} names: expected the same number");
        return new(source.Zip(target).ToList());
    }

    /// <summary>Names of the shared classes (the target dataset's names).</summary>
    public IReadOnlyList<string> Names => Pairs.Select(p => p.Target).ToList();

    /// <summary>The source dataset relabelled to the shared classes (see <see cref="Relabel"/>).</summary>
    public LabeledClips ApplyToSource(LabeledClips source) => Relabel(source, Pairs.Select(p => p.Source).ToList(), "source");

    /// <summary>The target dataset relabelled to the shared classes (see <see cref="Relabel"/>).</summary>
    public LabeledClips ApplyToTarget(LabeledClips target) => Relabel(target, Pairs.Select(p => p.Target).ToList(), "target");

    /// <summary>
    /// Keeps the label columns of the shared classes; a second with no shared class active becomes
    /// background (an event of an unshared class counts as background). Every split keeps only the
    /// clips with at least one shared-class second in some label set, as the reference's AVE→AVVP
    /// lists hold only such clips. Features are shared, not copied.
    /// </summary>
    private LabeledClips Relabel(LabeledClips data, IReadOnlyList<string> names, string side)
    {
        if (Pairs.Count == 0) throw new ArgumentException("class mapping is empty: expected at least one shared class");
        data.Validate();
        var columns = names.Select(n =>
        {
            var i = data.ClassNames.ToList().IndexOf(n);
            return i >= 0 ? (long)i
                : throw new ArgumentException($"LabeledClips '{data.ContentHash}' ({side} of the class mapping): field ClassNames has no class '{n}': expected one of {string.Join(", ", data.ClassNames.Select(c => $"'{c}'"))}");
        }).ToArray();
        if (columns.Distinct().Count() != columns.Length)
            throw new ArgumentException($"class mapping names a {side} class twice: expected each {side} class at most once");

        Tensor Map(Tensor labels)
        {
            using var scope = NewDisposeScope();
            var shared = labels.index_select(2, tensor(columns, device: labels.device));
            var background = 1 - shared.amax(new long[] { 2 }, keepdim: true);
            return cat([shared, background], 2).MoveToOuterDisposeScope();
        }
        var segment = Map(data.SegmentLabels);
        var perModality = data.ModalityLabels?.ToDictionary(kv => kv.Key, kv => Map(kv.Value));

        bool[] keep;
        using (NewDisposeScope())
        {
            var any = segment.narrow(2, 0, Pairs.Count).sum(new long[] { 1, 2 }) > 0;
            foreach (var l in perModality?.Values ?? Enumerable.Empty<Tensor>())
                any = any.logical_or(l.narrow(2, 0, Pairs.Count).sum(new long[] { 1, 2 }) > 0);
            keep = any.data<bool>().ToArray();
        }
        var splits = data.Splits.ToDictionary(kv => kv.Key, kv => kv.Value.Where(i => keep[i]).ToArray());
        foreach (var (name, idx) in splits)
            if (idx.Length == 0)
                throw new ArgumentException($"LabeledClips '{data.ContentHash}' ({side} of the class mapping): split '{name}' has no clip of a shared class: expected at least one");

        var identity = string.Join("\n", Pairs.Select(p => $"{p.Source}\t{p.Target}"));
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{data.ContentHash}\n{side}\n{identity}")));
        return new LabeledClips(data.Features, segment, splits, Names, hash, perModality);
    }
}
