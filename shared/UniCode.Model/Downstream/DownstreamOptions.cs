using UniCode.Model.Config;

namespace UniCode.Model.Downstream;

/// <summary>Which clips a downstream head is scored on, and which epoch is reported.</summary>
public enum EvaluationProtocol
{
    /// <summary>
    /// Train on the train split; score once, on the test split. With a val split the reported
    /// epoch is the best on val of the TRAINING modality with its own labels (no label of the test
    /// modality is seen before scoring, so cross-modal numbers stay zero-shot); without one, the final epoch.
    /// </summary>
    HeldOut,
    /// <summary>
    /// The reference's protocol (docs/reference-behaviour.md §3, §5): the head is scored every epoch on the split
    /// it trains on (AVE, AVVP; for a cross-dataset run: on the other dataset's test split) and each
    /// direction is reported at its own best epoch, chosen on the scored numbers themselves (AVVP:
    /// precision, AVE→AVVP: F1, UCF↔VGG: accuracy, as the reference tracks them; the reference's AVE
    /// script only logs every epoch, and the best logged accuracy is what this reports).
    /// </summary>
    Reference,
}

/// <summary>Which precision/recall/F1 drives epoch selection and the headline of a localisation run.</summary>
public enum LocalizationScoring
{
    /// <summary>The reference's per-batch numbers (<see cref="Metrics.ReferencePrecisionRecallF1"/>).</summary>
    Reference,
    /// <summary>Micro P/R/F1 over the whole split (<see cref="Metrics.MicroPrecisionRecallF1"/>).</summary>
    Micro,
}

/// <summary>The number that picks the reported epoch of a localisation run.</summary>
public enum LocalizationSelection
{
    /// <summary>AVVP in the reference (its "accuracy").</summary>
    Precision,
    /// <summary>AVE→AVVP in the reference.</summary>
    F1,
}

/// <summary>
/// Settings of a downstream run (frozen encoder, trained head). Defaults are the reference's
/// (docs/reference-behaviour.md §3, ave.sh/avvp.sh): Adam 4e-4, batch 80, clip 0.5, MultiStepLR [10, 20, 30] × 0.5, seed 43.
/// The reference starts its epoch loop at (checkpoint epoch + 1), an artefact; reproduce a given
/// reference run with <see cref="Epochs"/> = n_epoch − (checkpoint epoch + 1) (the schedule counts from the loop's start there too).
/// </summary>
public sealed record DownstreamOptions
{
    /// <summary>Training epochs (AVE and UCF↔VGG 30, AVVP and AVE→AVVP 50).</summary>
    public int Epochs { get; init; } = 30;
    public int BatchSize { get; init; } = 80;
    /// <summary>Clips per evaluation batch. The reference's per-batch P/R depend on it (AVVP validates with batches of 80, unshuffled).</summary>
    public int EvalBatchSize { get; init; } = 80;
    public double LearningRate { get; init; } = 4e-4;
    public double AdamBeta1 { get; init; } = 0.9;
    public double AdamBeta2 { get; init; } = 0.999;
    public double AdamEpsilon { get; init; } = 1e-8;
    /// <summary>Gradient-norm clip of the head's parameters (not of the AVVP α's, as in the reference); 0 = off.</summary>
    public double GradientClip { get; init; } = 0.5;
    /// <summary>Epochs (0-based, counted from the start of training) at which the learning rate is multiplied by <see cref="LrGamma"/>.</summary>
    public IReadOnlyList<int> LrMilestones { get; init; } = [10, 20, 30];
    public double LrGamma { get; init; } = 0.5;
    /// <summary>
    /// Held-out protocol only: the head takes at least this many optimiser steps. When
    /// <see cref="Epochs"/> epochs of the training set give fewer, the run is lengthened to
    /// <see cref="EpochsFor"/> epochs and the milestones stretch with it, so the schedule's shape is the
    /// reference's and its length no longer depends on the dataset's size (480 clips at batch 80 are
    /// 6 steps an epoch: 180 steps in 30 epochs). 1,260 is the reference's own count on AVE
    /// (3,339 training clips, 42 batches × 30 epochs). 0 = epochs only. The reference protocol ignores it.
    /// </summary>
    public int MinSteps { get; init; } = 1260;
    /// <summary>
    /// Seeds the head initialisation and the batch shuffling (private generators), and, when
    /// <see cref="EncoderTrainMode"/> is set, torch's global generator, which the encoder's dropout draws from
    /// (so concurrent users of the global generator in one process make dropout, and only it, irreproducible).
    /// </summary>
    public int Seed { get; init; } = 43;
    public EvaluationProtocol Protocol { get; init; } = EvaluationProtocol.HeldOut;
    /// <summary>Reference: the frozen encoder stays in train mode (dropout active) while a head trains.</summary>
    public bool EncoderTrainMode { get; init; } = true;
    public string TrainSplit { get; init; } = "train";
    /// <summary>Used by <see cref="EvaluationProtocol.HeldOut"/> when the data has it.</summary>
    public string ValSplit { get; init; } = "val";
    public string TestSplit { get; init; } = "test";
    public LocalizationScoring LocalizationScoring { get; init; } = LocalizationScoring.Reference;
    /// <summary>Width of the retrieval embedding space.</summary>
    public int RetrievalEmbeddingDim { get; init; } = 256;
    /// <summary>Temperature τ of the in-batch InfoNCE loss of retrieval.</summary>
    public double RetrievalTemperature { get; init; } = 0.07;
    /// <summary>Device of the heads and of the raw batches handed to the encoder ("cpu", "cuda", "cuda:1").</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Dtype of the heads, and of the raw features handed to the encoder.</summary>
    public Precision Precision { get; init; } = Precision.Float32;

