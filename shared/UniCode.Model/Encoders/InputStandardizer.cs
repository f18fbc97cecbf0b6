using TorchSharp;
using TorchSharp.Utils;
using UniCode.Model.Config;
using UniCode.Model.Training;
using static TorchSharp.torch;

namespace UniCode.Model.Encoders;

/// <summary>
/// Per-channel input standardisation, x → (x − μ) / σ over the last dimension (audio: the 128 VGGish values; video:
/// the 512 channels of every grid cell; text: the token width), with μ and σ fitted once on the pre-training data and
/// kept as buffers (so checkpoints carry them and downstream heads see the same scaling). Real AVE features are
/// non-negative with channel means far from zero; raw, every token's semantic vector points the same way and the
/// nearest-code search gives almost every token the same code (docs/results.md, "Diagnosis").
/// <see cref="InputNormalization.Center"/> keeps the per-channel centring but divides by one σ per modality.
/// <see cref="InputNormalization.None"/> makes this the identity (the reference).
/// </summary>
public sealed class InputStandardizer : nn.Module
{
    // Buffers [M, W_max]: row m holds modality m's statistics in its first W_m entries. Not readonly: Module.to() replaces them.
    [ComponentName(Name = "mean")] private Tensor _mean;
    [ComponentName(Name = "std")] private Tensor _std;
    [ComponentName(Name = "fitted")] private Tensor _fitted;   // scalar bool

    private readonly List<Modality> _modalities;
    private readonly long[] _widths;
    private readonly bool _enabled;
    private readonly bool _perModalityScale;

    /// <summary>σ below this (a constant channel) is replaced by 1, so the channel becomes 0 instead of dividing by ~0.</summary>
    public const double MinStd = 1e-6;

    public InputStandardizer(UniCodeConfig c) : base("input_standardizer")
    {
        _modalities = c.Modalities.Members().ToList();
        _enabled = c.InputNormalization != InputNormalization.None;
        _perModalityScale = c.InputNormalization == InputNormalization.Center;
        _widths = _modalities.Select(m => (long)(m switch
        {
            Modality.Audio => c.AudioInputDim,
            Modality.Video => c.VideoInputDim,
            _ => c.TextTokenDim,
        })).ToArray();
        var width = _widths.Max();
        var dtype = c.Precision == Precision.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        _mean = zeros(_modalities.Count, width, dtype: dtype).DetachFromDisposeScope();
        _std = ones(_modalities.Count, width, dtype: dtype).DetachFromDisposeScope();
        _fitted = tensor(!_enabled).DetachFromDisposeScope();
        RegisterComponents();
    }

    public bool Enabled => _enabled;

    /// <summary>True once <see cref="Fit"/> ran (or always, when disabled); one host read.</summary>
    public bool IsFitted => _fitted.cpu().item<bool>();

    /// <summary>
    /// Fits μ and σ (population std) per channel on every clip of <paramref name="data"/>, accumulated in float64 over
    /// batches of <paramref name="batchSize"/> clips; a no-op when disabled.
    /// </summary>
    public void Fit(IBatchSource data, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!_enabled) return;
        if (data.Count == 0) throw new ArgumentException("InputStandardizer.Fit: the pre-training data has no clips: expected at least one");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var sums = _widths.Select(w => zeros(w, dtype: ScalarType.Float64)).ToArray();
        var squares = _widths.Select(w => zeros(w, dtype: ScalarType.Float64)).ToArray();
        var counts = new long[_modalities.Count];
        for (var start = 0; start < data.Count; start += batchSize)
        {
            using var batchScope = NewDisposeScope();
            var idx = Enumerable.Range(start, Math.Min(batchSize, data.Count - start)).ToArray();
            var batch = data.ReadBatch(idx, CPU, ScalarType.Float64);
            for (var m = 0; m < _modalities.Count; m++)
            {
                var x = batch.Get(_modalities[m]).reshape(-1, _widths[m]);
                sums[m].add_(x.sum(0L));   // 0L: a literal 0 would bind to sum(ScalarType) and sum everything
                squares[m].add_(x.pow(2).sum(0L));
                counts[m] += x.shape[0];
            }
        }
        for (var m = 0; m < _modalities.Count; m++)
        {
            var mean = sums[m].div(counts[m]);
            var variance = squares[m].div(counts[m]).sub(mean.pow(2)).clamp_min(0);
            // Standardize: each channel's own σ. Center: one σ for the modality, √(mean over channels of σ²).
            var std = _perModalityScale ? full_like(variance, variance.mean().sqrt().item<double>()) : variance.sqrt();
            std = where(std.lt(MinStd), ones_like(std), std);
            _mean.select(0, m).narrow(0, 0, _widths[m]).copy_(mean.to(_mean.dtype, _mean.device));
            _std.select(0, m).narrow(0, 0, _widths[m]).copy_(std.to(_std.dtype, _std.device));
        }
        _fitted.fill_(true);
    }

    /// <summary>(x − μ_m) / σ_m over the last dimension of <paramref name="x"/> [..., W_m]; x itself when disabled.</summary>
    public Tensor Apply(Modality modality, Tensor x)
    {
        if (!_enabled) return x;
        var m = _modalities.IndexOf(modality);
        if (m < 0) throw new ArgumentException($"InputStandardizer: no statistics for {modality}: expected one of {string.Join(", ", _modalities)}");
        if (x.shape[^1] != _widths[m])
            throw new ArgumentException($"InputStandardizer: {modality} input has shape [{string.Join(", ", x.shape)}]: expected last dimension {_widths[m]}");
        return x.sub(_mean.select(0, m).narrow(0, 0, _widths[m])).div(_std.select(0, m).narrow(0, 0, _widths[m]));
    }
}
