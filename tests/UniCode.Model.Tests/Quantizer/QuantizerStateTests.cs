using TorchSharp;
using UniCode.Model.Config;
using UniCode.Model.Quantizer;
using static TorchSharp.torch;
using static UniCode.Model.Tests.Quantizer.QuantizerKit;

namespace UniCode.Model.Tests.Quantizer;

/// <summary>Buffers, initialisation, the inference path, usage counts, precision and input checks.</summary>
public sealed class QuantizerStateTests
{
    private static readonly double[] Codebook = [0, 0, 1, 0, 0, 1];
    private static readonly double[] Audio = [0.1, 0.1, 0.9, 0.2];   // → e0, e1
    private static readonly double[] Video = [0.2, 0.8, 1.0, 0.1];   // → e2, e1

    [Fact]
    public void Buffers_are_initialised_as_the_reference_does()
    {
        using var scope = NewDisposeScope();
        var q = new SharedCodebookQuantizer(UniCodeConfig.Small with { Modalities = ModalitySet.AudioVisualText });
        Assert.Equal(new[] { "embedding", "ema_weight", "ema_count", "unused", "usage", "usage_forwards", "initialised" }, q.named_buffers().Select(b => b.name));
        Assert.Empty(q.parameters());
        var e = Host(q.Codebook);
        Assert.Equal(new long[] { 128, 64 }, q.Codebook.shape);
        Assert.Equal(ScalarType.Float32, q.Codebook.dtype);
        Assert.All(e, x => Assert.InRange(x, -1.0 / 128, 1.0 / 128));
        Assert.True(e.Max() > 0.9 / 128 && e.Min() < -0.9 / 128, "U(−1/L, 1/L) should nearly fill its range over 8192 draws");
        Assert.Equal(e, Host(Buffer(q, "ema_weight")));
        Assert.Equal(new double[128], Host(Buffer(q, "ema_count")));
        Assert.Equal(new long[] { 3, 128 }, Buffer(q, "unused").shape);
        Assert.All(HostLong(Buffer(q, "unused")), c => Assert.Equal(-1L, c));
        Assert.All(HostLong(Buffer(q, "usage")), c => Assert.Equal(0L, c));
    }

    [Fact]
    public void Eval_forward_and_quantize_leave_every_buffer_unchanged()
    {
        using var scope = NewDisposeScope();
        var q = new SharedCodebookQuantizer(Tiny(ModalitySet.AudioVisual, 3, 2));
        SetState(q, Codebook, 1.0);
        Step(q);   // a training forward first, so the counters hold something
        var before = q.named_buffers().Select(b => (b.name, b.buffer.clone())).ToList();

        q.eval();
        var output = Step(q);
        var quantized = q.Quantize(Z(Audio, 1, 2, 2));
        q.train();
        var quantizedTrainMode = q.Quantize(Z(Video, 1, 2, 2));

        foreach (var (name, value) in before)
            Assert.True(value.eq(Buffer(q, name)).all().item<bool>(), $"buffer {name} changed");
        var codebook = Host(q.Codebook);
        Near(Gather(codebook, 2, 0, 1), Host(quantized), 1e-15, "Quantize(audio)");
        Near(Gather(codebook, 2, 2, 1), Host(quantizedTrainMode), 1e-15, "Quantize(video)");
        Assert.Equal(HostLong(output.Indices[Modality.Audio]), HostLong(q.NearestIndices(Z(Audio, 1, 2, 2))));
    }

    [Fact]
    public void Quantize_is_straight_through_and_nearest_indices_keep_the_leading_shape()
    {
        using var scope = NewDisposeScope();
        var q = new SharedCodebookQuantizer(Tiny(ModalitySet.AudioVisual, 3, 2));
        SetState(q, Codebook, 1.0);
        var z = Z([.. Audio, .. Video], 2, 2, 2, requiresGrad: true);
        q.Quantize(z).sum().backward();
        Near([1, 1, 1, 1, 1, 1, 1, 1], Host(z.grad!), 0, "∂/∂z");
        var indices = q.NearestIndices(Z([.. Audio, .. Video], 2, 2, 2));
        Assert.Equal(new long[] { 2, 2 }, indices.shape);
        Assert.Equal(ScalarType.Int64, indices.dtype);
        Assert.Equal(new long[] { 0, 1, 2, 1 }, HostLong(indices));
    }

