using TorchSharp;
using UniCode.Model.Config;
using UniCode.Model.Quantizer;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Quantizer;

/// <summary>Tiny quantizers with a hand-set state, and host copies for hand-computed assertions.</summary>
internal static class QuantizerKit
{
    /// <summary>
    /// A float64 config with L codes of width D; everything else at the reference defaults unless overridden, the
    /// reference's uniform codebook included (the hand-set states below must not be replaced by a data-drawn codebook).
    /// </summary>
    public static UniCodeConfig Tiny(ModalitySet modalities, int codes, int dim) => new()
    {
        CodebookInit = CodebookInit.Uniform,
        Modalities = modalities,
        CodebookSize = codes,
        CodeDim = dim,
        TrmHeads = 1,
        Precision = Precision.Float64,
    };

    public static Tensor Buffer(SharedCodebookQuantizer q, string name) =>
        q.named_buffers().Single(b => b.name == name).buffer;

    /// <summary>Sets embedding and ema_weight to <paramref name="codebook"/> (row-major [L,D]) and every ema_count to <paramref name="count"/>.</summary>
    public static void SetState(SharedCodebookQuantizer q, double[] codebook, double count)
    {
        using var _ = no_grad();
        var e = Buffer(q, "embedding");
        using var src = tensor(codebook, dtype: e.dtype).view(e.shape);
        e.copy_(src);
        Buffer(q, "ema_weight").copy_(src);
        Buffer(q, "ema_count").fill_(count);
    }

    /// <summary>[B,T,D] float64 tensor from row-major values.</summary>
    public static Tensor Z(double[] values, long b, long t, long d, bool requiresGrad = false) =>
        tensor(values, dtype: ScalarType.Float64).view(b, t, d).requires_grad_(requiresGrad);

    public static double[] Host(Tensor t) => t.detach().cpu().to(ScalarType.Float64).contiguous().data<double>().ToArray();

    public static long[] HostLong(Tensor t) => t.detach().cpu().to(ScalarType.Int64).contiguous().data<long>().ToArray();

    public static double Scalar(Tensor t) => t.detach().cpu().to(ScalarType.Float64).item<double>();

    public static void Near(double[] expected, double[] actual, double tolerance, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance,
                $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (tolerance {tolerance})");
    }

    /// <summary>Mean squared error of two equally long row-major arrays, in plain doubles.</summary>
    public static double Mse(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
        return s / a.Length;
    }

    /// <summary>Codes gathered by index from a row-major [L,D] codebook.</summary>
    public static double[] Gather(double[] codebook, int dim, params int[] indices) =>
        indices.SelectMany(k => codebook.Skip(k * dim).Take(dim)).ToArray();

    public static QuantizerOutput Run(SharedCodebookQuantizer q, params (Modality, Tensor)[] z) => q.Forward(z);
}
