using UniCode.Model.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace UniCode.Model.Downstream;

/// <summary>
/// A labelled set of clips for the downstream protocols.
/// </summary>
/// <param name="Features">Raw features per modality, [N, T, ...] float tensors (on CPU; indexed per batch).</param>
/// <param name="SegmentLabels">Per-second labels [N, T, C + 1], one-hot or multi-hot, background column LAST.</param>
/// <param name="Splits">Named subsets ("train", "val", "test", ...) as clip indices into the N clips.</param>
/// <param name="ClassNames">The C foreground class names, in label-column order.</param>
/// <param name="ContentHash">Identity of the data (stored with every result row).</param>
/// <param name="ModalityLabels">
/// Per-modality per-second labels [N, T, C + 1] where modalities are annotated separately (AVVP: the
/// audio and the visual events of the same videos). A modality missing here uses <see cref="SegmentLabels"/>.
/// </param>
public sealed record LabeledClips(
    IReadOnlyDictionary<Modality, Tensor> Features,
    Tensor SegmentLabels,
    IReadOnlyDictionary<string, int[]> Splits,
    IReadOnlyList<string> ClassNames,
    string ContentHash,
    IReadOnlyDictionary<Modality, Tensor>? ModalityLabels = null)
{
    /// <summary>N: number of clips.</summary>
    public long Count => SegmentLabels.shape[0];

    /// <summary>T: segments per clip.</summary>
    public long Segments => SegmentLabels.shape[1];

    /// <summary>C: foreground classes (the label width minus the background column).</summary>
    public int ForegroundClasses => ClassNames.Count;

    /// <summary>The per-second labels that annotate <paramref name="modality"/>: its own if given, else <see cref="SegmentLabels"/>.</summary>
    public Tensor LabelsFor(Modality modality) =>
        ModalityLabels is not null && ModalityLabels.TryGetValue(modality, out var own) ? own : SegmentLabels;

    /// <summary>Raw features of <paramref name="modality"/>; throws naming the modalities present if missing.</summary>
    public Tensor FeaturesOf(Modality modality) =>
        Features.TryGetValue(modality, out var f) ? f
            : throw new ArgumentException($"LabeledClips '{ContentHash}': field Features has no {modality} entry: expected one of {string.Join(", ", Features.Keys)}");

    /// <summary>Indices of a named split; throws naming the splits present if missing.</summary>
    public int[] Split(string name) =>
        Splits.TryGetValue(name, out var s) ? s
            : throw new ArgumentException($"LabeledClips '{ContentHash}': field Splits has no '{name}' split: expected one of {string.Join(", ", Splits.Keys.Select(k => $"'{k}'"))}");

    /// <summary>
    /// Clip class per clip [N] (int64): argmax over the C foreground columns of the per-second labels
    /// summed over time. For clips with one event class (AVE, UCF↔VGG) this is the reference's
    /// "max over time of the per-second foreground argmax" (docs/reference-behaviour.md §3); for several classes
    /// it picks the class present in the most seconds (lowest index on ties), where the reference picks the highest index.
    /// </summary>
    public static Tensor ClipClasses(Tensor segmentLabels)
    {
        var c = segmentLabels.shape[2] - 1;
        return segmentLabels.narrow(2, 0, c).sum(1).argmax(1);
    }

    /// <summary>
    /// Checks shapes, label widths and split indices; throws <see cref="ArgumentException"/> naming
    /// the field and the expected value. Returns this for chaining.
    /// </summary>
    public LabeledClips Validate()
    {
        string Where(string field) => $"LabeledClips '{ContentHash}': field {field}";
        if (SegmentLabels.dim() != 3)
            throw new ArgumentException($"{Where(nameof(SegmentLabels))} has shape [{string.Join(", ", SegmentLabels.shape)}]: expected [N, T, C + 1]");
        var (n, t, width) = (SegmentLabels.shape[0], SegmentLabels.shape[1], SegmentLabels.shape[2]);
        if (width != ClassNames.Count + 1)
            throw new ArgumentException($"{Where(nameof(SegmentLabels))} has {width} columns: expected C + 1 = {ClassNames.Count + 1} ({nameof(ClassNames)} has {ClassNames.Count} names, background last)");
        if (Features.Count == 0)
            throw new ArgumentException($"{Where(nameof(Features))} is empty: expected at least one modality");
        foreach (var (m, f) in Features)
        {
            if (f.dim() < 3 || f.shape[0] != n || f.shape[1] != t)
                throw new ArgumentException($"{Where($"{nameof(Features)}[{m}]")} has shape [{string.Join(", ", f.shape)}]: expected [{n}, {t}, ...]");
            if (!f.is_floating_point())
                throw new ArgumentException($"{Where($"{nameof(Features)}[{m}]")} has dtype {f.dtype}: expected a floating-point tensor");
        }
        if (ModalityLabels is not null)
            foreach (var (m, l) in ModalityLabels)
                if (!l.shape.SequenceEqual(SegmentLabels.shape))
                    throw new ArgumentException($"{Where($"{nameof(ModalityLabels)}[{m}]")} has shape [{string.Join(", ", l.shape)}]: expected [{string.Join(", ", SegmentLabels.shape)}] like {nameof(SegmentLabels)}");
        foreach (var (name, idx) in Splits)
        {
            if (idx.Length == 0)
                throw new ArgumentException($"{Where($"{nameof(Splits)}['{name}']")} is empty: expected at least one clip index");
            foreach (var i in idx)
                if (i < 0 || i >= n)
                    throw new ArgumentException($"{Where($"{nameof(Splits)}['{name}']")} holds index {i}: expected indices in [0, {n})");
        }
        return this;
    }

    /// <summary>
    /// Throws unless every clip of <paramref name="indices"/> has at least one foreground second in
    /// <paramref name="labels"/> (a clip class needs one). One host read; called once per protocol, not per step.
    /// </summary>
    internal void RequireForeground(Tensor labels, int[] indices, string split, Modality modality)
    {
        using var scope = NewDisposeScope();
        var idx = tensor(indices.Select(i => (long)i).ToArray(), ScalarType.Int64);
        var c = labels.shape[2] - 1;
        var any = labels.index_select(0, idx).narrow(2, 0, c).sum(new long[] { 1, 2 }) > 0;
        var flags = any.data<bool>().ToArray();
        var bad = Array.IndexOf(flags, false);
        if (bad >= 0)
            throw new ArgumentException($"LabeledClips '{ContentHash}': split '{split}' clip {indices[bad]} has no foreground second in the {modality} labels: expected at least one event per clip for classification");
    }
}
