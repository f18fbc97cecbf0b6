using TorchSharp;
using TorchSharp.Modules;
using UniCode.Model.Config;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UniCode.Model.Encoders;

/// <summary>
/// The video semantic encoder's per-frame attention pooler (docs/reference-behaviour.md §1.3): pools a segment's G×G grid of
/// Dv-channel cells into one Dv vector. With g the grid mean: channel gate s = σ(W2·ReLU(W1·g)) (no biases),
/// x' = x·s + x; q = ReLU(Wq g + bq); k_i = ReLU(Wk x'_i + bk); α = softmax_i tanh(w·(k_i ⊙ q) + b);
/// output Σ_i α_i x'_i. [B, T, G, G, Dv] → [B, T, Dv].
/// </summary>
public sealed class VideoAttentionPooler : nn.Module<Tensor, Tensor>
{
    private readonly Linear gate_down;
    private readonly Linear gate_up;
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear score;
    private readonly int channels;

    public VideoAttentionPooler(UniCodeConfig c) : base("video_pooler")
    {
        channels = c.VideoInputDim;
        gate_down = nn.Linear(c.VideoInputDim, c.VideoPoolerGateDim, hasBias: false);
        gate_up = nn.Linear(c.VideoPoolerGateDim, c.VideoInputDim, hasBias: false);
        query = nn.Linear(c.VideoInputDim, c.VideoPoolerAttentionDim);
        key = nn.Linear(c.VideoInputDim, c.VideoPoolerAttentionDim);
        score = nn.Linear(c.VideoPoolerAttentionDim, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (alpha, gated) = Attend(x);
        var pooled = alpha.transpose(1, 2).bmm(gated);                                     // [N, 1, Dv]
        return pooled.reshape(x.shape[0], x.shape[1], channels).MoveToOuterDisposeScope();
    }

    /// <summary>The attention weights α over the cells of every segment, [B, T, G·G] (a diagnostic: where the pooler looks).</summary>
    public Tensor Attention(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (alpha, _) = Attend(x);
        return alpha.reshape(x.shape[0], x.shape[1], x.shape[2] * x.shape[3]).MoveToOuterDisposeScope();
    }

    // α [N, G·G, 1] and x' [N, G·G, Dv] with N = B·T, in the caller's dispose scope.
    private (Tensor Alpha, Tensor Gated) Attend(Tensor x)
    {
        if (x.ndim != 5 || x.shape[2] != x.shape[3] || x.shape[4] != channels)
            throw new ArgumentException($"VideoAttentionPooler: input shape [{string.Join(", ", x.shape)}], expected [B, T, G, G, {channels}]");
        long b = x.shape[0], t = x.shape[1], cells = x.shape[2] * x.shape[3];
        var cellsFirst = x.reshape(b * t, cells, channels);                                  // [N, G·G, Dv]
        var g = cellsFirst.mean([1]);                                                      // [N, Dv]
        var s = F.sigmoid(gate_up.call(F.relu(gate_down.call(g))));     // [N, Dv]
        var gated = cellsFirst * s.unsqueeze(1) + cellsFirst;                              // x' = x·s + x
        var q = F.relu(query.call(g)).unsqueeze(1);                               // [N, 1, A]
        var k = F.relu(key.call(gated));                                          // [N, G·G, A]
        var alpha = F.softmax(torch.tanh(score.call(k * q)), 1);                  // [N, G·G, 1], over cells
        return (alpha, gated);
    }
}
