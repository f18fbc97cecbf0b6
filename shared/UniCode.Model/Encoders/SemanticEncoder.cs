using TorchSharp;
using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Model.Encoders;

/// <summary>
/// Φ_m, the modality-agnostic semantic encoder (Eq. 1): z_m = Φ_m(x_m) ∈ [B, T, D], the vectors the shared
/// codebook quantizes (docs/reference-behaviour.md §1.3).
/// Audio: TRM on the raw VGGish rows [B, T, AudioInputDim]. Video: <see cref="VideoAttentionPooler"/> per
/// segment, then TRM, on [B, T, G, G, VideoInputDim]. Text: TRM on the <see cref="TextBiLstm"/> output
/// [B, T, 2·TextLstmHidden] (the BiLSTM itself is shared with Ψ_t and owned by the model).
/// </summary>
public sealed class SemanticEncoder : nn.Module<Tensor, Tensor>
{
    private readonly VideoAttentionPooler? pooler;
    private readonly TemporalRelationModule trm;

    public SemanticEncoder(Modality m, UniCodeConfig c) : base($"semantic_{m.Letter()}")
    {
        Modality = m;
        switch (m)
        {
            case Modality.Audio:
                trm = new TemporalRelationModule("trm", c.AudioInputDim, c);
                break;
            case Modality.Video:
                pooler = new VideoAttentionPooler(c);
                trm = new TemporalRelationModule("trm", c.VideoInputDim, c);
                break;
            case Modality.Text:
                trm = new TemporalRelationModule("trm", 2 * c.TextLstmHidden, c);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(m), m, null);
        }
        RegisterComponents();
    }

    public Modality Modality { get; }

    /// <summary>Video only: the pooler's attention over the grid cells of every segment, [B, T, G·G].</summary>
    public Tensor VideoAttention(Tensor x) =>
        pooler?.Attention(x) ?? throw new InvalidOperationException($"the {Modality} semantic encoder has no grid pooler: expected video");

    public override Tensor forward(Tensor x)
    {
        var (z, pooled) = ForwardWithPooled(x);
        pooled?.Dispose();
        return z;
    }

    /// <summary>z = Φ(x) and, for video, the pooler's per-segment output [B, T, Dv] it was computed from (null otherwise).</summary>
    public (Tensor Z, Tensor? Pooled) ForwardWithPooled(Tensor x)
    {
        if (pooler is null) return (trm.call(x), null);
        var pooled = pooler.call(x);
        return (trm.call(pooled), pooled);
    }
}
