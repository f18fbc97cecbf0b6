using UniCode.Model.Config;
using UniCode.Model.Quantizer;
using static TorchSharp.torch;
using static UniCode.Model.Tests.Quantizer.QuantizerKit;

namespace UniCode.Model.Tests.Quantizer;

/// <summary>The code reset: per-modality counters, the any/all rule, sources among active codes, noise width.</summary>
public sealed class CodeResetTests
{
    private const double Noise = 0.01;
    // e0=(0,0) is chosen by both modalities, e1=(1,0) by audio only, e2=(0,1) by video only, e3=(3,3) by none.
    private static readonly double[] Codebook = [0, 0, 1, 0, 0, 1, 3, 3];
    private static readonly double[] Audio = [0, 0, 0.9, 0];      // → e0, e1
    private static readonly double[] Video = [0.05, 0, 0, 0.9];   // → e0, e2

    // Reset after more than 2 unused forwards; "active" = used in the current forward.
    private static SharedCodebookQuantizer Make(ResetRule rule, bool reset = true, double[]? codebook = null, bool countInEval = false)
    {
        var config = Tiny(ModalitySet.AudioVisual, 4, 2) with
        {
            ResetRule = rule, UseCodeReset = reset, ResetAfterForwards = 2, ResetActiveWindow = 1, ResetNoise = Noise,
            CountUnusedInEval = countInEval,
        };
        var q = new SharedCodebookQuantizer(config);
        SetState(q, codebook ?? Codebook, 1.0);
        return q;
    }

    private static QuantizerOutput Step(SharedCodebookQuantizer q, double[]? audio = null, double[]? video = null)
    {
        audio ??= Audio;
        video ??= Video;
        long t = audio.Length / 2;
        return Run(q, (Modality.Audio, Z(audio, 1, t, 2)), (Modality.Video, Z(video, 1, t, 2)));
    }

    [Fact]
    public void Counters_start_at_minus_one_count_forwards_per_modality_and_zero_on_use()
    {
        using var scope = NewDisposeScope();
        var q = Make(ResetRule.AnyModality);
        Assert.Equal(Enumerable.Repeat(-1L, 8), HostLong(Buffer(q, "unused")));
        var output = Step(q);
        Assert.Equal(new long[] { 0, 1 }, HostLong(output.Indices[Modality.Audio]));
        Assert.Equal(new long[] { 0, 2 }, HostLong(output.Indices[Modality.Video]));
        Assert.Equal(new long[8], HostLong(Buffer(q, "unused")));   // −1 → 0 everywhere: every code counts as active
        Step(q);
        Assert.Equal(new long[] { 0, 0, 1, 1, /* video */ 0, 1, 0, 1 }, HostLong(Buffer(q, "unused")));
    }

    [Fact]
    public void Any_modality_rule_resets_only_the_code_no_modality_uses()
    {
        using var scope = NewDisposeScope();
        var q = Make(ResetRule.AnyModality);
        var twin = Make(ResetRule.AnyModality, reset: false);
        for (int i = 0; i < 3; i++)
        {
            Step(q);
            Step(twin);
            Assert.Equal(Host(twin.Codebook), Host(q.Codebook));   // counters 0..2: nothing due yet
        }
        Step(q);
        Step(twin);
        // Fourth forward: e3's counter reaches 3 > 2 in both modalities. e1 and e2 each stay in use by one modality.
        Assert.Equal(new long[] { 0, 0, 3, 0, /* video */ 0, 3, 0, 0 }, HostLong(Buffer(q, "unused")));
        var reset = Host(q.Codebook);
        var plain = Host(twin.Codebook);
        Assert.Equal(plain[..6], reset[..6]);
        AssertNearOneOf(reset[6..8], [plain[0..2], plain[2..4], plain[4..6]]);
    }