    /// <summary>Optimiser steps of one epoch over <paramref name="trainClips"/> clips (the last batch may be short).</summary>
    public int StepsPerEpoch(int trainClips) => Math.Max(1, (trainClips + BatchSize - 1) / BatchSize);

    /// <summary>
    /// Epochs a head trains for on <paramref name="trainClips"/> clips: <see cref="Epochs"/>, or more under
    /// the held-out protocol when that is fewer than <see cref="MinSteps"/> steps.
    /// </summary>
    public int EpochsFor(int trainClips)
    {
        if (Protocol != EvaluationProtocol.HeldOut || MinSteps <= 0) return Epochs;
        var perEpoch = StepsPerEpoch(trainClips);
        return Math.Max(Epochs, (MinSteps + perEpoch - 1) / perEpoch);
    }

    /// <summary>The rate during <paramref name="epoch"/> of a run of <paramref name="epochs"/> epochs: the milestones scaled by epochs / <see cref="Epochs"/>.</summary>
    public double LearningRateAt(int epoch, int epochs)
    {
        if (epochs == Epochs) return MultiStepSchedule.LearningRate(this, epoch);
        var scale = (double)epochs / Epochs;
        var milestones = LrMilestones.Select(m => (int)Math.Round(m * scale)).ToList();
        return MultiStepSchedule.LearningRate(LearningRate, epoch, milestones, LrGamma);
    }

    /// <summary>The AVE (and UCF↔VGG) settings: 30 epochs.</summary>
    public static DownstreamOptions Ave { get; } = new();

    /// <summary>The AVVP (and AVE→AVVP) settings: 50 epochs.</summary>
    public static DownstreamOptions Avvp { get; } = new() { Epochs = 50 };

    /// <summary>Checks every field; throws <see cref="ConfigException"/> naming the first bad one.</summary>
    public DownstreamOptions Validate()
    {
        if (Epochs < 1) throw new ConfigException(nameof(Epochs), Epochs, "at least 1");
        if (BatchSize < 2) throw new ConfigException(nameof(BatchSize), BatchSize, "at least 2 (retrieval contrasts batch items)");
        if (EvalBatchSize < 1) throw new ConfigException(nameof(EvalBatchSize), EvalBatchSize, "at least 1");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ConfigException(nameof(LearningRate), LearningRate, "a positive number");
        if (!(AdamBeta1 >= 0 && AdamBeta1 < 1)) throw new ConfigException(nameof(AdamBeta1), AdamBeta1, "in [0, 1)");
        if (!(AdamBeta2 >= 0 && AdamBeta2 < 1)) throw new ConfigException(nameof(AdamBeta2), AdamBeta2, "in [0, 1)");
        if (!(AdamEpsilon > 0)) throw new ConfigException(nameof(AdamEpsilon), AdamEpsilon, "a positive number");
        if (!(GradientClip >= 0) || double.IsInfinity(GradientClip)) throw new ConfigException(nameof(GradientClip), GradientClip, "a finite number ≥ 0 (0 = no clipping)");
        for (var i = 0; i < LrMilestones.Count; i++)
            if (LrMilestones[i] < 1 || (i > 0 && LrMilestones[i] <= LrMilestones[i - 1]))
                throw new ConfigException(nameof(LrMilestones), string.Join(",", LrMilestones), "strictly increasing epochs ≥ 1");
        if (MinSteps < 0) throw new ConfigException(nameof(MinSteps), MinSteps, "a number of optimiser steps ≥ 0 (0 = epochs only)");
        if (!(LrGamma > 0 && LrGamma <= 1)) throw new ConfigException(nameof(LrGamma), LrGamma, "in (0, 1]");
        if (!Enum.IsDefined(Protocol)) throw new ConfigException(nameof(Protocol), Protocol, string.Join(" or ", Enum.GetNames<EvaluationProtocol>()));
        if (!Enum.IsDefined(LocalizationScoring)) throw new ConfigException(nameof(LocalizationScoring), LocalizationScoring, string.Join(" or ", Enum.GetNames<LocalizationScoring>()));
        if (!Enum.IsDefined(Precision)) throw new ConfigException(nameof(Precision), Precision, string.Join(" or ", Enum.GetNames<Precision>()));
        foreach (var (field, value) in new[] { (nameof(TrainSplit), TrainSplit), (nameof(ValSplit), ValSplit), (nameof(TestSplit), TestSplit) })
            if (string.IsNullOrWhiteSpace(value)) throw new ConfigException(field, value, "a split name");
        if (TrainSplit == TestSplit) throw new ConfigException(nameof(TestSplit), TestSplit, $"a split other than {nameof(TrainSplit)} ('{TrainSplit}'); use Protocol = Reference to score the training split");
        if (RetrievalEmbeddingDim < 1) throw new ConfigException(nameof(RetrievalEmbeddingDim), RetrievalEmbeddingDim, "at least 1");
        if (!(RetrievalTemperature > 0) || double.IsInfinity(RetrievalTemperature)) throw new ConfigException(nameof(RetrievalTemperature), RetrievalTemperature, "a positive number");
        if (string.IsNullOrWhiteSpace(Device)) throw new ConfigException(nameof(Device), Device, "a torch device name such as 'cpu' or 'cuda'");
        return this;
    }
}
