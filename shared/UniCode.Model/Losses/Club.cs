using TorchSharp;
using TorchSharp.Modules;
using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Model.Losses;

/// <summary>
/// The sampled CLUB upper bound of I(x; y) (Eq. 4–5; reference <c>CLUBSample_group</c>, docs/reference-behaviour.md §1.7) with
/// its variational net q_θ(y | x) = N(μ(x), diag exp(logvar(x))): μ is an MLP xDim → h → h → h → yDim with ReLUs,
/// logvar the same shape ending in tanh (so logvar ∈ (−1, 1)), h = ClubHiddenDim / 2.
/// In Uni-Code x is the quantized ẑ_m and y the specific z̄_m of one modality.
/// </summary>
public sealed class Club : nn.Module
{
    private readonly Sequential mu;
    private readonly Sequential logvar;
    private readonly int xDim;
    private readonly int yDim;

    public Club(string name, int xDim, int yDim, UniCodeConfig c) : base(name)
    {
        if (xDim <= 0) throw new ArgumentOutOfRangeException(nameof(xDim), xDim, $"Club '{name}': xDim must be positive");
        if (yDim <= 0) throw new ArgumentOutOfRangeException(nameof(yDim), yDim, $"Club '{name}': yDim must be positive");
        if (c.ClubHiddenDim < 2) throw new ConfigException(nameof(UniCodeConfig.ClubHiddenDim), c.ClubHiddenDim, "at least 2 (inner width is half of it)");
        this.xDim = xDim;
        this.yDim = yDim;
        var h = c.ClubHiddenDim / 2;
        mu = nn.Sequential(
            ("0", nn.Linear(xDim, h)), ("1", nn.ReLU()),
            ("2", nn.Linear(h, h)), ("3", nn.ReLU()),
            ("4", nn.Linear(h, h)), ("5", nn.ReLU()),
            ("6", nn.Linear(h, yDim)));
        logvar = nn.Sequential(
            ("0", nn.Linear(xDim, h)), ("1", nn.ReLU()),
            ("2", nn.Linear(h, h)), ("3", nn.ReLU()),
            ("4", nn.Linear(h, h)), ("5", nn.ReLU()),
            ("6", nn.Linear(h, yDim)), ("7", nn.Tanh()));
        RegisterComponents();
    }

    /// <summary>
    /// Unnormalised log q_θ(y | x) averaged over samples: rows of [.., d] flattened;
    /// mean over rows of Σ_d [−(μ − y)² / exp(logvar) − logvar] / 2.
    /// </summary>
    public Tensor LogLikelihood(Tensor x, Tensor y)
    {
        CheckShapes(x, y, nameof(LogLikelihood));
        using var scope = NewDisposeScope();
        var m = mu.call(x).reshape(-1, yDim);
        var lv = logvar.call(x).reshape(-1, yDim);
        var yy = y.reshape(-1, yDim);
        var perRow = (-(m - yy).square() / lv.exp() - lv).sum(1);
        return (perRow.mean() / 2).MoveToOuterDisposeScope();
    }

    /// <summary>The estimator's training loss −log q_θ(y | x) (Eq. 4's fit); callers pass detached x and y.</summary>
    public Tensor LearningLoss(Tensor x, Tensor y)
    {
        using var ll = LogLikelihood(x, y);
        return ll.neg();
    }

    /// <summary>
    /// Eq. 5, the reference's group form on x [B, T, dx], y [B, T, dy]: with π a random permutation of the batch,
    /// pos[b, d] = −mean_t (μ − y)² / exp(mean_t logvar), neg the same with y[π];
    /// I = mean_b (Σ_d pos − Σ_d neg) / 2. Gradients reach x, y and the net.
    /// </summary>
    /// <param name="generator">Draws π (on its device, then moved to y's); null uses the default generator of y's device.</param>
    public Tensor MutualInformation(Tensor x, Tensor y, torch.Generator? generator = null)
    {
        CheckShapes(x, y, nameof(MutualInformation));
        if (x.ndim != 3)
            throw new ArgumentException($"Club '{GetName()}'.{nameof(MutualInformation)}: x shape [{string.Join(", ", x.shape)}], expected [B, T, {xDim}]");
        using var scope = NewDisposeScope();
        var batch = x.shape[0];
        var perm = torch.randperm(batch, ScalarType.Int64, device: generator?.device ?? y.device, generator: generator).to(y.device);
        var m = mu.call(x);                                     // [B, T, dy]
        var variance = logvar.call(x).mean([1]).exp();          // [B, dy]: exp(mean_t logvar)
        var positive = -(m - y).square().mean([1]) / variance;
        var negative = -(m - y.index_select(0, perm)).square().mean([1]) / variance;
        var mi = (positive.sum(-1) - negative.sum(-1)).mean() / 2;
        return mi.MoveToOuterDisposeScope();
    }

    private void CheckShapes(Tensor x, Tensor y, string method)
    {
        if (x.ndim < 2 || x.shape[^1] != xDim || y.ndim != x.ndim || y.shape[^1] != yDim || !x.shape[..^1].SequenceEqual(y.shape[..^1]))
            throw new ArgumentException($"Club '{GetName()}'.{method}: x [{string.Join(", ", x.shape)}], y [{string.Join(", ", y.shape)}]; expected x [.., {xDim}] and y [.., {yDim}] with equal leading dimensions");
    }
}
