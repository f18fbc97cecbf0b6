using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UniCode.Model.Downstream;

/// <summary>
/// torch.nn.utils.clip_grad_norm_ without its host read: grads ← grads · min(1, max / (‖grads‖₂ + 1e-6)),
/// the norm taken over all of them together. (TorchSharp's clip_grad_norm_ returns the norm as a
/// double, a device sync per step.)
/// </summary>
internal static class GradientClipping
{
    public static void ClipGlobalNorm(IReadOnlyList<Parameter> parameters, double maxNorm)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var grads = parameters.Select(p => p.grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return;
        var total = stack(grads.Select(g => g.square().sum()).ToList()).sum().sqrt();
        var coefficient = (total + 1e-6).reciprocal().mul(maxNorm).clamp_max(1.0);
        foreach (var g in grads) g.mul_(coefficient.to(g.dtype));
    }
}
