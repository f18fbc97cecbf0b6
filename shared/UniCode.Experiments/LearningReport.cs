using System.Globalization;
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

/// <summary>The raw-feature ceiling of one modality: the same downstream protocol with the head on raw features instead of codes.</summary>
public sealed record ProbeScore(string Modality, string Direction, double Value);

/// <summary>
/// Did the run learn anything? Code statistics per modality on the validation split (or the test split when there
/// is none), the head-fit check per trained head, the raw-feature probe per modality and chance. A run that
/// collapsed, or whose heads did not fit their own training data, carries <see cref="Learned"/> = false and warnings.
/// </summary>
public sealed record LearningReport(
    string Split,
    double Chance,
    int Classes,
    IReadOnlyList<ModalityCodeStatistics> Codes,
    IReadOnlyList<HeadFitCheck> Heads,
    IReadOnlyList<ProbeScore> Probes)
{
    /// <summary>Modalities whose codes collapsed (<see cref="ModalityCodeStatistics.CollapsedFor"/>).</summary>
    public IReadOnlyList<string> CollapsedModalities => Codes.Where(c => c.CollapsedFor(Classes)).Select(c => c.Modality.ToString().ToLowerInvariant()).ToList();

    public bool Collapsed => CollapsedModalities.Count > 0;

    public bool HeadsFit => Heads.All(h => h.Fits);

    public bool Learned => !Collapsed && HeadsFit;

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
            return w;
        }
    }
}
