using UniCode.Model.Config;

namespace UniCode.Model.Downstream;

/// <summary>
/// Cross-dataset transfer (docs/reference-behaviour.md §3 "AVE→AVVP", "UCF(v)↔VGG(a)"): a head trained on dataset
/// A's train split in modality X, tested on dataset B in modality Y, after both are relabelled to the
/// classes they share (<see cref="ClassMapping"/>). B is scored on its test split under both
/// protocols (held-out: the epoch is picked on A's val split in X if A has one, else the last;
/// reference: the best epoch on B's test split itself).
/// </summary>
public static class CrossDatasetTransfer
{
    /// <summary>Clip classification (UCF↔VGGSound: 16 classes; the reference reports the best accuracy).</summary>
    public static ClassificationResult Classification(
        CodeEncoder encoder, LabeledClips source, Modality train, LabeledClips target, Modality test, ClassMapping mapping,
        DownstreamOptions options, string task = "cross-dataset-classification", Action<EpochLog>? onEpoch = null)
    {
        var (a, b) = Relabel(source, target, mapping);
        return EventClassification.Run(encoder, a, train, b, [test], options, task, onEpoch);
    }

    /// <summary>Per-second localisation (AVE→AVVP: 12 classes + background; the reference picks the epoch by F1).</summary>
    public static LocalizationResult Localization(
        CodeEncoder encoder, LabeledClips source, Modality train, LabeledClips target, Modality test, ClassMapping mapping,
        DownstreamOptions options, LocalizationSelection selectBy = LocalizationSelection.F1,
        string task = "cross-dataset-localization", Action<EpochLog>? onEpoch = null)
    {
        var (a, b) = Relabel(source, target, mapping);
        return EventLocalization.Run(encoder, a, train, b, [test], options, selectBy, task, onEpoch);
    }

    private static (LabeledClips Source, LabeledClips Target) Relabel(LabeledClips source, LabeledClips target, ClassMapping mapping) =>
        (mapping.ApplyToSource(source), mapping.ApplyToTarget(target));
}
