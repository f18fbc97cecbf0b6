using TorchSharp;
using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Encoders;

/// <summary>
/// Tests that draw from libtorch's global generator (module init, randn, dropout) and compare runs or depend on
/// the drawn values: they run alone, since xunit would otherwise run other classes' draws on the same generator
/// concurrently.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchGlobalRngCollection
{
    public const string Name = "Torch global RNG";
}

/// <summary>Small configs and helpers shared by the encoder, decoder and DCID-loss tests.</summary>
internal static class ModuleTestKit
{
    /// <summary><see cref="UniCodeConfig.Small"/> with small input widths so every module builds and runs in milliseconds.</summary>
    public static UniCodeConfig Tiny(int grid = 5) => UniCodeConfig.Small with
    {
        Segments = 4,
        AudioInputDim = 8,
        VideoInputDim = 12,
        VideoGrid = grid,
        TextTokenDim = 10,
        TextLstmHidden = 6,
        CodeDim = 16,
        TrmHeads = 4,
        TrmFeedForwardDim = 24,
        VideoPoolerGateDim = 3,
        VideoPoolerAttentionDim = 8,
        AudioSpecificDim = 14,
        TextSpecificDim = 9,
        VideoSpecificWidth = 10,
        VideoSpecificMidWidth = 7,
        VideoClubHiddenDim = 6,
        VideoClubFeatureDim = 5,
        ClubHiddenDim = 8,
        CpcHiddenDim = 12,
    };

    public static long ParameterCount(nn.Module module) => module.parameters().Sum(p => p.numel());

    /// <summary>Overwrites a named parameter with the given values (row-major), keeping its shape and dtype.</summary>
    public static void Set(nn.Module module, string name, params double[] values)
    {
        var p = module.named_parameters().FirstOrDefault(kv => kv.name == name).parameter
            ?? throw new ArgumentException($"no parameter '{name}' in {module.GetName()}: {string.Join(", ", module.named_parameters().Select(kv => kv.name))}");
        if (p.numel() != values.Length) throw new ArgumentException($"parameter '{name}' has {p.numel()} values, got {values.Length}");
        using var _ = no_grad();
        using var v = tensor(values, dtype: p.dtype).reshape(p.shape);
        p.copy_(v);
    }

    public static Tensor Param(nn.Module module, string name) =>
        module.named_parameters().First(kv => kv.name == name).parameter;

    public static double[] ToDoubles(Tensor t)
    {
        using var d = t.detach().to(ScalarType.Float64).cpu().contiguous();
        return d.data<double>().ToArray();
    }

    public static void AssertClose(Tensor expected, Tensor actual, double atol, double rtol = 0)
    {
        Assert.Equal(expected.shape, actual.shape);
        var e = ToDoubles(expected);
        var a = ToDoubles(actual);
        for (var i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= atol + rtol * Math.Abs(e[i]), $"element {i}: expected {e[i]}, got {a[i]}");
    }
}