    [Fact]
    public void All_modalities_rule_also_resets_codes_used_by_one_modality_from_shared_codes_only()
    {
        using var scope = NewDisposeScope();
        var q = Make(ResetRule.AllModalities);
        var twin = Make(ResetRule.AllModalities, reset: false);
        for (int i = 0; i < 4; i++)
        {
            Step(q);
            Step(twin);
        }
        Assert.Equal(new long[8], HostLong(Buffer(q, "unused")));   // e1, e2, e3 reset: all their counters zeroed
        var reset = Host(q.Codebook);
        var plain = Host(twin.Codebook);
        Assert.Equal(plain[..2], reset[..2]);
        // e0 is the only code both modalities use, so it is the only source.
        for (int k = 1; k < 4; k++)
            AssertNearOneOf(reset[(2 * k)..(2 * k + 2)], [plain[0..2]]);
    }

    [Fact]
    public void Nothing_is_reset_when_no_code_is_active()
    {
        using var scope = NewDisposeScope();
        // T=1: audio → e0 only, video → e1 only, so under the all-modalities rule no code is ever active.
        var q = Make(ResetRule.AllModalities);
        var twin = Make(ResetRule.AllModalities, reset: false);
        for (int i = 0; i < 4; i++)
        {
            Step(q, [0, 0], [0.9, 0]);
            Step(twin, [0, 0], [0.9, 0]);
        }
        Assert.Equal(Host(twin.Codebook), Host(q.Codebook));
        Assert.Equal(new long[] { 0, 3, 3, 3, /* video */ 3, 0, 3, 3 }, HostLong(Buffer(q, "unused")));
    }

    [Fact]
    public void Reset_leaves_ema_statistics_alone()
    {
        using var scope = NewDisposeScope();
        var q = Make(ResetRule.AnyModality);
        var twin = Make(ResetRule.AnyModality, reset: false);
        for (int i = 0; i < 4; i++)
        {
            Step(q);
            Step(twin);
        }
        Assert.NotEqual(Host(twin.Codebook), Host(q.Codebook));
        Assert.Equal(Host(Buffer(twin, "ema_weight")), Host(Buffer(q, "ema_weight")));
        Assert.Equal(Host(Buffer(twin, "ema_count")), Host(Buffer(q, "ema_count")));
    }

    [Fact]
    public void Same_seed_gives_identical_quantizers_through_resets_and_another_seed_does_not()
    {
        using var scope = NewDisposeScope();
        var config = Tiny(ModalitySet.AudioVisual, 8, 4) with { ResetAfterForwards = 2, ResetActiveWindow = 1, Seed = 7 };
        var a = new SharedCodebookQuantizer(config);
        var b = new SharedCodebookQuantizer(config);
        var c = new SharedCodebookQuantizer(config with { Seed = 8 });
        var noReset = new SharedCodebookQuantizer(config with { UseCodeReset = false });
        Assert.NotEqual(Host(a.Codebook), Host(c.Codebook));
        var g = new Generator(3);
        var za = randn(2, 3, 4, dtype: ScalarType.Float64, generator: g).mul(0.1);
        var zv = randn(2, 3, 4, dtype: ScalarType.Float64, generator: g).mul(0.1);
        for (int i = 0; i < 6; i++)
        {
            var oa = Run(a, (Modality.Audio, za), (Modality.Video, zv));
            var ob = Run(b, (Modality.Audio, za), (Modality.Video, zv));
            Run(noReset, (Modality.Audio, za), (Modality.Video, zv));
            foreach (var m in new[] { Modality.Audio, Modality.Video })
            {
                Assert.Equal(HostLong(oa.Indices[m]), HostLong(ob.Indices[m]));
                Assert.Equal(Host(oa.Quantized[m]), Host(ob.Quantized[m]));
                Assert.Equal(Host(oa.Commitment[m]), Host(ob.Commitment[m]));
            }
            foreach (var ((name, x), (_, y)) in a.named_buffers().Zip(b.named_buffers()))
                Assert.True(x.eq(y).all().item<bool>(), $"buffer {name} differs after forward {i + 1}");
        }
        Assert.NotEqual(Host(noReset.Codebook), Host(a.Codebook));   // a reset did happen along the way
    }

