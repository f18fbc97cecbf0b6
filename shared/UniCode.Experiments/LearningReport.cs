using System.Globalization;
using System.Text.Json.Serialization;
using UniCode.Model.Config;
using UniCode.Model.Diagnostics;

namespace UniCode.Experiments;

/// <summary>Whether the head trained on one modality's codes fitted its own training data.</summary>
/// <param name="Modality">The modality the head was trained on.</param>
/// <param name="FinalTrainLoss">Mean cross-entropy of the head's last training epoch.</param>
/// <param name="PriorEntropy">Entropy (nats) of the training clips' class frequencies: the loss of a head that predicts the prior for every clip.</param>
public sealed record HeadFitCheck(string Modality, double FinalTrainLoss, double PriorEntropy)
{
    /// <summary>A head fits when its final training loss is at least 10 % below the prior's entropy.</summary>
    public const double RequiredReduction = 0.10;

    public bool Fits => FinalTrainLoss <= (1 - RequiredReduction) * PriorEntropy;
}

/// <summary>
/// A head's in-modality score on clips it did not train on (held-out: the test split) against chance. A head that fits its
/// training data but scores no better than <see cref="RequiredFactor"/> × chance on other clips memorised them: its codes
/// separate clips (e.g. by their per-clip style), not classes.
/// </summary>
/// <param name="Direction">The in-modality direction, e.g. "a2a".</param>
/// <param name="Split">The split scored.</param>
public sealed record ChanceCheck(string Direction, string Split, double Score, double Chance)
{
    public const double RequiredFactor = 2.0;

    public bool AboveChance => Score > RequiredFactor * Chance;
}

/// <summary>
/// Where the video pooler looks, on synthetic data: <paramref name="Share"/> (%) of its attention on the grid cells that
/// show the event, averaged over the event seconds of <paramref name="Split"/>; <paramref name="Uniform"/> (%) is the share of
/// a pooler that weighs every cell alike.
/// </summary>
public sealed record ObjectAttention(string Split, int Segments, double Share, double Uniform);

/// <summary>The raw-feature ceiling of one modality: the same downstream protocol with the head on raw features instead of codes.</summary>
public sealed record ProbeScore(string Modality, string Direction, double Value);

