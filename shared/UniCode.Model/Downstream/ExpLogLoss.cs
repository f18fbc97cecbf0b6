using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UniCode.Model.Downstream;

/// <summary>
/// The reference's AVVP loss term "ExpLogLoss": −mean_rows Σ_c y_c · log_softmax(logits)_c · exp(−α_c),
/// with one learnable α per output (init 0.1, trained by the head's optimiser, not clipped; α can grow
/// and so shrink this term). Rows are the B·T seconds. (logits, labels) [N, K] → scalar.
/// </summary>
public sealed class ExpLogLoss : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Parameter alpha;

    public ExpLogLoss(int outputs, double initialAlpha = 0.1) : base(nameof(ExpLogLoss))
    {
        if (outputs < 1) throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "expected at least 1 output");
        alpha = nn.Parameter(full(outputs, initialAlpha));
        RegisterComponents();
    }

    /// <summary>The α's, one per output column.</summary>
    public Parameter Alpha => alpha;

    public override Tensor forward(Tensor logits, Tensor labels)
    {
        var logProbabilities = nn.functional.log_softmax(logits, 1);
        return -(labels * logProbabilities * alpha.neg().exp()).sum(1).mean();
    }

    /// <summary>The reference's full AVVP loss: BCEWithLogits (mean over all cells) + this term.</summary>
    public Tensor LocalizationLoss(Tensor logits, Tensor labels) =>
        nn.functional.binary_cross_entropy_with_logits(logits, labels) + forward(logits, labels);
}
