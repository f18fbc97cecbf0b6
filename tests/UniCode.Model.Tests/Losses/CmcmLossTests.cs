using UniCode.Model.Losses;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Losses;

/// <summary>CMCM against plain-double arithmetic on a 2×3 example.</summary>
public sealed class CmcmLossTests
{
    private static readonly double[,] A = { { 0.2, 0.3, 0.5 }, { 0.6, 0.1, 0.3 } };
    private static readonly double[,] B = { { 0.1, 0.7, 0.2 }, { 0.3, 0.3, 0.4 } };
    private static readonly double[,] C = { { 0.5, 0.25, 0.25 }, { 0.05, 0.05, 0.9 } };

    private static Tensor T(double[,] p) => tensor(p);

    // S[i,j] = Σ_k a[i,k]·ln(b[j,k]+1e-10) + Σ_k b[i,k]·ln(a[j,k]+1e-10); loss = mean_i −ln(e^S[i,i] / Σ_j e^S[i,j]).
    private static double Expected(double[,] a, double[,] b)
    {
        int n = a.GetLength(0), l = a.GetLength(1);
        var s = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                for (int k = 0; k < l; k++)
                    s[i, j] += a[i, k] * Math.Log(b[j, k] + 1e-10) + b[i, k] * Math.Log(a[j, k] + 1e-10);
        double loss = 0;
        for (int i = 0; i < n; i++)
        {
            double z = 0;
            for (int j = 0; j < n; j++) z += Math.Exp(s[i, j]);
            loss += -(s[i, i] - Math.Log(z));
        }
        return loss / n;
    }

    [Fact]
    public void Pair_matches_hand_arithmetic()
    {
        using var scope = NewDisposeScope();
        double expected = Expected(A, B);
        Assert.Equal(expected, Pair(A, B), 12);
        // A clip matched with itself scores its own row highest, so identical distributions give a loss below ln 2.
        Assert.True(Pair(A, A) < Math.Log(2));
        Assert.True(expected > 0);
    }

    [Fact]
    public void Pair_is_symmetric()
    {
        using var scope = NewDisposeScope();
        Assert.Equal(Pair(A, B), Pair(B, A), 12);
        Assert.Equal(Pair(A, C), Pair(C, A), 12);
    }

    [Fact]
    public void Compute_halves_the_sum_over_every_unordered_pair()
    {
        using var scope = NewDisposeScope();
        Assert.Equal(0.5 * Expected(A, B), CmcmLoss.Compute([T(A), T(B)]).item<double>(), 12);
        Assert.Equal(0.5 * (Expected(A, B) + Expected(A, C) + Expected(B, C)), CmcmLoss.Compute([T(A), T(B), T(C)]).item<double>(), 12);
        Assert.Throws<ArgumentException>(() => CmcmLoss.Compute([T(A)]));
        Assert.Throws<ArgumentException>(() => CmcmLoss.Pair(T(A), tensor(new double[,] { { 0.5, 0.5 }, { 0.5, 0.5 } })));
    }

    [Fact]
    public void Gradient_flows_to_both_distributions()
    {
        using var scope = NewDisposeScope();
        var a = T(A).requires_grad_(true);
        var b = T(B).requires_grad_(true);
        CmcmLoss.Pair(a, b).backward();
        Assert.True(a.grad!.abs().sum().item<double>() > 0);
        Assert.True(b.grad!.abs().sum().item<double>() > 0);
    }

    private static double Pair(double[,] a, double[,] b) => CmcmLoss.Pair(T(a), T(b)).item<double>();
}