    [Fact]
    public void Usage_counts_training_assignments_per_modality_until_reset()
    {
        using var scope = NewDisposeScope();
        var q = new SharedCodebookQuantizer(Tiny(ModalitySet.AudioVisual, 3, 2));
        SetState(q, Codebook, 1.0);
        Step(q);
        Step(q);
        q.eval();
        Step(q);   // not counted
        var usage = q.Usage();
        Assert.Equal(2, usage.Forwards);
        Assert.Equal(new long[] { 2, 2, 0 }, usage.Counts[Modality.Audio]);
        Assert.Equal(new long[] { 0, 2, 2 }, usage.Counts[Modality.Video]);
        Assert.Equal(3, usage.CodebookSize);
        Assert.Equal(2, usage.CodesUsedBy(Modality.Audio));
        Assert.Equal(1, usage.CodesUsedOnlyBy(Modality.Audio));   // e0
        Assert.Equal(1, usage.CodesUsedOnlyBy(Modality.Video));   // e2
        Assert.Equal(1, usage.CodesUsedByAll());                  // e1
        Assert.Equal(0, usage.CodesUsedByNone());

        q.ResetUsage();
        var cleared = q.Usage();
        Assert.Equal(0, cleared.Forwards);
        Assert.Equal(new long[3], cleared.Counts[Modality.Audio]);
        Assert.Equal(3, cleared.CodesUsedByNone());
    }

    [Fact]
    public void Float64_after_to_converts_float_buffers_and_keeps_counters_int64()
    {
        using var scope = NewDisposeScope();
        var config = Tiny(ModalitySet.AudioVisual, 3, 2) with { Precision = Precision.Float32 };
        var q = new SharedCodebookQuantizer(config);
        var initial = Host(q.Codebook);
        Assert.Equal(ScalarType.Float32, q.Codebook.dtype);
        q.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, q.Codebook.dtype);
        Assert.Equal(ScalarType.Float64, Buffer(q, "ema_weight").dtype);
        Assert.Equal(ScalarType.Float64, Buffer(q, "ema_count").dtype);
        Assert.Equal(ScalarType.Int64, Buffer(q, "unused").dtype);
        Assert.Equal(ScalarType.Int64, Buffer(q, "usage").dtype);
        Assert.Equal(initial, Host(q.Codebook));

        SetState(q, Codebook, 1.0);
        var output = Step(q);
        Assert.Equal(ScalarType.Float64, output.Quantized[Modality.Audio].dtype);
        Assert.Equal(ScalarType.Float64, output.CodeProbabilities[Modality.Audio].dtype);
        Assert.Equal(0.5 * 0.0175 + 0.25 * 0.2175, Scalar(output.Commitment[Modality.Audio]), 12);
        Assert.Equal(new long[] { 1, 2, 1 }, q.Usage().Counts[Modality.Audio].Zip(q.Usage().Counts[Modality.Video], (a, v) => a + v).ToArray());

        // The same codebook as a quantizer built in float64 from the same seed (both drawn in float64, rounded to float32 first here).
        var native = new SharedCodebookQuantizer(config with { Precision = Precision.Float64 });
        Near(Host(native.Codebook), initial, 1e-7, "float64 init");
    }

    [Fact]
    public void Float32_quantizer_runs_the_same_example()
    {
        using var scope = NewDisposeScope();
        var q = new SharedCodebookQuantizer(Tiny(ModalitySet.AudioVisual, 3, 2) with { Precision = Precision.Float32 });
        SetState(q, Codebook, 1.0);
        var output = q.Forward([(Modality.Audio, Z(Audio, 1, 2, 2).to(ScalarType.Float32)), (Modality.Video, Z(Video, 1, 2, 2).to(ScalarType.Float32))]);
        Assert.Equal(ScalarType.Float32, output.Commitment[Modality.Audio].dtype);
        Assert.Equal(0.5 * 0.0175 + 0.25 * 0.2175, Scalar(output.Commitment[Modality.Audio]), 6);
    }

    [Fact]
    public void Bad_inputs_are_rejected_with_the_expected_value()
    {
        using var scope = NewDisposeScope();
        var q = new SharedCodebookQuantizer(Tiny(ModalitySet.AudioVisual, 3, 2));
        var za = Z(Audio, 1, 2, 2);
        var zv = Z(Video, 1, 2, 2);
        Assert.Contains("expected Audio", Assert.Throws<ArgumentException>(() => q.Forward([(Modality.Video, zv), (Modality.Audio, za)])).Message);
        Assert.Contains("expected 2 (Audio, Video)", Assert.Throws<ArgumentException>(() => q.Forward([(Modality.Audio, za)])).Message);
        Assert.Contains("CodeDim=2", Assert.Throws<ArgumentException>(() => q.Forward([(Modality.Audio, za), (Modality.Video, zeros(1, 2, 3, dtype: ScalarType.Float64))])).Message);
        Assert.Contains("[1,2,2] like z[0]", Assert.Throws<ArgumentException>(() => q.Forward([(Modality.Audio, za), (Modality.Video, zeros(1, 3, 2, dtype: ScalarType.Float64))])).Message);
        Assert.Contains("expected Float64", Assert.Throws<ArgumentException>(() => q.Quantize(za.to(ScalarType.Float32))).Message);
    }

    private static QuantizerOutput Step(SharedCodebookQuantizer q) =>
        Run(q, (Modality.Audio, Z(Audio, 1, 2, 2)), (Modality.Video, Z(Video, 1, 2, 2)));
}
