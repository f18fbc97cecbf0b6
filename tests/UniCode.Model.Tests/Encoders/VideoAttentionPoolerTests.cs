using TorchSharp;
using UniCode.Model.Config;
using UniCode.Model.Encoders;
using static TorchSharp.torch;
using static UniCode.Model.Tests.Encoders.ModuleTestKit;

namespace UniCode.Model.Tests.Encoders;

[Collection(TorchGlobalRngCollection.Name)]
public class VideoAttentionPoolerTests
{
    [Theory]
    [InlineData(5)]
    [InlineData(7)]
    public void Pools_each_segment_grid_to_one_vector(int grid)
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var c = Tiny(grid);
        using var pooler = new VideoAttentionPooler(c);
        var y = pooler.call(randn([2, 3, grid, grid, c.VideoInputDim]));
        Assert.Equal(new long[] { 2, 3, c.VideoInputDim }, y.shape);
    }

    [Fact]
    public void Matches_a_direct_computation_with_hand_set_weights()
    {
        using var scope = NewDisposeScope();
        // Dv = 2 channels, gate 1, attention width 2, a 2×2 grid, B = 1, T = 2.
        var c = UniCodeConfig.Small with { VideoInputDim = 2, VideoPoolerGateDim = 1, VideoPoolerAttentionDim = 2 };
        using var pooler = new VideoAttentionPooler(c);
        pooler.to(ScalarType.Float64);
        double[] w1 = [0.7, -0.4];                 // gate_down [1, 2]
        double[] w2 = [1.5, -2.0];                 // gate_up [2, 1]
        double[] wq = [0.3, 0.8, -0.5, 0.6];       // query [2, 2]
        double[] bq = [0.1, 0.2];
        double[] wk = [0.9, -0.2, 0.4, 0.7];       // key [2, 2]
        double[] bk = [-0.05, 0.3];
        double[] ws = [1.2, -0.9];                 // score [1, 2]
        const double bs = 0.15;
        Set(pooler, "gate_down.weight", w1);
        Set(pooler, "gate_up.weight", w2);
        Set(pooler, "query.weight", wq);
        Set(pooler, "query.bias", bq);
        Set(pooler, "key.weight", wk);
        Set(pooler, "key.bias", bk);
        Set(pooler, "score.weight", ws);
        Set(pooler, "score.bias", bs);

        const int segments = 2, cells = 4, ch = 2;
        var xs = new double[segments * cells * ch];
        for (var i = 0; i < xs.Length; i++) xs[i] = Math.Sin(1.7 * i + 0.3) * (1 + i % 3);
        var x = tensor(xs, dtype: ScalarType.Float64).reshape(1, segments, 2, 2, ch);
        var y = ToDoubles(pooler.call(x));
        var attention = pooler.Attention(x);
        Assert.Equal(new long[] { 1, segments, cells }, attention.shape);
        var alpha = ToDoubles(attention);

        for (var n = 0; n < segments; n++)
        {
            double X(int cell, int k) => xs[(n * cells + cell) * ch + k];
            var g = new double[ch];
            for (var k = 0; k < ch; k++) { for (var i = 0; i < cells; i++) g[k] += X(i, k); g[k] /= cells; }
            var hidden = Math.Max(0, w1[0] * g[0] + w1[1] * g[1]);
            var s = new[] { Sigmoid(w2[0] * hidden), Sigmoid(w2[1] * hidden) };
            var q = new[] { Math.Max(0, wq[0] * g[0] + wq[1] * g[1] + bq[0]), Math.Max(0, wq[2] * g[0] + wq[3] * g[1] + bq[1]) };
            var gated = new double[cells, ch];
            var e = new double[cells];
            for (var i = 0; i < cells; i++)
            {
                for (var k = 0; k < ch; k++) gated[i, k] = X(i, k) * s[k] + X(i, k);
                var k0 = Math.Max(0, wk[0] * gated[i, 0] + wk[1] * gated[i, 1] + bk[0]);
                var k1 = Math.Max(0, wk[2] * gated[i, 0] + wk[3] * gated[i, 1] + bk[1]);
                e[i] = Math.Tanh(ws[0] * k0 * q[0] + ws[1] * k1 * q[1] + bs);
            }
            var z = e.Sum(Math.Exp);
            for (var i = 0; i < cells; i++) Assert.Equal(Math.Exp(e[i]) / z, alpha[n * cells + i], 12);   // where it looks
            for (var k = 0; k < ch; k++)
            {
                var expected = 0.0;
                for (var i = 0; i < cells; i++) expected += Math.Exp(e[i]) / z * gated[i, k];
                Assert.Equal(expected, y[n * ch + k], 12);
            }
        }
    }

    [Fact]
    public void Paper_size_matches_the_reference_parameter_count()
    {
        using var pooler = new VideoAttentionPooler(UniCodeConfig.Paper);
        Assert.Equal(328_449, ParameterCount(pooler));
    }

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
}