    private static Dictionary<string, double[]> Buffers(SharedCodebookQuantizer q) =>
        q.named_buffers().ToDictionary(b => b.name, b => Host(b.buffer));

    [Fact]
    public void By_default_an_eval_forward_changes_no_buffer()
    {
        using var scope = NewDisposeScope();
        foreach (var countInEval in new[] { false, true })
        {
            // The option needs code reset on; without it eval stays frozen too.
            var q = Make(ResetRule.AnyModality, reset: !countInEval, countInEval: countInEval);
            q.eval();
            var before = Buffers(q);
            for (int i = 0; i < 5; i++) Step(q);   // past ResetAfterForwards: a counting quantizer would have reset e3
            var after = Buffers(q);
            Assert.Equal(before.Keys, after.Keys);
            Assert.Contains("unused", after.Keys);
            foreach (var (name, value) in before)
                Assert.True(value.SequenceEqual(after[name]), $"buffer {name} changed in eval mode (CountUnusedInEval={countInEval})");
        }
    }

    [Fact]
    public void With_count_unused_in_eval_the_counters_advance_and_a_due_code_is_reset_without_ema()
    {
        using var scope = NewDisposeScope();
        var q = Make(ResetRule.AnyModality, countInEval: true);
        q.eval();
        var before = Buffers(q);
        Step(q);
        Assert.Equal(new long[8], HostLong(Buffer(q, "unused")));   // −1 → 0 everywhere, as in training
        Step(q);
        Assert.Equal(new long[] { 0, 0, 1, 1, /* video */ 0, 1, 0, 1 }, HostLong(Buffer(q, "unused")));
        Step(q);
        Assert.Equal(Codebook, Host(q.Codebook));   // counters at 2: nothing due yet, and no EMA moved a code
        var za = Z(Audio, 1, 2, 2, requiresGrad: true);
        var output = Run(q, (Modality.Audio, za), (Modality.Video, Z(Video, 1, 2, 2)));
        // Fourth forward: e3's counter reaches 3 > 2 in both modalities, so it is reset and its counters zeroed.
        Assert.Equal(new long[] { 0, 0, 3, 0, /* video */ 0, 3, 0, 0 }, HostLong(Buffer(q, "unused")));
        var reset = Host(q.Codebook);
        Assert.Equal(Codebook[..6], reset[..6]);
        AssertNearOneOf(reset[6..8], [Codebook[0..2], Codebook[2..4], Codebook[4..6]]);
        // Eval never touches the EMA statistics or the usage counters.
        foreach (var name in new[] { "ema_weight", "ema_count", "usage", "usage_forwards" })
            Assert.True(before[name].SequenceEqual(Host(Buffer(q, name))), $"buffer {name} changed in eval mode");
        // Unlike the reference, the graph holds its own copy of the codebook: backward after an in-place reset works.
        output.Quantized[Modality.Audio].pow(2).sum().add(output.Commitment[Modality.Audio]).backward();
        Assert.All(Host(za.grad!), g => Assert.True(double.IsFinite(g)));
    }

    [Fact]
    public void Count_unused_in_eval_does_not_change_training()
    {
        using var scope = NewDisposeScope();
        var q = Make(ResetRule.AnyModality, countInEval: true);
        var twin = Make(ResetRule.AnyModality);
        for (int i = 0; i < 5; i++)
        {
            Step(q);
            Step(twin);
        }
        var a = Buffers(q);
        foreach (var (name, value) in Buffers(twin))
            Assert.True(value.SequenceEqual(a[name]), $"buffer {name} differs in training mode");
    }

    // `row` is within the noise half-width of one of `sources` in every dimension, but not equal to it.
    private static void AssertNearOneOf(double[] row, double[][] sources)
    {
        var gaps = sources.Select(s => s.Zip(row, (x, y) => Math.Abs(x - y)).Max()).ToArray();
        Assert.True(gaps.Min() <= Noise, $"reset row ({string.Join(", ", row)}) is not within {Noise} of any active code; gaps {string.Join(", ", gaps)}");
        Assert.True(gaps.Min() > 0, "reset row has no noise");
    }
}
