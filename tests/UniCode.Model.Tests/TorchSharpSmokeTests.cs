using TorchSharp;
using static TorchSharp.torch;

namespace UniCode.Model.Tests;

/// <summary>Proves the native library loads on this OS (see Directory.Build.targets) and autograd works.</summary>
public class TorchSharpSmokeTests
{
    [Fact]
    public void Forward_and_backward_run_on_cpu()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var lin = nn.Linear(4, 1);
        var x = randn(8, 4);
        var loss = lin.forward(x).pow(2).mean();
        loss.backward();
        var grad = lin.weight!.grad!;
        Assert.Equal(new long[] { 1, 4 }, grad.shape);
        Assert.True(grad.abs().sum().item<float>() > 0);

        // d/dw mean((w·x + b)^2) = 2 mean((w·x + b) x): check against the hand formula.
        using (no_grad())
        {
            var y = lin.forward(x);
            var expected = (2 * y * x).mean(new long[] { 0 }).unsqueeze(0);
            Assert.True(allclose(grad, expected, rtol: 1e-5, atol: 1e-6));
        }
    }
}
