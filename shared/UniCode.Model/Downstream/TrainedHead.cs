using UniCode.Model.Config;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UniCode.Model.Downstream;

/// <summary>Which head (and loss) a downstream protocol trains.</summary>
public enum HeadKind
{
    /// <summary><see cref="ClassificationHead"/> (<see cref="EventClassification"/>); outputs = C classes.</summary>
    Classification,
    /// <summary><see cref="LocalizationHead"/> (<see cref="EventLocalization"/>); outputs = C + 1 (background last).</summary>
    Localization,
    /// <summary>Query and gallery <see cref="RetrievalHead"/>s (<see cref="AudioRetrieval"/>); outputs = embedding width.</summary>
    Retrieval,
}

/// <summary>One parameter of a head, on the host in float64 (lossless for float32 and float64 heads).</summary>
public sealed record HeadTensor(IReadOnlyList<long> Shape, double[] Values);

/// <summary>
/// The predictive parameters of a head after epoch <paramref name="Epoch"/> (0-based), in the head's
/// parameter order (for retrieval: the query head's, then the gallery head's).
/// </summary>
public sealed record HeadWeights(int Epoch, IReadOnlyList<HeadTensor> Tensors)
{
    internal static HeadWeights Capture(int epoch, IEnumerable<Parameter> parameters)
    {
        var tensors = new List<HeadTensor>();
        foreach (var p in parameters)
        {
            using var host = p.detach().to(ScalarType.Float64).cpu().contiguous();
            tensors.Add(new HeadTensor(p.shape.ToArray(), host.data<double>().ToArray()));
        }
        return new HeadWeights(epoch, tensors);
    }

    /// <summary>Overwrites <paramref name="parameters"/> with these values (shapes must match exactly).</summary>
    internal void CopyTo(IReadOnlyList<Parameter> parameters, string task)
    {
        if (parameters.Count != Tensors.Count)
            throw new ArgumentException($"head '{task}' epoch {Epoch} holds {Tensors.Count} tensors: expected {parameters.Count} for this head's kind and widths");
        using var _ = no_grad();
        for (var i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            var t = Tensors[i];
            if (!p.shape.SequenceEqual(t.Shape))
                throw new ArgumentException($"head '{task}' epoch {Epoch} tensor {i} has shape [{string.Join(", ", t.Shape)}]: expected [{string.Join(", ", p.shape)}]");
            using var value = tensor(t.Values, t.Shape.ToArray());
            p.copy_(value);
        }
    }
}

/// <summary>
/// A downstream head trained on one modality's frozen codes, detached from the data and the process
/// that trained it, so it can be saved (<see cref="HeadFile"/>) and scored later, on other modalities
/// (the protocols' <c>Score</c> methods) with the same numbers the combined <c>Run</c> reports.
/// </summary>
public sealed record TrainedHead
{
    public required HeadKind Kind { get; init; }
    /// <summary>Downstream task name, e.g. "ave".</summary>
    public required string Task { get; init; }
    /// <summary>The modality whose codes the head was trained on.</summary>
    public required Modality Source { get; init; }
    /// <summary>HeldOut: <see cref="Weights"/> holds the selected (or last) epoch's head; Reference: every epoch's.</summary>
    public required EvaluationProtocol Protocol { get; init; }
    public required int Seed { get; init; }
    /// <summary>D: width of the codes the head reads.</summary>
    public required int CodeDim { get; init; }
    /// <summary>Classification: C; localisation: C + 1; retrieval: the embedding width.</summary>
    public required int Outputs { get; init; }
    /// <summary>The training data's foreground class names (scored data must have the same).</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }
    /// <summary>The key of the task's scores that picks the reported epoch (e.g. "accuracy", "precision", "r@5").</summary>
    public required string SelectionMetric { get; init; }
    public required ScoredSet Trained { get; init; }
    public ScoredSet? SelectedOn { get; init; }
    public required IReadOnlyList<EpochLog> History { get; init; }
    public required IReadOnlyList<HeadWeights> Weights { get; init; }

    /// <summary>The run description the protocols' results carry.</summary>
    public RunInfo Run => new(Task, Protocol, Seed, Trained, SelectedOn, History);

    /// <summary>Throws unless <paramref name="data"/> has this head's classes (same names, same order).</summary>
    internal void RequireClasses(LabeledClips data)
    {
        if (Kind == HeadKind.Retrieval) return;
        if (!data.ClassNames.SequenceEqual(ClassNames))
            throw new ArgumentException($"LabeledClips '{data.ContentHash}': field ClassNames is [{string.Join(", ", data.ClassNames)}]: expected the head's classes [{string.Join(", ", ClassNames)}] (head '{Task}' trained on {Trained.DatasetHash})");
    }

    internal static TrainedHead From(HeadCapture capture, HeadKind kind, string task, TrainingSet train, EvalTarget? selection,
        DownstreamOptions o, int outputs, string selectionMetric) => new()
    {
        Kind = kind,
        Task = task,
        Source = train.Modality,
        Protocol = o.Protocol,
        Seed = o.Seed,
        CodeDim = capture.CodeDim,
        Outputs = outputs,
        ClassNames = train.Data.ClassNames.ToArray(),
        SelectionMetric = selectionMetric,
        Trained = train.Scored,
        SelectedOn = selection?.Scored,
        History = capture.History,
        Weights = capture.Weights,
    };
}

/// <summary>What <see cref="HeadTraining.Run"/> keeps of the head it trains (for <see cref="TrainedHead"/>).</summary>
internal sealed class HeadCapture
{
    private readonly List<HeadWeights> weights = [];

    public int CodeDim { get; private set; } = -1;
    public IReadOnlyList<HeadWeights> Weights => weights;
    public IReadOnlyList<EpochLog> History { get; private set; } = [];

    public void SetCodeDim(int codeDim) => CodeDim = codeDim;
    public void SetHistory(IReadOnlyList<EpochLog> history) => History = history.ToArray();
    public void Add(int epoch, IEnumerable<Parameter> parameters) => weights.Add(HeadWeights.Capture(epoch, parameters));
}
