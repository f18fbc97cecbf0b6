using UniCode.Model.Config;
using UniCode.Model.Quantizer;
using static TorchSharp.torch;

namespace UniCode.Experiments.Analysis;

/// <summary>
/// Which modalities use which codes of the shared codebook (paper Fig. 4): per code, how many tokens of each
/// modality chose it; a used code is "mostly m" when more than <see cref="Threshold"/> of its uses come from
/// modality m, else "shared". With <see cref="FromCodes"/> it also carries each code's majority class and the
/// paired-second agreement between modalities (<see cref="ModalityAgreement"/>).
/// </summary>
public sealed record CodebookShares
{
    /// <summary>The paper's Fig. 4 threshold: a code is one modality's when more than 80% of its uses are.</summary>
    public const double DefaultThreshold = 0.8;

    /// <summary>The modalities counted, in processing order (audio, video, text).</summary>
    public IReadOnlyList<Modality> Modalities { get; }

    /// <summary>Per modality, the tokens that chose each code ([L] each).</summary>
    public IReadOnlyDictionary<Modality, long[]> Counts { get; }

    /// <summary>A code is "mostly m" when count_m / Σ counts &gt; this (strictly).</summary>
    public double Threshold { get; }

    /// <summary>The role of every code, [L].</summary>
    public IReadOnlyList<CodeRole> Roles { get; }

    /// <summary>L.</summary>
    public int CodebookSize => Roles.Count;

    /// <summary>Codes chosen by at least one token.</summary>
    public int CodesUsed { get; }

    /// <summary>Used codes that no modality dominates.</summary>
    public int SharedCodes { get; }

    /// <summary>Per modality, the codes it dominates.</summary>
    public IReadOnlyDictionary<Modality, int> MostlyCodes { get; }

    /// <summary>Per modality, the tokens counted (clips × segments).</summary>
    public IReadOnlyDictionary<Modality, long> Tokens { get; }

    /// <summary>Per modality, the fraction of its tokens that chose a shared code.</summary>
    public IReadOnlyDictionary<Modality, double> SharedTokenShare { get; }

    /// <summary>
    /// Per code, the segment class (label column, background = C) most of its tokens — of every modality
    /// together — fell on; the lowest class on ties; −1 for unused codes. Null when built from counts alone.
    /// </summary>
    public IReadOnlyList<int>? MajorityClass { get; private init; }

    /// <summary>Paired-second agreement per modality pair (empty when built from counts alone).</summary>
    public IReadOnlyList<ModalityAgreement> Agreement { get; private init; } = [];

    /// <summary>Shared codes as a fraction of the used ones (0 when none is used).</summary>
    public double SharedFraction => CodesUsed == 0 ? 0 : (double)SharedCodes / CodesUsed;

    /// <summary>Codes modality <paramref name="m"/> dominates as a fraction of the used ones (0 when none is used or m is not counted).</summary>
    public double MostlyFraction(Modality m) => CodesUsed == 0 ? 0 : (double)MostlyCodes.GetValueOrDefault(m) / CodesUsed;

    /// <summary>The agreement of a pair, in either order; null when the pair was not measured.</summary>
    public ModalityAgreement? AgreementOf(Modality a, Modality b) =>
        Agreement.FirstOrDefault(x => (x.First == a && x.Second == b) || (x.First == b && x.Second == a));

    private CodebookShares(IReadOnlyList<Modality> modalities, IReadOnlyDictionary<Modality, long[]> counts, double threshold)
    {
        Modalities = modalities;
        Counts = counts;
        Threshold = threshold;
        var size = counts[modalities[0]].Length;
        var roles = new CodeRole[size];
        var mostly = modalities.ToDictionary(m => m, _ => 0);
        for (var k = 0; k < size; k++)
        {
            long total = 0;
            foreach (var m in modalities) total += counts[m][k];
            roles[k] = CodeRole.Unused;
            if (total == 0) continue;
            roles[k] = CodeRole.Shared;
            foreach (var m in modalities)
            {
                // Division, not threshold·total: 4 of 5 uses is exactly 0.8 and must not count as "more than 80%".
                if ((double)counts[m][k] / total > threshold)
                {
                    roles[k] = CodeRole.Mostly(m);
                    mostly[m]++;
                }
            }
        }
        Roles = roles;
        CodesUsed = roles.Count(r => r.Kind != CodeRoleKind.Unused);
        SharedCodes = roles.Count(r => r.Kind == CodeRoleKind.Shared);
        MostlyCodes = mostly;
        Tokens = modalities.ToDictionary(m => m, m => counts[m].Sum());
        SharedTokenShare = modalities.ToDictionary(m => m, m =>
        {
            var tokens = counts[m].Sum();
            long onShared = 0;
            for (var k = 0; k < size; k++) if (roles[k].Kind == CodeRoleKind.Shared) onShared += counts[m][k];
            return tokens == 0 ? 0 : (double)onShared / tokens;
        });
    }

