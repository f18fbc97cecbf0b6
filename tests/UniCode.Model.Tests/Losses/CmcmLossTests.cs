using UniCode.Model.Config;
using UniCode.Model.Losses;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Losses;

/// <summary>
/// CMCM against plain-double arithmetic: the reference form (default) with its analytic gradient on a 3×4
/// example, the log-softmax option on the old 2×3 numbers, and the size of the gap between the two.
/// </summary>
public sealed class CmcmLossTests
{
    private const double LogGuard = 1e-10;
    private const double RowSumGuard = 1e-5;

    private static readonly double[,] A = { { 0.2, 0.3, 0.5 }, { 0.6, 0.1, 0.3 } };
    private static readonly double[,] B = { { 0.1, 0.7, 0.2 }, { 0.3, 0.3, 0.4 } };
    private static readonly double[,] C = { { 0.5, 0.25, 0.25 }, { 0.05, 0.05, 0.9 } };

    // B=3, L=4; S's minimum is S[0,1] ≈ −3.5496, unique (next smallest S[1,0] ≈ −3.4438).
    private static readonly double[,] X = { { 0.1, 0.2, 0.3, 0.4 }, { 0.5, 0.2, 0.2, 0.1 }, { 0.25, 0.25, 0.4, 0.1 } };
    private static readonly double[,] Y = { { 0.2, 0.1, 0.3, 0.4 }, { 0.6, 0.1, 0.1, 0.2 }, { 0.3, 0.3, 0.3, 0.1 } };

    private static Tensor T(double[,] p) => tensor(p);

    // S[i,j] = Σ_k a[i,k]·ln(b[j,k]+1e-10) + Σ_k b[i,k]·ln(a[j,k]+1e-10).
    private static double[,] Scores(double[,] a, double[,] b)
    {
        int n = a.GetLength(0), l = a.GetLength(1);
        var s = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                for (int k = 0; k < l; k++)
                    s[i, j] += a[i, k] * Math.Log(b[j, k] + LogGuard) + b[i, k] * Math.Log(a[j, k] + LogGuard);
        return s;
    }

