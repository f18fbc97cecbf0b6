using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UniCode.Model.Downstream;

/// <summary>
/// Clip classifier on frozen codes (reference <c>Semantic_Decoder</c>): Linear D→D with no
/// activation, max over time, Linear D→C. [B, T, D] → logits [B, C].
/// </summary>
public sealed class ClassificationHead : nn.Module<Tensor, Tensor>
{
    private readonly Linear linear;
    private readonly Linear classifier;

    public ClassificationHead(int codeDim, int classes) : base(nameof(ClassificationHead))
    {
        if (codeDim < 1) throw new ArgumentOutOfRangeException(nameof(codeDim), codeDim, "expected a code width ≥ 1");
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, "expected at least 2 classes");
        linear = nn.Linear(codeDim, codeDim);
        classifier = nn.Linear(codeDim, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor codes)
    {
        // max (not amax): the gradient goes to the arg-max step only, as in the reference.
        var pooled = linear.forward(codes).max(1).values;
        return classifier.forward(pooled);
    }
}
