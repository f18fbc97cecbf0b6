using UniCode.Model.Config;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UniCode.Model.Downstream;

/// <summary>Retrieval scores of one direction in percent; the gallery is always the audio of the scored clips.</summary>
/// <param name="Direction">Train = the query modality the heads were trained with; Test = the query modality scored.</param>
public sealed record RetrievalScore(Direction Direction, double RecallAt1, double RecallAt5, double RecallAt10, int Epoch, ScoredSet Scored);

public sealed record RetrievalResult(RunInfo Run, IReadOnlyList<RetrievalScore> Scores)
{
    public RetrievalScore this[string name] => Scores.Single(s => s.Direction.Name == name);

    /// <summary>Rows "r@1", "r@5", "r@10" (percent) and "epoch" per direction.</summary>
    public IReadOnlyList<MetricRow> Rows() => Scores.SelectMany(s => new[]
    {
        Run.Row(s.Direction, s.Scored, "r@1", s.RecallAt1),
        Run.Row(s.Direction, s.Scored, "r@5", s.RecallAt5),
        Run.Row(s.Direction, s.Scored, "r@10", s.RecallAt10),
        Run.Row(s.Direction, s.Scored, "epoch", s.Epoch),
    }).ToList();
}

/// <summary>
/// X-to-audio retrieval (paper §4, V↔T via audio; the reference has no code for it): a query
/// <see cref="RetrievalHead"/> on modality X's codes and a gallery head on audio codes, trained with
/// in-batch <see cref="InfoNce"/> on the train split (clip i's X and audio are the positive pair); tested by
/// querying with modality Y's codes through the same query head against the audio of the scored clips
/// (the true item of a query is its own clip's audio). Scored by R@1/5/10
/// (<see cref="Metrics.RetrievalRanks"/>: ties count against the query); R@5 picks the epoch.
/// </summary>
public static class AudioRetrieval
{
    public static RetrievalResult Run(
        CodeEncoder encoder, LabeledClips clips, Modality train, IReadOnlyList<Modality> tests, DownstreamOptions options,
        string task = "retrieval", Action<EpochLog>? onEpoch = null)
    {
        var (trainSet, selection, targets) = ProtocolPlan.Make(clips, train, clips, tests, options);
        clips.FeaturesOf(Modality.Audio);
        var outcome = HeadTraining.Run((d, g) => new RetrievalTask(d, options.RetrievalEmbeddingDim, options.RetrievalTemperature, g),
            encoder, options, trainSet, selection, targets, onEpoch);
        var run = new RunInfo(task, options.Protocol, options.Seed, trainSet.Scored, selection?.Scored, outcome.History);
        return Result(run, outcome.Scores);
    }

    /// <summary>Trains the query and gallery heads of <see cref="Run"/> without scoring; <see cref="Score"/> scores them later.</summary>
    public static TrainedHead Train(
        CodeEncoder encoder, LabeledClips clips, Modality train, DownstreamOptions options, string task = "retrieval", Action<EpochLog>? onEpoch = null)
    {
        var (trainSet, selection) = ProtocolPlan.MakeTraining(clips, train, options);
        clips.FeaturesOf(Modality.Audio);
        var capture = new HeadCapture();
        HeadTraining.Run((d, g) => new RetrievalTask(d, options.RetrievalEmbeddingDim, options.RetrievalTemperature, g),
            encoder, options, trainSet, selection, [], onEpoch, capture);
        return TrainedHead.From(capture, HeadKind.Retrieval, task, trainSet, selection, options, options.RetrievalEmbeddingDim, RetrievalTask.Metric);
    }

