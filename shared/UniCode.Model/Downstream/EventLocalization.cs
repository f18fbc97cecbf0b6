using UniCode.Model.Config;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UniCode.Model.Downstream;

/// <summary>
/// Per-second localisation scores of one direction, in percent, from the epoch they were reported at.
/// </summary>
/// <param name="Reference">The reference's per-batch numbers (<see cref="Metrics.ReferencePrecisionRecallF1(IReadOnlyList{BatchCounts})"/>).</param>
/// <param name="Micro">Micro numbers over the whole split (<see cref="Metrics.MicroPrecisionRecallF1(IReadOnlyList{BatchCounts})"/>).</param>
/// <param name="Scoring">Which of the two picked the epoch (and is <see cref="Headline"/>).</param>
public sealed record LocalizationScore(Direction Direction, PrecisionRecallF1 Reference, PrecisionRecallF1 Micro, LocalizationScoring Scoring, int Epoch, ScoredSet Scored)
{
    public PrecisionRecallF1 Headline => Scoring == LocalizationScoring.Reference ? Reference : Micro;
}

public sealed record LocalizationResult(RunInfo Run, IReadOnlyList<LocalizationScore> Scores)
{
    public LocalizationScore this[string name] => Scores.Single(s => s.Direction.Name == name);

    /// <summary>Rows per direction: "precision", "recall", "f1" (reference variant), "precision_micro", "recall_micro", "f1_micro" (percent), "epoch".</summary>
    public IReadOnlyList<MetricRow> Rows() => Scores.SelectMany(s => new[]
    {
        Run.Row(s.Direction, s.Scored, "precision", s.Reference.Precision),
        Run.Row(s.Direction, s.Scored, "recall", s.Reference.Recall),
        Run.Row(s.Direction, s.Scored, "f1", s.Reference.F1),
        Run.Row(s.Direction, s.Scored, "precision_micro", s.Micro.Precision),
        Run.Row(s.Direction, s.Scored, "recall_micro", s.Micro.Recall),
        Run.Row(s.Direction, s.Scored, "f1_micro", s.Micro.F1),
        Run.Row(s.Direction, s.Scored, "epoch", s.Epoch),
    }).ToList();
}

/// <summary>
/// AVVP-style per-second event localisation (docs/reference-behaviour.md §3 "AVVP localisation"): a
/// <see cref="LocalizationHead"/> trained with BCEWithLogits + <see cref="ExpLogLoss"/> on modality X's
/// codes and X's labels, tested on modality Y's codes against Y's labels
/// (<see cref="LabeledClips.LabelsFor"/>: AVVP has separate audio and visual annotations; data with one
/// label set uses it for both). A cell is predicted positive when sigmoid(logit) &gt; 0.5.
/// </summary>
public static class EventLocalization
{
    /// <param name="selectBy">The number that picks the reported epoch: the reference uses precision for AVVP (its "accuracy"), F1 for AVE→AVVP.</param>
    public static LocalizationResult Run(
        CodeEncoder encoder, LabeledClips clips, Modality train, IReadOnlyList<Modality> tests, DownstreamOptions options,
        LocalizationSelection selectBy = LocalizationSelection.Precision, string task = "avvp", Action<EpochLog>? onEpoch = null) =>
        Run(encoder, clips, train, clips, tests, options, selectBy, task, onEpoch);

    internal static LocalizationResult Run(
        CodeEncoder encoder, LabeledClips trainData, Modality train, LabeledClips evalData, IReadOnlyList<Modality> tests,
        DownstreamOptions options, LocalizationSelection selectBy, string task, Action<EpochLog>? onEpoch)
    {
        var (trainSet, selection, targets) = ProtocolPlan.Make(trainData, train, evalData, tests, options);
        var selectionMetric = LocalizationTask.Key(selectBy, options.LocalizationScoring);
        var outcome = HeadTraining.Run((d, g) => new LocalizationTask(d, trainData.ForegroundClasses + 1, selectionMetric, g),
            encoder, options, trainSet, selection, targets, onEpoch);
        var run = new RunInfo(task, options.Protocol, options.Seed, trainSet.Scored, selection?.Scored, outcome.History);
        return Result(run, outcome.Scores, options.LocalizationScoring);
    }

    /// <summary>Trains the head of <see cref="Run(CodeEncoder, LabeledClips, Modality, IReadOnlyList{Modality}, DownstreamOptions, LocalizationSelection, string, Action{EpochLog}?)"/> without scoring; <see cref="Score"/> scores it later.</summary>
    public static TrainedHead Train(
        CodeEncoder encoder, LabeledClips clips, Modality train, DownstreamOptions options,
        LocalizationSelection selectBy = LocalizationSelection.Precision, string task = "avvp", Action<EpochLog>? onEpoch = null)
    {
        var (trainSet, selection) = ProtocolPlan.MakeTraining(clips, train, options);
        var selectionMetric = LocalizationTask.Key(selectBy, options.LocalizationScoring);
        var outputs = clips.ForegroundClasses + 1;
        var capture = new HeadCapture();
        HeadTraining.Run((d, g) => new LocalizationTask(d, outputs, selectionMetric, g), encoder, options, trainSet, selection, [], onEpoch, capture);
        return TrainedHead.From(capture, HeadKind.Localization, task, trainSet, selection, options, outputs, selectionMetric);
    }

