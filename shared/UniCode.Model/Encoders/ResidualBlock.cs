using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UniCode.Model.Encoders;

/// <summary>
/// The one-layer residual stack of the video-specific encoder Ψ_v and the video decoder (docs/reference-behaviour.md §1.4, §1.6),
/// on NCHW maps of <c>width</c> channels, both convolutions bias-free and <c>width</c> wide:
/// h = ReLU(x); y = ReLU(h + Conv1×1(ReLU(Conv3×3 pad 1 (h)))).
/// </summary>
/// <remarks>
/// The skip connection carries ReLU(x), not x. The reference writes <c>x = x + res_block(x)</c> with a
/// <c>ReLU(inplace=True)</c> as the block's first op, which overwrites x with ReLU(x) before Python adds it
/// (the left operand is the same tensor object). What is implemented is what the reference computes.
/// </remarks>
public sealed class ResidualBlock : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv3x3;
    private readonly Conv2d conv1x1;

    public ResidualBlock(string name, int width) : base(name)
    {
        conv3x3 = nn.Conv2d(width, width, 3, padding: 1, bias: false);
        conv1x1 = nn.Conv2d(width, width, 1, bias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = F.relu(x);
        var r = conv1x1.call(F.relu(conv3x3.call(h)));
        return F.relu(h + r).MoveToOuterDisposeScope();
    }
}
