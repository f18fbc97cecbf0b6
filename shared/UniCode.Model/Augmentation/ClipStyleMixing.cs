using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Model.Augmentation;

/// <summary>
/// Clip-style mixing, a pre-training augmentation (not in the paper; docs/model.md, "Clip-style mixing"). MixStyle
/// (Zhou et al., ICLR 2021) mixes the per-instance channel statistics of image features between samples; here the
/// instance is a clip and the statistics run over its seconds (and, for video, its grid cells):
/// <code>
/// μ_i, σ_i = mean and std of clip i per channel;  λ_i ~ U(0, 1);  j = π(i), π a random permutation of the batch
/// x̃_i = σ̂_i · (x_i − μ_i) / σ_i + μ̂_i,   μ̂_i = λ_i μ_i + (1 − λ_i) μ_j,   σ̂_i = λ_i σ_i + (1 − λ_i) σ_j
/// </code>
/// The permutation is drawn <b>independently per modality</b>, so the audio and the video of a clip borrow from
/// different clips. A clip's own per-modality nuisance (its recording's offset and gain) then no longer tells which
/// audio goes with which video, and the cross-modal objectives cannot be met by memorising the training set's
/// pairings (docs/results.md, "2026-12-07 (evening)"); what the modalities share second by second is kept.
/// Text token vectors are left alone (no recording nuisance). Draws from the step's host random stream only.
/// </summary>
public static class ClipStyleMixing
{
    /// <summary>Added to the variance before its square root, so a channel constant over the clip gets σ = √ε.</summary>
    public const double Epsilon = 1e-6;

    /// <summary>The batch with audio and video style-mixed (each with its own draws); text and absent modalities unchanged.</summary>
    public static PretrainBatch Apply(PretrainBatch batch, StyleMixingConfig settings, Random rng)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(rng);
        return batch with
        {
            Audio = batch.Audio is { } a ? Mix(a, Draw(a.shape[0], settings.Probability, rng)) : null,
            Video = batch.Video is { } v ? Mix(v, Draw(v.shape[0], settings.Probability, rng)) : null,
        };
    }

    /// <summary>The draws for a batch of <paramref name="clips"/>: λ per clip (1 = untouched, with probability 1 − p) and the partner permutation.</summary>
    public static (double[] Lambda, long[] Partner) Draw(long clips, double probability, Random rng)
    {
        var lambda = new double[clips];
        for (var i = 0; i < clips; i++) lambda[i] = rng.NextDouble() < probability ? rng.NextDouble() : 1.0;
        var partner = new long[clips];
        for (var i = 0; i < clips; i++) partner[i] = i;
        rng.Shuffle(partner);
        return (lambda, partner);
    }

    /// <summary>x̃ for x [B, ..., C] with statistics over every axis but the first (clips) and the last (channels).</summary>
    public static Tensor Mix(Tensor x, (double[] Lambda, long[] Partner) draw)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.ndim < 3) throw new ArgumentException($"ClipStyleMixing: input shape [{string.Join(", ", x.shape)}], expected [B, T, ..., C]");
        if (draw.Lambda.Length != x.shape[0] || draw.Partner.Length != x.shape[0])
            throw new ArgumentException($"ClipStyleMixing: {draw.Lambda.Length} draws for a batch of {x.shape[0]} clips");
        using var scope = NewDisposeScope();
        var dims = Enumerable.Range(1, (int)x.ndim - 2).Select(d => (long)d).ToArray();
        var mu = x.mean(dims, keepdim: true);
        var sigma = x.var(dims, unbiased: false, keepdim: true).add(Epsilon).sqrt();
        var shape = new long[x.ndim];
        Array.Fill(shape, 1L);
        shape[0] = x.shape[0];
        var lambda = tensor(draw.Lambda, dtype: x.dtype, device: x.device).reshape(shape);
        var partner = tensor(draw.Partner, dtype: ScalarType.Int64, device: x.device);
        var mixedMu = lambda * mu + (1 - lambda) * mu.index_select(0, partner);
        var mixedSigma = lambda * sigma + (1 - lambda) * sigma.index_select(0, partner);
        return ((x - mu) / sigma * mixedSigma + mixedMu).MoveToOuterDisposeScope();
    }
}