    /// <summary>Scores a head from <see cref="Train"/> on each of <paramref name="tests"/>: the numbers the combined Run reports.</summary>
    public static LocalizationResult Score(TrainedHead head, CodeEncoder encoder, LabeledClips clips, IReadOnlyList<Modality> tests, DownstreamOptions options)
    {
        if (head.Kind != HeadKind.Localization)
            throw new ArgumentException($"head '{head.Task}' is a {head.Kind} head: expected a {HeadKind.Localization} head for event localisation");
        head.RequireClasses(clips);
        var targets = ProtocolPlan.MakeTargets(head.Trained, clips, tests, options);
        var scores = HeadTraining.Score((d, g) => new LocalizationTask(d, head.Outputs, head.SelectionMetric, g), head, encoder, options, targets);
        return Result(head.Run, scores, options.LocalizationScoring);
    }

    private static LocalizationResult Result(RunInfo run, IReadOnlyList<TargetScore> scores, LocalizationScoring scoring) =>
        new(run, scores.Select(s => new LocalizationScore(
            s.Target.Direction,
            new PrecisionRecallF1(s.Metrics["precision"], s.Metrics["recall"], s.Metrics["f1"]),
            new PrecisionRecallF1(s.Metrics["precision_micro"], s.Metrics["recall_micro"], s.Metrics["f1_micro"]),
            scoring, s.Epoch, s.Target.Scored)).ToList());
}

/// <summary>BCEWithLogits + ExpLog per second; scored by reference and micro P/R/F1 (percent).</summary>
internal sealed class LocalizationTask : HeadTask
{
    private readonly LocalizationHead head;
    private readonly ExpLogLoss expLog;
    private readonly string selectionMetric;

    public LocalizationTask(int codeDim, int outputs, string selectionMetric, Generator generator)
    {
        head = new LocalizationHead(codeDim, outputs);
        expLog = new ExpLogLoss(outputs);
        Initialise(head, generator);
        this.selectionMetric = selectionMetric;
    }

    public static string Key(LocalizationSelection selectBy, LocalizationScoring scoring) =>
        (selectBy == LocalizationSelection.Precision ? "precision" : "f1") + (scoring == LocalizationScoring.Micro ? "_micro" : "");

    public override IReadOnlyList<nn.Module> Modules => [head, expLog];
    public override IEnumerable<Parameter> Optimised => head.parameters().Concat(expLog.parameters());
    public override IEnumerable<Parameter> Clipped => head.parameters();
    public override IEnumerable<Parameter> Predictive => head.parameters();
    public override string SelectionMetric => selectionMetric;

    public override Tensor Labels(LabeledClips data, Modality modality, string split, int[] indices, Device device, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var idx = tensor(indices.Select(i => (long)i).ToArray(), ScalarType.Int64);
        return data.LabelsFor(modality).index_select(0, idx).to(dtype, device).MoveToOuterDisposeScope();
    }

    public override Tensor Loss(Tensor codes, IReadOnlyList<Tensor> partners, Tensor? labels)
    {
        var width = labels!.shape[2];
        var logits = head.forward(codes).reshape(-1, width);  // [B·T, C + 1]: every second is a row
        return expLog.LocalizationLoss(logits, labels.reshape(-1, width));
    }

    public override IReadOnlyDictionary<string, double> Evaluate(Tensor codes, IReadOnlyList<Tensor> partners, Tensor? labels, int batchSize)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var counts = new List<Tensor>();
        var clips = new List<int>();
        foreach (var (c, y) in ClassificationTask.Batches(codes, batchSize).Zip(ClassificationTask.Batches(labels!, batchSize)))
        {
            var predicted = head.forward(c).sigmoid() > 0.5;
            var actual = y > 0.5;
            counts.Add(stack([predicted.sum(), actual.sum(), predicted.logical_and(actual).sum()]));
            clips.Add((int)c.shape[0]);
        }
        var host = stack(counts).cpu().data<long>().ToArray();  // [batches, 3], one read
        var batches = clips.Select((n, b) => new BatchCounts(n, host[3 * b], host[3 * b + 1], host[3 * b + 2])).ToList();
        var reference = Metrics.ReferencePrecisionRecallF1(batches).ToPercent();
        var micro = Metrics.MicroPrecisionRecallF1(batches).ToPercent();
        return new Dictionary<string, double>
        {
            ["precision"] = reference.Precision, ["recall"] = reference.Recall, ["f1"] = reference.F1,
            ["precision_micro"] = micro.Precision, ["recall_micro"] = micro.Recall, ["f1_micro"] = micro.F1,
        };
    }
}
