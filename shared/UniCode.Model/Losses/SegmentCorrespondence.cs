using TorchSharp;
using TorchSharp.Modules;
using UniCode.Model.Config;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UniCode.Model.Losses;

/// <summary>
/// Per-second audio–visual correspondence (not in the paper; off by default, <see cref="UniCodeConfig.SegmentCorrespondence"/>):
/// an InfoNCE between each second's audio input and the same second's pooled video, with the other clips of the batch
/// at that second as negatives, computed before any temporal model sees either side:
/// <code>
/// a_i,t = n(W_a x_a[i, t]),  v_j,t = n(W_v p_v[j, t]),  S_t[i, j] = a_i,t · v_j,t / τ
/// L = (1/T) Σ_t ½ [ CE_rows(S_t) + CE_columns(S_t) ]     (CE: mean over i of −log softmax(S_t)[i, i])
/// </code>
/// with x_a the standardised audio [B, T, Da], p_v the video attention pooler's output [B, T, Dv] (the only part of
/// the model this loss trains besides its own two projections W_a, W_v), n(·) the L2 normalisation and τ
/// <see cref="SegmentCorrespondenceConfig.Temperature"/>.
/// Why (a hypothesis, tested in docs/results.md): the Cross-CPC and CMCM terms see the semantic features after the
/// temporal relation module, where a clip-level signature (when its event starts and how long it lasts) can tell a
/// clip's two modalities apart from the other clips' without any class content; then nothing rewards the video pooler
/// for looking at the cells that show the event (docs/results.md, "2026-12-07 (later)"). One second's input holds no such signature: matching a second of
/// audio to its own second of video among the batch's needs what the two share in that second — the event itself.
/// </summary>
public sealed class SegmentCorrespondence : nn.Module
{
    private readonly Linear audio;
    private readonly Linear video;
    private readonly double temperature;

    public SegmentCorrespondence(UniCodeConfig c) : base("segment_correspondence")
    {
        var settings = c.SegmentCorrespondence ?? throw new ArgumentException("SegmentCorrespondence: config field SegmentCorrespondence is null (the term is off)");
        audio = nn.Linear(c.AudioInputDim, c.CodeDim);
        video = nn.Linear(c.VideoInputDim, c.CodeDim);
        temperature = settings.Temperature;
        RegisterComponents();
    }

    /// <summary>The loss over <paramref name="audioInput"/> [B, T, Da] and <paramref name="pooledVideo"/> [B, T, Dv].</summary>
    public Tensor Forward(Tensor audioInput, Tensor pooledVideo)
    {
        if (audioInput.ndim != 3 || pooledVideo.ndim != 3 || audioInput.shape[0] != pooledVideo.shape[0] || audioInput.shape[1] != pooledVideo.shape[1])
            throw new ArgumentException($"SegmentCorrespondence: audio [{string.Join(", ", audioInput.shape)}] and pooled video [{string.Join(", ", pooledVideo.shape)}], expected [B, T, ·] alike");
        using var scope = NewDisposeScope();
        var (a, v) = Project(audioInput, pooledVideo);
        return Loss(a, v, temperature).MoveToOuterDisposeScope();
    }

    /// <summary>The normalised projections a = n(W_a x_a), v = n(W_v p_v), each [T, B, D] (seconds first).</summary>
    public (Tensor Audio, Tensor Video) Project(Tensor audioInput, Tensor pooledVideo)
    {
        using var scope = NewDisposeScope();
        var a = F.normalize(audio.call(audioInput), p: 2, dim: -1).transpose(0, 1);     // [T, B, D]
        var v = F.normalize(video.call(pooledVideo), p: 2, dim: -1).transpose(0, 1);    // [T, B, D]
        return (a.MoveToOuterDisposeScope(), v.MoveToOuterDisposeScope());
    }

    /// <summary>The symmetric InfoNCE over already-normalised a, v [T, B, D]: (1/T) Σ_t ½ (CE_rows + CE_columns).</summary>
    public static Tensor Loss(Tensor a, Tensor v, double temperature)
    {
        using var scope = NewDisposeScope();
        var scores = a.bmm(v.transpose(1, 2)) / temperature;                              // S_t [T, B, B]
        var rows = F.log_softmax(scores, 2).diagonal(0, 1, 2).mean();                        // audio → its video
        var columns = F.log_softmax(scores, 1).diagonal(0, 1, 2).mean();                     // video → its audio
        return (-(rows + columns) / 2).MoveToOuterDisposeScope();
    }
}
