using TorchSharp;
using UniCode.Model.Config;
using UniCode.Model.Losses;
using static TorchSharp.torch;
using UniCode.Model.Tests.Encoders;
using static UniCode.Model.Tests.Encoders.ModuleTestKit;

namespace UniCode.Model.Tests.Losses;

[Collection(TorchGlobalRngCollection.Name)]
public class ClubTests
{
    /// <summary>x, y one-dimensional, inner width 2, with μ(x) = x + 0.5 and logvar(x) = 0.5 exactly.</summary>
    private static Club HandSet(ScalarType dtype = ScalarType.Float32)
    {
        var club = new Club("club", 1, 1, UniCodeConfig.Small with { ClubHiddenDim = 4 });
        club.to(dtype);
        // μ: ReLU(x), ReLU(−x) → identity → identity → ReLU(x) − ReLU(−x) + 0.5
        Set(club, "mu.0.weight", 1, -1); Set(club, "mu.0.bias", 0, 0);
        Set(club, "mu.2.weight", 1, 0, 0, 1); Set(club, "mu.2.bias", 0, 0);
        Set(club, "mu.4.weight", 1, 0, 0, 1); Set(club, "mu.4.bias", 0, 0);
        Set(club, "mu.6.weight", 1, -1); Set(club, "mu.6.bias", 0.5);
        // logvar: constant tanh(atanh 0.5) = 0.5
        foreach (var (name, p) in club.named_parameters().Where(kv => kv.name.StartsWith("logvar.")).ToList())
            Set(club, name, new double[p.numel()]);
        Set(club, "logvar.6.bias", Math.Atanh(0.5));
        return club;
    }

    [Fact]
    public void Log_likelihood_matches_a_hand_computation()
    {
        using var scope = NewDisposeScope();
        using var club = HandSet();
        var x = tensor(new float[] { 0, 1, -2 }).reshape(3, 1);
        var y = tensor(new float[] { 1, 1, 0 }).reshape(3, 1);
        // μ = 0.5, 1.5, −1.5; (μ − y)² = 0.25, 0.25, 2.25
        var expected = (-(0.25 + 0.25 + 2.25) / 3 / Math.Exp(0.5) - 0.5) / 2;
        Assert.Equal(expected, club.LogLikelihood(x, y).item<float>(), 5);
        Assert.Equal(-expected, club.LearningLoss(x, y).item<float>(), 5);
        // [B, T, d] rows flatten to the same mean.
        Assert.Equal(expected, club.LogLikelihood(x.reshape(1, 3, 1), y.reshape(1, 3, 1)).item<float>(), 5);
    }

    [Fact]
    public void Mutual_information_matches_a_hand_computation_with_the_drawn_permutation()
    {
        using var scope = NewDisposeScope();
        using var club = HandSet(ScalarType.Float64);
        const int b = 4, t = 2;
        double[] xs = [0.3, -1.0, 2.0, 0.5, -0.7, 1.2, 0.0, -2.5];
        double[] ys = [1.0, 0.2, -0.4, 2.2, 0.9, -1.1, 0.6, 0.1];
        var x = tensor(xs, dtype: ScalarType.Float64).reshape(b, t, 1);
        var y = tensor(ys, dtype: ScalarType.Float64).reshape(b, t, 1);

        using var generator = new Generator(123);
        var mi = club.MutualInformation(x, y, generator).item<double>();
        using var again = new Generator(123);
        var perm = randperm(b, generator: again).data<long>().ToArray();

        double Pos(int i, int j)   // −mean_t (μ(x_i,t) − y_j,t)² / exp(mean_t logvar) with logvar ≡ 0.5
        {
            var s = 0.0;
            for (var k = 0; k < t; k++) s += Math.Pow(xs[i * t + k] + 0.5 - ys[j * t + k], 2);
            return -(s / t) / Math.Exp(0.5);
        }
        var expected = 0.0;
        for (var i = 0; i < b; i++) expected += Pos(i, i) - Pos(i, (int)perm[i]);
        expected /= 2 * b;
        Assert.Equal(expected, mi, 12);
        Assert.NotEqual(0, expected, 6);   // the drawn permutation is not the identity
    }

    [Fact]
    public void Gradients_of_the_estimate_reach_x_and_y()
    {
        using var scope = NewDisposeScope();
        manual_seed(12);
        using var club = new Club("club", 3, 2, UniCodeConfig.Small with { ClubHiddenDim = 8 });
        var x = randn(4, 3, 3).requires_grad_();
        var y = randn(4, 3, 2).requires_grad_();
        club.MutualInformation(x, y).backward();
        Assert.True(x.grad!.abs().sum().item<float>() > 0);
        Assert.True(y.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Fitted_estimate_is_near_zero_for_independent_and_clearly_positive_for_dependent_pairs()
    {
        manual_seed(13);
        var independent = FitAndEstimate(dependent: false);
        manual_seed(13);
        var dependent = FitAndEstimate(dependent: true);
        Assert.True(Math.Abs(independent) < 0.15, $"independent x, y: I = {independent}");
        Assert.True(dependent > 5, $"y = xA + noise: I = {dependent}");
    }

    private static double FitAndEstimate(bool dependent)
    {
        const int dim = 4, t = 4;
        using var outer = NewDisposeScope();
        var a = randn(dim, dim);
        using var club = new Club("club", dim, dim, UniCodeConfig.Small with { ClubHiddenDim = 32 });
        using var optimizer = optim.Adam(club.parameters(), lr: 5e-3);
        (Tensor X, Tensor Y) Sample(int batch)
        {
            var x = randn(batch, t, dim);
            var y = dependent ? x.matmul(a) + 0.1 * randn(batch, t, dim) : randn(batch, t, dim);
            return (x, y);
        }
        for (var step = 0; step < 300; step++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = Sample(128);
            optimizer.zero_grad();
            club.LearningLoss(x, y).backward();
            optimizer.step();
        }
        using var _ = no_grad();
        var (xe, ye) = Sample(2048);
        return club.MutualInformation(xe, ye).item<float>();
    }

    [Fact]
    public void Same_generator_seed_gives_the_same_estimate()
    {
        using var scope = NewDisposeScope();
        manual_seed(14);
        using var club = new Club("club", 3, 2, UniCodeConfig.Small with { ClubHiddenDim = 8 });
        var x = randn(16, 3, 3);
        var y = randn(16, 3, 2);
        using var g1 = new Generator(5);
        using var g2 = new Generator(5);
        Assert.Equal(club.MutualInformation(x, y, g1).item<float>(), club.MutualInformation(x, y, g2).item<float>());
    }

    [Fact]
    public void Paper_sizes_match_the_reference_parameter_counts()
    {
        var c = UniCodeConfig.Paper;
        using (var audio = new Club("audio", c.CodeDim, c.AudioSpecificDim, c)) Assert.Equal(197_888, ParameterCount(audio));
        using (var video = new Club("video", c.CodeDim, c.VideoClubFeatureDim, c)) Assert.Equal(263_936, ParameterCount(video));
    }
}
