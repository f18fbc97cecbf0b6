using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UniCode.Model.Downstream;

/// <summary>
/// Per-second event localiser on frozen codes (reference <c>Semantic_Decoder_AVVP</c>): Linear D→D,
/// then Linear D→C+1 (background last), no activation in between. [B, T, D] → logits [B, T, C + 1].
/// </summary>
public sealed class LocalizationHead : nn.Module<Tensor, Tensor>
{
    private readonly Linear linear;
    private readonly Linear classifier;

    /// <param name="outputs">C + 1: the foreground classes plus background.</param>
    public LocalizationHead(int codeDim, int outputs) : base(nameof(LocalizationHead))
    {
        if (codeDim < 1) throw new ArgumentOutOfRangeException(nameof(codeDim), codeDim, "expected a code width ≥ 1");
        if (outputs < 2) throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "expected at least 2 outputs (one class + background)");
        linear = nn.Linear(codeDim, codeDim);
        classifier = nn.Linear(codeDim, outputs);
        RegisterComponents();
    }

    public override Tensor forward(Tensor codes) => classifier.forward(linear.forward(codes));
}
