using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UniCode.Model.Training;

/// <summary>Gradient-norm clipping that stays on the device (TorchSharp's clip_grad_norm_ returns a host double, i.e. syncs).</summary>
public static class GradientClipping
{
    /// <summary>Scales the gradients of <paramref name="parameters"/> so that their joint L2 norm is at most <paramref name="maxNorm"/>; returns the norm before clipping as a 0-d tensor.</summary>
    public static Tensor ClipByNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        var grads = parameters.Select(p => p.grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return zeros(1).squeeze();
        using var squares = stack(grads.Select(g => g.pow(2).sum()).ToArray());
        var norm = squares.sum().sqrt();
        // Same rule as torch.nn.utils.clip_grad_norm_: coefficient max/(norm+1e-6), never above 1.
        using var coefficient = (maxNorm / (norm + 1e-6)).clamp_max(1.0);
        using (no_grad())
        {
            foreach (var g in grads) g.mul_(coefficient.to(g.dtype));
        }
        return norm;
    }
}
