using UniCode.Model.Augmentation;
using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Augmentation;

public class ClipStyleMixingTests
{
    private static Tensor Clips(params long[] shape)
    {
        var g = new Generator(7);
        // Each clip its own per-channel offset and gain, so the statistics differ between clips.
        var b = shape[0];
        var c = shape[^1];
        var statShape = new long[shape.Length];
        Array.Fill(statShape, 1L);
        statShape[0] = b;
        statShape[^1] = c;
        return randn(shape, dtype: ScalarType.Float64, generator: g) * (1 + rand(statShape, dtype: ScalarType.Float64, generator: g))
               + 3 * randn(statShape, dtype: ScalarType.Float64, generator: g);
    }

    [Fact]
    public void Lambda_one_leaves_every_clip_as_it_was()
    {
        using var scope = NewDisposeScope();
        var x = Clips(4, 5, 3);
        var y = ClipStyleMixing.Mix(x, ([1, 1, 1, 1], [2, 3, 0, 1]));
        Assert.True(allclose(y, x, rtol: 0, atol: 1e-9), "λ = 1 must be the identity");
    }

    [Fact]
    public void Lambda_zero_gives_each_clip_its_partners_statistics_and_keeps_its_own_normalised_content()
    {
        using var scope = NewDisposeScope();
        var x = Clips(4, 6, 5, 5, 3);   // video [B, T, G, G, C]: statistics over T and the grid
        long[] partner = [2, 3, 0, 1];
        var y = ClipStyleMixing.Mix(x, ([0, 0, 0, 0], partner));
        long[] dims = [1, 2, 3];
        var sigma = x.var(dims, unbiased: false, keepdim: true).add(ClipStyleMixing.Epsilon).sqrt();
        var mu = x.mean(dims, keepdim: true);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(allclose(y[i].mean([0, 1, 2]), x[partner[i]].mean([0, 1, 2]), rtol: 0, atol: 1e-9), $"clip {i}: mean");
            var ySigma = y[i].var([0, 1, 2], unbiased: false).add(ClipStyleMixing.Epsilon).sqrt();
            Assert.True(allclose(ySigma, sigma[partner[i]].reshape(-1), rtol: 1e-6, atol: 1e-9), $"clip {i}: std");
        }
        // What is left after removing each clip's own statistics is unchanged.
        var before = (x - mu) / sigma;
        var after = (y - y.mean(dims, keepdim: true)) / y.var(dims, unbiased: false, keepdim: true).add(ClipStyleMixing.Epsilon).sqrt();
        Assert.True(allclose(after, before, rtol: 1e-6, atol: 1e-6));
    }

    [Fact]
    public void Intermediate_lambda_interpolates_the_statistics()
    {
        using var scope = NewDisposeScope();
        var x = Clips(3, 10, 4);
        var y = ClipStyleMixing.Mix(x, ([0.25, 1, 1], [1, 0, 2]));
        var expected = 0.25 * x[0].mean([0]) + 0.75 * x[1].mean([0]);
        Assert.True(allclose(y[0].mean([0]), expected, rtol: 0, atol: 1e-9));
    }

    [Fact]
    public void Audio_and_video_get_their_own_draws_and_text_is_left_alone()
    {
        using var scope = NewDisposeScope();
        var batch = new PretrainBatch(Clips(16, 4, 3), Clips(16, 4, 5, 5, 2), Clips(16, 4, 6));
        var rng = new Random(3);
        var mixed = ClipStyleMixing.Apply(batch, new StyleMixingConfig(), rng);
        Assert.Same(batch.Text, mixed.Text);
        Assert.False(allclose(mixed.Audio!, batch.Audio!));
        Assert.False(allclose(mixed.Video!, batch.Video!));
        // The same stream drawn twice in a row (audio, then video) gives two different permutations.
        var replay = new Random(3);
        var audioDraw = ClipStyleMixing.Draw(16, 1.0, replay);
        var videoDraw = ClipStyleMixing.Draw(16, 1.0, replay);
        Assert.NotEqual(audioDraw.Partner, videoDraw.Partner);
        Assert.True(allclose(mixed.Audio!, ClipStyleMixing.Mix(batch.Audio!, audioDraw), rtol: 0, atol: 1e-12));
        Assert.True(allclose(mixed.Video!, ClipStyleMixing.Mix(batch.Video!, videoDraw), rtol: 0, atol: 1e-12));
    }

    [Fact]
    public void Probability_zero_draws_lambda_one_for_every_clip()
    {
        var (lambda, partner) = ClipStyleMixing.Draw(8, 0.0, new Random(1));
        Assert.All(lambda, l => Assert.Equal(1.0, l));
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (long)i).Order(), partner.Order());
    }

    [Fact]
    public void A_draw_for_the_wrong_batch_size_is_an_error_naming_both_sizes()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => ClipStyleMixing.Mix(Clips(4, 3, 2), ([1, 1], [1, 0])));
        Assert.Contains("2 draws for a batch of 4 clips", e.Message);
    }

    [Fact]
    public void The_config_rejects_a_probability_outside_zero_one_and_leaves_the_hash_alone_when_off()
    {
        var e = Assert.Throws<ConfigException>(() => (UniCodeConfig.Small with { StyleMixing = new StyleMixingConfig(1.5) }).Validate());
        Assert.Contains("StyleMixing.Probability", e.Message);
        Assert.DoesNotContain("styleMixing", UniCodeConfig.Small.ToCanonicalJson(), StringComparison.OrdinalIgnoreCase);
        Assert.NotEqual(UniCodeConfig.Small.Hash(), (UniCodeConfig.Small with { StyleMixing = new StyleMixingConfig() }).Hash());
        var parsed = UniCodeConfig.FromJson((UniCodeConfig.Small with { StyleMixing = new StyleMixingConfig(0.5) }).ToCanonicalJson());
        Assert.Equal(0.5, parsed.StyleMixing!.Probability);
    }
}