    private static (double Min, int Row, int Col, double Gap) Minimum(double[,] s)
    {
        int n = s.GetLength(0);
        var flat = new List<(double V, int I, int J)>();
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) flat.Add((s[i, j], i, j));
        var sorted = flat.OrderBy(x => x.V).ToList();
        return (sorted[0].V, sorted[0].I, sorted[0].J, sorted[1].V - sorted[0].V);
    }

    // Reference: Ê = exp(S − min S); loss = (1/B) Σ_i −ln(Ê_ii / (Σ_j Ê_ij + 1e-5)).
    private static double ExpectedReference(double[,] a, double[,] b)
    {
        var s = Scores(a, b);
        int n = s.GetLength(0);
        double m = Minimum(s).Min, loss = 0;
        for (int i = 0; i < n; i++)
        {
            double z = 0;
            for (int j = 0; j < n; j++) z += Math.Exp(s[i, j] - m);
            loss += -Math.Log(Math.Exp(s[i, i] - m) / (z + RowSumGuard));
        }
        return loss / n;
    }

    // The old formula: loss = mean_i −ln(e^S[i,i] / Σ_j e^S[i,j]).
    private static double ExpectedLogSoftmax(double[,] a, double[,] b)
    {
        var s = Scores(a, b);
        int n = s.GetLength(0);
        double loss = 0;
        for (int i = 0; i < n; i++)
        {
            double z = 0;
            for (int j = 0; j < n; j++) z += Math.Exp(s[i, j]);
            loss += -(s[i, i] - Math.Log(z));
        }
        return loss / n;
    }

    // Analytic gradient of the reference form w.r.t. a and b.
    // With Z_i = Σ_j Ê_ij and m = min S: L = (1/B) Σ_i [ −(S_ii − m) + ln(Z_i + δ) ], so
    //   ∂L/∂S_ij (m held fixed) = (1/B)·(Ê_ij / (Z_i + δ) − [i = j]),
    //   ∂L/∂m = (1/B) Σ_i (1 − Z_i / (Z_i + δ)) = (1/B) Σ_i δ / (Z_i + δ), and m depends only on S at its argmin,
    // so G = ∂L/∂S gets ∂L/∂m added at the argmin entry. Then with ∂S_ij/∂a_pk = [i = p]·ln(b_jk + ε) + [j = p]·b_ik/(a_pk + ε)
    // and ∂S_ij/∂b_pk = [j = p]·a_ik/(b_pk + ε) + [i = p]·ln(a_jk + ε):
    //   ∂L/∂a_pk = Σ_j G_pj·ln(b_jk + ε) + Σ_i G_ip·b_ik/(a_pk + ε),
    //   ∂L/∂b_pk = Σ_i G_ip·a_ik/(b_pk + ε) + Σ_j G_pj·ln(a_jk + ε).
    private static (double[,] GradA, double[,] GradB) ExpectedReferenceGradient(double[,] a, double[,] b)
    {
        var s = Scores(a, b);
        int n = a.GetLength(0), l = a.GetLength(1);
        var (m, mi, mj, _) = Minimum(s);
        var g = new double[n, n];
        double dm = 0;
        for (int i = 0; i < n; i++)
        {
            double z = 0;
            for (int j = 0; j < n; j++) z += Math.Exp(s[i, j] - m);
            for (int j = 0; j < n; j++) g[i, j] = (Math.Exp(s[i, j] - m) / (z + RowSumGuard) - (i == j ? 1 : 0)) / n;
            dm += RowSumGuard / (z + RowSumGuard) / n;
        }
        g[mi, mj] += dm;
        var ga = new double[n, l];
        var gb = new double[n, l];
        for (int p = 0; p < n; p++)
            for (int k = 0; k < l; k++)
                for (int q = 0; q < n; q++)
                {
                    ga[p, k] += g[p, q] * Math.Log(b[q, k] + LogGuard) + g[q, p] * b[q, k] / (a[p, k] + LogGuard);
                    gb[p, k] += g[q, p] * a[q, k] / (b[p, k] + LogGuard) + g[p, q] * Math.Log(a[q, k] + LogGuard);
                }
        return (ga, gb);
    }

    private static void Near(double[,] expected, Tensor actual, double tolerance, string what)
    {
        var got = actual.detach().cpu().contiguous().data<double>().ToArray();
        var want = expected.Cast<double>().ToArray();
        Assert.Equal(want.Length, got.Length);
        for (int i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= tolerance, $"{what}[{i}]: expected {want[i]:R}, got {got[i]:R} (tolerance {tolerance})");
    }

    [Fact]
    public void Reference_form_and_its_gradient_match_hand_arithmetic_to_1e_12()
    {
        using var scope = NewDisposeScope();
        var (_, row, col, gap) = Minimum(Scores(X, Y));
        Assert.Equal((0, 1), (row, col));
        Assert.True(gap > 0.1, $"min S must be unique for the argmin gradient; gap {gap}");

        var x = T(X).requires_grad_(true);
        var y = T(Y).requires_grad_(true);
        var loss = CmcmLoss.Pair(x, y);   // the default form is the reference's
        Assert.Equal(ExpectedReference(X, Y), loss.item<double>(), 12);
        loss.backward();
        var (ga, gb) = ExpectedReferenceGradient(X, Y);
        Near(ga, x.grad!, 1e-12, "∂L/∂P_x");
        Near(gb, y.grad!, 1e-12, "∂L/∂P_y");

        // The path through min S is small (δ/(Z+δ) ≈ 1e-6) but above the tolerance: leaving it out must fail.
        var xs = T(X).requires_grad_(true);
        var ys = T(Y).requires_grad_(true);
        var s = xs.matmul(ys.add(LogGuard).log().t()).add(ys.matmul(xs.add(LogGuard).log().t()));
        var e = s.sub(s.min().detach()).exp();
        e.diagonal().div(e.sum(1).add(RowSumGuard)).log().mean().neg().backward();
        var detachedGap = xs.grad!.sub(x.grad!).abs().max().item<double>();
        Assert.True(detachedGap > 1e-8, $"a detached shift changes ∂L/∂P_x by only {detachedGap}");
    }

    [Fact]
    public void Log_softmax_option_gives_the_old_numbers()
    {
        using var scope = NewDisposeScope();
        Assert.Equal(ExpectedLogSoftmax(A, B), Pair(A, B, CmcmForm.LogSoftmax), 12);
        Assert.Equal(ExpectedLogSoftmax(X, Y), Pair(X, Y, CmcmForm.LogSoftmax), 12);
        // The old implementation verbatim.
        var s = T(A).matmul(T(B).add(LogGuard).log().t()).add(T(B).matmul(T(A).add(LogGuard).log().t()));
        var old = TorchSharp.torch.nn.functional.log_softmax(s, 1).diagonal().mean().neg().item<double>();
        Assert.Equal(old, Pair(A, B, CmcmForm.LogSoftmax), 15);
        Assert.Equal(0.5 * ExpectedLogSoftmax(A, B), CmcmLoss.Compute([T(A), T(B)], CmcmForm.LogSoftmax).item<double>(), 12);
    }

    [Fact]
    public void The_two_forms_differ_only_by_the_row_sum_guard()
    {
        using var scope = NewDisposeScope();
        // Reference − LogSoftmax = (1/B) Σ_i ln(1 + 1e-5/Z_i) with Z_i = Σ_j exp(S_ij − min S) ≥ B (every term ≥ 1),
        // so 0 < gap < 1e-5/B. Measured (float64): X,Y 1.8998e-6; A,B 3.6358e-6; A,C 2.0068e-6; B,C 2.9321e-6.
        // At the paper's B = 80 the gap is below 1.25e-7.
        foreach (var (a, b, measured) in new[] { (X, Y, 1.8998e-6), (A, B, 3.6358e-6), (A, C, 2.0068e-6), (B, C, 2.9321e-6) })
        {
            double gap = Pair(a, b) - Pair(a, b, CmcmForm.LogSoftmax);
            Assert.Equal(measured, gap, 10);
            Assert.True(gap > 0 && gap < RowSumGuard / a.GetLength(0), $"gap {gap:R}");
        }
    }

    [Fact]
    public void Both_forms_are_symmetric()
    {
        using var scope = NewDisposeScope();
        foreach (var form in Enum.GetValues<CmcmForm>())
        {
            Assert.Equal(Pair(A, B, form), Pair(B, A, form), 12);
            Assert.Equal(Pair(A, C, form), Pair(C, A, form), 12);
            Assert.Equal(Pair(X, Y, form), Pair(Y, X, form), 12);
        }
    }

    [Fact]
    public void Pair_matches_hand_arithmetic_on_the_2x3_example()
    {
        using var scope = NewDisposeScope();
        double expected = ExpectedReference(A, B);
        Assert.Equal(expected, Pair(A, B), 12);
        // A clip matched with itself scores its own row highest, so identical distributions give a loss below ln 2.
        Assert.True(Pair(A, A) < Math.Log(2));
        Assert.True(expected > 0);
    }

    [Fact]
    public void Compute_halves_the_sum_over_every_unordered_pair()
    {
        using var scope = NewDisposeScope();
        Assert.Equal(0.5 * ExpectedReference(A, B), CmcmLoss.Compute([T(A), T(B)]).item<double>(), 12);
        Assert.Equal(0.5 * (ExpectedReference(A, B) + ExpectedReference(A, C) + ExpectedReference(B, C)), CmcmLoss.Compute([T(A), T(B), T(C)]).item<double>(), 12);
        Assert.Equal(0.5 * (ExpectedLogSoftmax(A, B) + ExpectedLogSoftmax(A, C) + ExpectedLogSoftmax(B, C)),
            CmcmLoss.Compute([T(A), T(B), T(C)], CmcmForm.LogSoftmax).item<double>(), 12);
        Assert.Throws<ArgumentException>(() => CmcmLoss.Compute([T(A)]));
        Assert.Throws<ArgumentException>(() => CmcmLoss.Pair(T(A), tensor(new double[,] { { 0.5, 0.5 }, { 0.5, 0.5 } })));
        Assert.Throws<ArgumentOutOfRangeException>(() => CmcmLoss.Pair(T(A), T(B), (CmcmForm)7));
    }

    [Fact]
    public void Gradient_flows_to_both_distributions()
    {
        using var scope = NewDisposeScope();
        foreach (var form in Enum.GetValues<CmcmForm>())
        {
            var a = T(A).requires_grad_(true);
            var b = T(B).requires_grad_(true);
            CmcmLoss.Pair(a, b, form).backward();
            Assert.True(a.grad!.abs().sum().item<double>() > 0);
            Assert.True(b.grad!.abs().sum().item<double>() > 0);
        }
    }

    private static double Pair(double[,] a, double[,] b, CmcmForm form = CmcmForm.Reference) => CmcmLoss.Pair(T(a), T(b), form).item<double>();
}
