using UniCode.Model.Config;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UniCode.Model.Downstream;

/// <summary>Accuracy of one direction, from the epoch it was reported at.</summary>
/// <param name="Accuracy">Percent of clips whose predicted class is the clip class.</param>
/// <param name="Epoch">0-based epoch of the reported head.</param>
/// <param name="Scored">The clips scored.</param>
public sealed record ClassificationScore(Direction Direction, double Accuracy, int Epoch, ScoredSet Scored);

public sealed record ClassificationResult(RunInfo Run, IReadOnlyList<ClassificationScore> Scores)
{
    /// <summary>The score of direction <paramref name="name"/> ("v2a", ...).</summary>
    public ClassificationScore this[string name] => Scores.Single(s => s.Direction.Name == name);

    /// <summary>Rows "accuracy" (percent) and "epoch" per direction.</summary>
    public IReadOnlyList<MetricRow> Rows() => Scores.SelectMany(s => new[]
    {
        Run.Row(s.Direction, s.Scored, "accuracy", s.Accuracy),
        Run.Row(s.Direction, s.Scored, "epoch", s.Epoch),
    }).ToList();
}

/// <summary>
/// Cross-modal event classification (paper Table 1 AVE; docs/reference-behaviour.md §3 "AVE classification"):
/// a <see cref="ClassificationHead"/> trained with cross-entropy on the clip classes of one
/// modality's frozen codes, then applied unchanged to other modalities' codes (zero-shot transfer).
/// </summary>
public static class EventClassification
{
    /// <summary>
    /// Trains on modality <paramref name="train"/> and scores each of <paramref name="tests"/> (e.g. [v, a]
    /// gives "v2v" and "v2a"). Which clips are scored and which epoch is reported: <see cref="DownstreamOptions.Protocol"/>.
    /// </summary>
    public static ClassificationResult Run(
        CodeEncoder encoder, LabeledClips clips, Modality train, IReadOnlyList<Modality> tests, DownstreamOptions options,
        string task = "ave", Action<EpochLog>? onEpoch = null) =>
        Run(encoder, clips, train, clips, tests, options, task, onEpoch);

    internal static ClassificationResult Run(
        CodeEncoder encoder, LabeledClips trainData, Modality train, LabeledClips evalData, IReadOnlyList<Modality> tests,
        DownstreamOptions options, string task, Action<EpochLog>? onEpoch)
    {
        var (trainSet, selection, targets) = ProtocolPlan.Make(trainData, train, evalData, tests, options);
        var outcome = HeadTraining.Run((d, g) => new ClassificationTask(d, trainData.ForegroundClasses, g), encoder, options, trainSet, selection, targets, onEpoch);
        var run = new RunInfo(task, options.Protocol, options.Seed, trainSet.Scored, selection?.Scored, outcome.History);
        return Result(run, outcome.Scores);
    }

    /// <summary>
    /// Trains the head of <see cref="Run(CodeEncoder, LabeledClips, Modality, IReadOnlyList{Modality}, DownstreamOptions, string, Action{EpochLog}?)"/>
    /// on modality <paramref name="train"/> without scoring any test modality; <see cref="Score"/> scores it later.
    /// </summary>
    public static TrainedHead Train(
        CodeEncoder encoder, LabeledClips clips, Modality train, DownstreamOptions options, string task = "ave", Action<EpochLog>? onEpoch = null)
    {
        var (trainSet, selection) = ProtocolPlan.MakeTraining(clips, train, options);
        var capture = new HeadCapture();
        HeadTraining.Run((d, g) => new ClassificationTask(d, clips.ForegroundClasses, g), encoder, options, trainSet, selection, [], onEpoch, capture);
        return TrainedHead.From(capture, HeadKind.Classification, task, trainSet, selection, options, clips.ForegroundClasses, ClassificationTask.Metric);
    }

    /// <summary>
    /// Scores a head from <see cref="Train"/> on each of <paramref name="tests"/> of <paramref name="clips"/>: the
    /// numbers <see cref="Run(CodeEncoder, LabeledClips, Modality, IReadOnlyList{Modality}, DownstreamOptions, string, Action{EpochLog}?)"/>
    /// reports for the same data, options and encoder.
    /// </summary>
    public static ClassificationResult Score(TrainedHead head, CodeEncoder encoder, LabeledClips clips, IReadOnlyList<Modality> tests, DownstreamOptions options)
    {
        if (head.Kind != HeadKind.Classification)
            throw new ArgumentException($"head '{head.Task}' is a {head.Kind} head: expected a {HeadKind.Classification} head for event classification");
        head.RequireClasses(clips);
        var targets = ProtocolPlan.MakeTargets(head.Trained, clips, tests, options);
        var scores = HeadTraining.Score((d, g) => new ClassificationTask(d, head.Outputs, g), head, encoder, options, targets);
        return Result(head.Run, scores);
    }

    private static ClassificationResult Result(RunInfo run, IReadOnlyList<TargetScore> scores) =>
        new(run, scores.Select(s => new ClassificationScore(s.Target.Direction, s.Metrics[ClassificationTask.Metric], s.Epoch, s.Target.Scored)).ToList());
}

/// <summary>Cross-entropy on clip classes; scored by accuracy.</summary>
internal sealed class ClassificationTask : HeadTask
{
    public const string Metric = "accuracy";
    private readonly ClassificationHead head;

    public ClassificationTask(int codeDim, int classes, Generator generator)
    {
        head = new ClassificationHead(codeDim, classes);
        Initialise(head, generator);
    }

    public override IReadOnlyList<nn.Module> Modules => [head];
    public override IEnumerable<Parameter> Optimised => head.parameters();
    public override IEnumerable<Parameter> Clipped => head.parameters();
    public override IEnumerable<Parameter> Predictive => head.parameters();
    public override string SelectionMetric => Metric;

    public override Tensor Labels(LabeledClips data, Modality modality, string split, int[] indices, Device device, ScalarType dtype)
    {
        var labels = data.LabelsFor(modality);
        data.RequireForeground(labels, indices, split, modality);
        using var scope = NewDisposeScope();
        var idx = tensor(indices.Select(i => (long)i).ToArray(), ScalarType.Int64);
        return LabeledClips.ClipClasses(labels.index_select(0, idx)).to(device).MoveToOuterDisposeScope();
    }

    public override Tensor Loss(Tensor codes, IReadOnlyList<Tensor> partners, Tensor? labels) =>
        nn.functional.cross_entropy(head.forward(codes), labels!);

    public override IReadOnlyDictionary<string, double> Evaluate(Tensor codes, IReadOnlyList<Tensor> partners, Tensor? labels, int batchSize)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var predictions = cat(Batches(codes, batchSize).Select(c => head.forward(c).argmax(1)).ToList(), 0);
        var predicted = predictions.cpu().data<long>().ToArray();
        var truth = labels!.cpu().data<long>().ToArray();
        return new Dictionary<string, double> { [Metric] = Metrics.Accuracy(predicted, truth) };
    }

    internal static IEnumerable<Tensor> Batches(Tensor t, int batchSize)
    {
        for (long start = 0; start < t.shape[0]; start += batchSize)
            yield return t.narrow(0, start, Math.Min(batchSize, t.shape[0] - start));
    }
}
