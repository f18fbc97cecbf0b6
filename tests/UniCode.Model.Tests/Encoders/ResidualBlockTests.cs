using TorchSharp;
using UniCode.Model.Encoders;
using static TorchSharp.torch;
using static UniCode.Model.Tests.Encoders.ModuleTestKit;

namespace UniCode.Model.Tests.Encoders;

[Collection(TorchGlobalRngCollection.Name)]
public class ResidualBlockTests
{
    [Fact]
    public void Skips_relu_x_and_ends_with_relu()
    {
        using var scope = NewDisposeScope();
        using var block = new ResidualBlock("res", 1);
        // 3×3 kernel: centre 2, left neighbour 1; 1×1 kernel: 0.5.
        Set(block, "conv3x3.weight", 0, 0, 0, 1, 2, 0, 0, 0, 0);
        Set(block, "conv1x1.weight", 0.5);
        double[] x = [1.0, -2.0, 3.0, -0.5];   // one 2×2 map
        var y = ToDoubles(block.call(tensor(x, dtype: ScalarType.Float32).reshape(1, 1, 2, 2)));

        double R(double v) => Math.Max(0, v);
        var h = x.Select(R).ToArray();          // [1, 0, 3, 0]
        // cross-correlation with zero padding 1 on the 2×2 map: out(r, c) = 2·h(r, c) + h(r, c−1)
        var conv = new[] { 2 * h[0], 2 * h[1] + h[0], 2 * h[2], 2 * h[3] + h[2] };
        for (var i = 0; i < 4; i++)
            Assert.Equal(R(h[i] + 0.5 * R(conv[i])), y[i], 6);
        // The skip carries ReLU(x) (the reference's in-place ReLU): with x itself these would be
        // ReLU(−2 + 0.5) = 0 and ReLU(−0.5 + 1.5) = 1.
        Assert.Equal(0.5, y[1], 6);
        Assert.Equal(1.5, y[3], 6);
    }
}
