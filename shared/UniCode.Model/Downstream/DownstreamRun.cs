using UniCode.Model.Config;

namespace UniCode.Model.Downstream;

/// <summary>The clips a head was trained or scored on: which data, which split, which indices (in order).</summary>
public sealed record ScoredSet(string DatasetHash, Modality Modality, string Split, IReadOnlyList<int> Indices);

/// <summary>
/// One epoch of a downstream run, as handed to the progress callback.
/// <paramref name="Metric"/> is the number that selects the reported epoch (named by
/// <paramref name="MetricName"/>, e.g. "val/v2v/accuracy"), NaN when nothing is scored during
/// training (held-out protocol without a val split). <paramref name="Metrics"/> holds every number
/// scored this epoch, keyed "split/direction/metric". <paramref name="Epochs"/> is the run's length
/// (<see cref="DownstreamOptions.EpochsFor"/>: more than the options' epochs when they give too few steps).
/// </summary>
public sealed record EpochLog(int Epoch, int Epochs, double LearningRate, double TrainLoss, string MetricName, double Metric, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// One result row for the results database (table downstream_results): the coordinator adds the
/// run, checkpoint and code version. <paramref name="Split"/> is the split that was scored.
/// </summary>
public sealed record MetricRow(string Task, Modality Source, Modality Target, string Split, string Protocol, string Metric, double Value, string DatasetHash, int Seed);

/// <summary>What every protocol result shares.</summary>
/// <param name="Task">Name of the downstream task (e.g. "ave", "avvp", "ave2avvp", "ucf2vgg", "retrieval").</param>
/// <param name="Trained">The clips the head trained on.</param>
/// <param name="SelectedOn">Held-out protocol with a val split: the clips that picked the epoch; otherwise null.</param>
/// <param name="History">One entry per epoch.</param>
public sealed record RunInfo(string Task, EvaluationProtocol Protocol, int Seed, ScoredSet Trained, ScoredSet? SelectedOn, IReadOnlyList<EpochLog> History)
{
    /// <summary>"held-out" or "reference", as stored in the results database.</summary>
    public string ProtocolName => Name(Protocol);

    /// <summary>"held-out" or "reference": a protocol's name in the results database and in job messages.</summary>
    public static string Name(EvaluationProtocol protocol) => protocol == EvaluationProtocol.HeldOut ? "held-out" : "reference";

    /// <summary>Parses <see cref="Name"/>'s output (case-insensitive; "heldout" and "held_out" also accepted).</summary>
    public static EvaluationProtocol ParseProtocol(string name) => name.Trim().ToLowerInvariant() switch
    {
        "held-out" or "heldout" or "held_out" => EvaluationProtocol.HeldOut,
        "reference" => EvaluationProtocol.Reference,
        _ => throw new FormatException($"protocol '{name}': expected 'held-out' or 'reference'"),
    };

    internal MetricRow Row(Direction d, ScoredSet scored, string metric, double value) =>
        new(Task, d.Train, d.Test, scored.Split, ProtocolName, metric, value, scored.DatasetHash, Seed);
}