    /// <summary>Classifies the codes of a per-modality count table (each [L], same L, non-negative).</summary>
    public static CodebookShares Classify(IReadOnlyList<Modality> modalities, IReadOnlyDictionary<Modality, long[]> counts, double threshold = DefaultThreshold)
    {
        ArgumentNullException.ThrowIfNull(modalities);
        ArgumentNullException.ThrowIfNull(counts);
        if (modalities.Count == 0) throw new ArgumentException("codebook shares: modalities is empty; expected at least one modality", nameof(modalities));
        if (modalities.Distinct().Count() != modalities.Count)
            throw new ArgumentException($"codebook shares: modalities [{string.Join(", ", modalities)}] repeat a modality; expected each once", nameof(modalities));
        // With a strict ">" and threshold ≥ 0.5 at most one modality can dominate a code.
        if (!(threshold >= 0.5 && threshold < 1))
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "codebook shares: threshold must be in [0.5, 1), e.g. 0.8");
        var size = -1;
        foreach (var m in modalities)
        {
            if (!counts.TryGetValue(m, out var c))
                throw new ArgumentException($"codebook shares: counts has no entry for {m}; expected one [L] array per modality", nameof(counts));
            if (size < 0) size = c.Length;
            if (c.Length != size || size == 0)
                throw new ArgumentException($"codebook shares: counts[{m}] has {c.Length} codes; expected {(size == 0 ? "at least 1" : size.ToString())} (one L for every modality)", nameof(counts));
            if (c.Any(v => v < 0)) throw new ArgumentException($"codebook shares: counts[{m}] has a negative count; expected counts ≥ 0", nameof(counts));
        }
        var copy = modalities.ToDictionary(m => m, m => (long[])counts[m].Clone());
        return new CodebookShares(modalities.ToArray(), copy, threshold);
    }

    /// <summary>The shares of the quantizer's training-time usage counters.</summary>
    public static CodebookShares FromUsage(CodeUsage usage, double threshold = DefaultThreshold) =>
        Classify(usage.Modalities, usage.Counts, threshold);

    /// <summary>
    /// Shares, majority classes and agreement of chosen code indices: <paramref name="codes"/> maps each
    /// modality to its indices [N,T] (int64, in [0, L)) for the same N clips; <paramref name="segmentClasses"/>
    /// is each (clip, second)'s class [N,T] (int64, in [0, <paramref name="classes"/>)). Reads a few small results back to the host (an analysis, not a training step).
    /// </summary>
    public static CodebookShares FromCodes(IReadOnlyDictionary<Modality, Tensor> codes, Tensor segmentClasses, int codebookSize, int classes, double threshold = DefaultThreshold)
    {
        ArgumentNullException.ThrowIfNull(codes);
        ArgumentNullException.ThrowIfNull(segmentClasses);
        if (codebookSize < 1) throw new ArgumentOutOfRangeException(nameof(codebookSize), codebookSize, "codebook shares: codebookSize must be at least 1");
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "codebook shares: classes must be at least 1");
        var modalities = codes.Keys.OrderBy(m => m).ToArray();
        if (modalities.Length == 0) throw new ArgumentException("codebook shares: codes is empty; expected [N,T] indices per modality", nameof(codes));
        using var scope = NewDisposeScope();
        var cls = CheckIndices(segmentClasses, "segmentClasses", classes, segmentClasses.shape);
        var flat = new Dictionary<Modality, Tensor>();
        foreach (var m in modalities) flat[m] = CheckIndices(codes[m], $"codes[{m}]", codebookSize, segmentClasses.shape).to(cls.device);

        var counts = modalities.ToDictionary(m => m, m => flat[m].bincount(null, codebookSize).cpu().data<long>().ToArray());
        // Joint (code, class) histogram over every modality's tokens: bin k·C + c.
        var joint = zeros(codebookSize * (long)classes, dtype: ScalarType.Int64, device: cls.device);
        foreach (var m in modalities) joint.add_(flat[m].mul(classes).add(cls).bincount(null, codebookSize * (long)classes));
        var table = joint.cpu().data<long>().ToArray();
        var majority = new int[codebookSize];
        for (var k = 0; k < codebookSize; k++)
        {
            majority[k] = -1;
            long best = 0;
            for (var c = 0; c < classes; c++)
            {
                var v = table[k * (long)classes + c];
                if (v > best) { best = v; majority[k] = c; }
            }
        }
        var majorityTensor = tensor(majority.Select(v => (long)v).ToArray(), device: cls.device);
        var steps = cls.numel();
        var agreement = new List<ModalityAgreement>();
        for (var i = 0; i < modalities.Length; i++)
        for (var j = i + 1; j < modalities.Length; j++)
        {
            var a = flat[modalities[i]];
            var b = flat[modalities[j]];
            var same = a.eq(b).sum().item<long>();
            var sameClass = majorityTensor.index_select(0, a).eq(majorityTensor.index_select(0, b)).sum().item<long>();
            agreement.Add(new ModalityAgreement(modalities[i], modalities[j], steps,
                steps == 0 ? 0 : (double)same / steps, steps == 0 ? 0 : (double)sameClass / steps));
        }
        return Classify(modalities, counts, threshold) with { MajorityClass = majority, Agreement = agreement };
    }

    private static Tensor CheckIndices(Tensor t, string name, long bound, long[] shape)
    {
        if (t.dtype != ScalarType.Int64)
            throw new ArgumentException($"codebook shares: {name} has dtype {t.dtype}; expected Int64 indices");
        if (t.dim() != 2 || !t.shape.SequenceEqual(shape))
            throw new ArgumentException($"codebook shares: {name} has shape [{string.Join(",", t.shape)}]; expected [N,T] = [{string.Join(",", shape)}]");
        var f = t.flatten();
        if (f.numel() > 0)
        {
            var (lo, hi) = (f.min().item<long>(), f.max().item<long>());
            if (lo < 0 || hi >= bound)
                throw new ArgumentException($"codebook shares: {name} holds values in [{lo}, {hi}]; expected [0, {bound - 1}]");
        }
        return f;
    }
}