    /// <summary>Scores heads from <see cref="Train"/> with each of <paramref name="tests"/> as the query modality: the numbers <see cref="Run"/> reports.</summary>
    public static RetrievalResult Score(TrainedHead head, CodeEncoder encoder, LabeledClips clips, IReadOnlyList<Modality> tests, DownstreamOptions options)
    {
        if (head.Kind != HeadKind.Retrieval)
            throw new ArgumentException($"head '{head.Task}' is a {head.Kind} head: expected a {HeadKind.Retrieval} head for retrieval");
        clips.FeaturesOf(Modality.Audio);
        var targets = ProtocolPlan.MakeTargets(head.Trained, clips, tests, options);
        // The temperature only shapes the training loss; scoring ranks by the embeddings alone.
        var scores = HeadTraining.Score((d, g) => new RetrievalTask(d, head.Outputs, options.RetrievalTemperature, g), head, encoder, options, targets);
        return Result(head.Run, scores);
    }

    private static RetrievalResult Result(RunInfo run, IReadOnlyList<TargetScore> scores) =>
        new(run, scores.Select(s => new RetrievalScore(
            s.Target.Direction, s.Metrics["r@1"], s.Metrics["r@5"], s.Metrics["r@10"], s.Epoch, s.Target.Scored)).ToList());
}

/// <summary>Query head + audio gallery head, in-batch InfoNCE; scored by R@K against the audio gallery.</summary>
internal sealed class RetrievalTask : HeadTask
{
    private readonly RetrievalHead query;
    private readonly RetrievalHead gallery;
    private readonly double temperature;

    public RetrievalTask(int codeDim, int embeddingDim, double temperature, Generator generator)
    {
        query = new RetrievalHead(codeDim, embeddingDim);
        gallery = new RetrievalHead(codeDim, embeddingDim);
        Initialise(query, generator);
        Initialise(gallery, generator);
        this.temperature = temperature;
    }

    public override IReadOnlyList<nn.Module> Modules => [query, gallery];
    public override IEnumerable<Parameter> Optimised => query.parameters().Concat(gallery.parameters());
    public override IEnumerable<Parameter> Clipped => Optimised;
    public override IEnumerable<Parameter> Predictive => Optimised;
    public override IReadOnlyList<Modality> Partners => [Modality.Audio];
    public const string Metric = "r@5";
    public override string SelectionMetric => Metric;

    public override Tensor? Labels(LabeledClips data, Modality modality, string split, int[] indices, Device device, ScalarType dtype) => null;

    public override Tensor Loss(Tensor codes, IReadOnlyList<Tensor> partners, Tensor? labels) =>
        InfoNce.Loss(query.forward(codes), gallery.forward(partners[0]), temperature);

    public override IReadOnlyDictionary<string, double> Evaluate(Tensor codes, IReadOnlyList<Tensor> partners, Tensor? labels, int batchSize)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var q = cat(ClassificationTask.Batches(codes, batchSize).Select(query.forward).ToList(), 0);
        var g = cat(ClassificationTask.Batches(partners[0], batchSize).Select(gallery.forward).ToList(), 0);
        var ranks = RetrievalRanks(q, g, Math.Max(batchSize, 256)).cpu().data<long>().Select(r => (int)r).ToArray();
        return new Dictionary<string, double>
        {
            ["r@1"] = Metrics.RecallAtK(ranks, 1),
            ["r@5"] = Metrics.RecallAtK(ranks, 5),
            ["r@10"] = Metrics.RecallAtK(ranks, 10),
        };
    }

    /// <summary>
    /// <see cref="Metrics.RetrievalRanks"/> on device, in chunks of queries: rank_i = #{j ≠ i : s_ij ≥ s_ii}.
    /// s_ii is read from the same matmul row, so the query's own item always counts exactly once and is subtracted.
    /// </summary>
    internal static Tensor RetrievalRanks(Tensor queries, Tensor gallery, int chunk)
    {
        var n = queries.shape[0];
        var parts = new List<Tensor>();
        for (long start = 0; start < n; start += chunk)
        {
            var len = Math.Min(chunk, n - start);
            var s = queries.narrow(0, start, len).matmul(gallery.t());  // [len, n]
            var own = s.gather(1, arange(start, start + len, dtype: ScalarType.Int64, device: s.device).unsqueeze(1));
            parts.Add((s >= own).sum(1) - 1);
        }
        return cat(parts, 0);
    }
}