/// <summary>
/// Did the run learn anything? Code statistics per modality on the validation split (or the test split when there
/// is none), the head-fit check per trained head, each head's in-modality score against chance, the raw-feature probe
/// per modality and chance. A run that collapsed, whose heads did not fit their own training data, or whose heads
/// score no better than twice chance in their own modality carries <see cref="Learned"/> = false and warnings.
/// <see cref="CodeContent"/> (null where the data has no training split) says what the codes carry: per pair of
/// modalities, a code → label lookup filled on the training split and scored on <see cref="Split"/>: whether the codes
/// mark <em>when</em> the event is, <em>what</em> it is, or neither. A diagnostic, not a check. <see cref="CellProbes"/>
/// (only when asked, <c>--cell-probe</c>): the video probe on every grid cell, max over cells and seconds — whether the
/// class is in the video at all where the grid mean (<see cref="Probes"/>, the ceiling the checks use) cannot read it.
/// <see cref="VideoAttention"/> (with <c>--semantic-probe</c>, synthetic data only): where the video pooler looks.
/// <see cref="CrossModalTerms"/>: each cross-modal pre-training term on training clips, on held-out clips of
/// <see cref="Split"/> and on those clips with the pairing shuffled — whether what the terms learned carries over or was
/// memorised; a memorised term gives a caution line (<see cref="Cautions"/>). <see cref="CrossModalCurve"/> (in-process
/// runs): the same measured at evenly spaced steps during pre-training, so a run shows whether held-out pairing ever
/// improved and when the terms began to memorise.
/// </summary>
public sealed record LearningReport(
    string Split,
    double Chance,
    int Classes,
    IReadOnlyList<ModalityCodeStatistics> Codes,
    IReadOnlyList<HeadFitCheck> Heads,
    IReadOnlyList<ProbeScore> Probes,
    IReadOnlyList<ChanceCheck>? ChanceChecks = null,
    IReadOnlyList<ProbeScore>? SemanticProbes = null,
    IReadOnlyList<CodeContent>? CodeContent = null,
    IReadOnlyList<ProbeScore>? CellProbes = null,
    ObjectAttention? VideoAttention = null,
    IReadOnlyList<CrossModalTermGap>? CrossModalTerms = null,
    IReadOnlyList<CrossModalCurvePoint>? CrossModalCurve = null)
{
    /// <summary>The cross-modal terms that paired the training clips but not held-out ones (a caution each; not part of <see cref="Learned"/>).</summary>
    [JsonIgnore]
    public IReadOnlyList<CrossModalTermGap> MemorisedTerms => CrossModalTerms?.Where(t => t.Memorised).ToList() ?? [];

    /// <summary>
    /// Diagnostic, only when asked (<c>--semantic-probe</c>): the same head on the continuous semantic features z of
    /// each modality, before quantisation. Beside the raw probe and the head on codes it says where the class is lost:
    /// in the encoder (raw high, z low) or in the quantiser (z high, codes low). In JSON once, as <c>semantic_probes</c>.
    /// </summary>
    [JsonIgnore]
    public IReadOnlyList<ProbeScore> BeforeQuantisation => SemanticProbes ?? [];

    /// <summary>The in-modality scores checked against chance (empty where the task has no chance level). In JSON once, as <c>chance_checks</c>.</summary>
    [JsonIgnore]
    public IReadOnlyList<ChanceCheck> AgainstChance => ChanceChecks ?? [];

    /// <summary>Every checked in-modality score is above twice chance.</summary>
    public bool AboveChance => AgainstChance.All(c => c.AboveChance);

    /// <summary>Whether the head trained on <paramref name="modality"/> fitted and scored above chance in its own modality.</summary>
    public bool HeadLearned(string modality) =>
        (Heads.FirstOrDefault(h => h.Modality == modality)?.Fits ?? true)
        && (AgainstChance.FirstOrDefault(c => c.Direction[0] == modality[0] && c.Direction[^1] == modality[0])?.AboveChance ?? true);

    /// <summary>Modalities whose codes collapsed (<see cref="ModalityCodeStatistics.CollapsedFor"/>).</summary>
    public IReadOnlyList<string> CollapsedModalities => Codes.Where(c => c.CollapsedFor(Classes)).Select(c => c.Modality.ToString().ToLowerInvariant()).ToList();

    public bool Collapsed => CollapsedModalities.Count > 0;

    public bool HeadsFit => Heads.All(h => h.Fits);

    public bool Learned => !Collapsed && HeadsFit && AboveChance;

    /// <summary>What every warning line ends with, wherever it is printed or logged.</summary>
    public const string NotAScore = "this result did not learn; do not read it as a score";

    /// <summary>
    /// One line per memorised cross-modal term: a caution, not a failed check — the run's scores are what they are, but
    /// the shared code was shaped by which training clips go together rather than by what the modalities share.
    /// </summary>
    public IReadOnlyList<string> Cautions => MemorisedTerms.Select(t => string.Create(CultureInfo.InvariantCulture,
        $"the cross-modal term {t.Term} pairs training clips ({t.Train:F3}) but not held-out clips of {Split} ({t.HeldOut:F3}; {t.Shuffled:F3} with the pairing shuffled, {t.Clips} clips): it memorised which training clips go together")).ToList();

    /// <summary>One line per problem found; empty when the run learned.</summary>
    public IReadOnlyList<string> Warnings
    {
        get
        {
            var w = new List<string>();
            foreach (var c in Codes.Where(c => c.CollapsedFor(Classes)))
                w.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{c.Modality.ToString().ToLowerInvariant()} codes collapsed on {Split}: perplexity {c.Perplexity:F2}, {c.DistinctCodeSets} distinct code sets among {c.Clips} clips ({Classes} classes), {c.CodesUsed} codes used"));
            foreach (var h in Heads.Where(h => !h.Fits))
                w.Add(string.Create(CultureInfo.InvariantCulture,
                    $"the head on {h.Modality} codes did not fit its training data: final loss {h.FinalTrainLoss:F3} vs {h.PriorEntropy:F3} for predicting the class prior"));
            foreach (var c in AgainstChance.Where(c => !c.AboveChance))
                w.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{c.Direction} scores {c.Score:F1} % on {c.Split}, not above twice chance ({c.Chance:F1} %): what the head learned does not carry over to clips it did not train on"));
            return w;
        }
    }
}

/// <summary>One cross-modal term measured at a pre-training step: on training, held-out and shuffled held-out clips.</summary>
public sealed record CrossModalCurvePoint(long Step, string Term, double Train, double HeldOut, double Shuffled, double? CarriedOver);
