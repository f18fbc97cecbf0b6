using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Model.Diagnostics;

/// <summary>
/// How one modality uses the codebook on a set of clips (the collapse detector's evidence): the nearest code of
/// every segment of every clip, summarised.
/// </summary>
/// <param name="Modality">The modality whose codes these are.</param>
/// <param name="Clips">Clips counted.</param>
/// <param name="CodesUsed">Distinct codes chosen at least once over all clips and segments.</param>
/// <param name="Perplexity">exp(entropy) of the code frequencies over all segments: 1 = one code for everything, L = uniform use.</param>
/// <param name="DistinctCodesPerClip">Mean over clips of the distinct codes among the clip's T segments.</param>
/// <param name="DistinctCodeSets">Distinct sets of codes among the clips: a max-pooling head sees exactly one input per set, so fewer sets than classes cannot separate the classes.</param>
public sealed record ModalityCodeStatistics(
    Modality Modality, int Clips, int CodesUsed, double Perplexity, double DistinctCodesPerClip, int DistinctCodeSets)
{
    /// <summary>Below this perplexity a modality's codes are one code for (almost) everything.</summary>
    public const double CollapsedPerplexity = 2.0;

    /// <summary>
    /// The codes say (almost) nothing about the clip: perplexity below <see cref="CollapsedPerplexity"/>, or fewer
    /// distinct code sets than half of min(classes, clips): a head then sees the same input for clips of many classes.
    /// </summary>
    public bool CollapsedFor(int classes) => Perplexity < CollapsedPerplexity || DistinctCodeSets < Math.Min(classes, Clips) / 2.0;

    /// <summary>Computes the statistics from code indices [N, T] (int64, on any device; one host read).</summary>
    public static ModalityCodeStatistics FromIndices(Modality modality, Tensor indices, long codebookSize)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.dim() != 2)
            throw new ArgumentException($"CodeStatistics: indices of {modality} have shape [{string.Join(", ", indices.shape)}]: expected [N, T]");
        using var _ = NewDisposeScope();
        var host = indices.to(ScalarType.Int64).cpu();
        var n = (int)host.shape[0];
        var t = (int)host.shape[1];
        var flat = host.data<long>().ToArray();
        var counts = new long[codebookSize];
        var patterns = new Dictionary<string, int>(StringComparer.Ordinal);
        double distinctSum = 0;
        for (var i = 0; i < n; i++)
        {
            var set = new SortedSet<long>();
            for (var s = 0; s < t; s++)
            {
                var k = flat[i * t + s];
                if ((ulong)k >= (ulong)codebookSize)
                    throw new ArgumentException($"CodeStatistics: code index {k} of {modality} at clip {i}, segment {s}: expected 0 ≤ index < {codebookSize}");
                counts[k]++;
                set.Add(k);
            }
            distinctSum += set.Count;
            var key = string.Join(",", set);
            patterns[key] = patterns.GetValueOrDefault(key) + 1;
        }
        var total = (double)n * t;
        double entropy = 0;
        foreach (var c in counts)
            if (c > 0) entropy -= c / total * Math.Log(c / total);
        return new ModalityCodeStatistics(modality, n, counts.Count(c => c > 0), n == 0 ? 0 : Math.Exp(entropy),
            n == 0 ? 0 : distinctSum / n, patterns.Count);
    }
}

/// <summary>Code statistics of a frozen model on a split, per modality.</summary>
public static class CodeStatistics
{
    /// <summary>
    /// Encodes <paramref name="clips"/> of every modality of <paramref name="model"/> (or of <paramref name="only"/>, a
    /// subset of them; eval mode, no_grad, batches of <paramref name="batchSize"/>) and summarises their nearest codes.
    /// <paramref name="features"/>: raw features per modality [N, T, …] on the CPU.
    /// </summary>
    public static IReadOnlyList<ModalityCodeStatistics> Measure(UniCodeModel model, IReadOnlyDictionary<Modality, Tensor> features, int[] clips,
        int batchSize = 80, IReadOnlyList<Modality>? only = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var result = new List<ModalityCodeStatistics>();
        foreach (var m in model.Modalities.Where(m => only is null || only.Contains(m)))
        {
            using var scope = NewDisposeScope();
            result.Add(ModalityCodeStatistics.FromIndices(m, Indices(model, m, features, clips, batchSize), model.Config.CodebookSize));
        }
        return result;
    }

    /// <summary>
    /// The nearest code of every segment of <paramref name="clips"/> of modality <paramref name="m"/> [n, T] (int64, on
    /// the model's device; eval mode and no_grad for the call, batches of <paramref name="batchSize"/>).
    /// </summary>
    public static Tensor Indices(UniCodeModel model, Modality m, IReadOnlyDictionary<Modality, Tensor> features, int[] clips, int batchSize = 80)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(features);
        if (!features.TryGetValue(m, out var raw))
            throw new ArgumentException($"CodeStatistics: no {m} features: expected one tensor per modality of the model ({string.Join(", ", model.Modalities)})");
        return Encode(model, raw, clips, x => model.CodeIndices(m, x), batchSize);
    }

    /// <summary>
    /// <paramref name="encode"/> applied to the raw features <paramref name="raw"/> [N, …] (CPU) of <paramref name="clips"/>,
    /// in batches of <paramref name="batchSize"/> moved to the model's device and type, eval mode and no_grad for the
    /// call; the batches' results concatenated along the first dimension (on the model's device).
    /// </summary>
    public static Tensor Encode(UniCodeModel model, Tensor raw, int[] clips, Func<Tensor, Tensor> encode, int batchSize = 80)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(raw);
        ArgumentNullException.ThrowIfNull(clips);
        if (clips.Length == 0) throw new ArgumentException("CodeStatistics: no clips: expected at least one clip index", nameof(clips));
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var device = model.Quantizer.Codebook.device;
            var parts = new List<Tensor>();
            for (var start = 0; start < clips.Length; start += batchSize)
            {
                var idx = tensor(clips[start..Math.Min(clips.Length, start + batchSize)].Select(i => (long)i).ToArray(), ScalarType.Int64);
                parts.Add(encode(raw.index_select(0, idx).to(model.DType, device)));
            }
            return cat(parts, 0).MoveToOuterDisposeScope();
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
