using TorchSharp;
using UniCode.Model.Config;
using UniCode.Model.Losses;
using UniCode.Model.Encoders;
using UniCode.Model.Tests.Encoders;
using UniCode.Model.Tests.Training;
using UniCode.Model.Training;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Losses;

[Collection(TorchGlobalRngCollection.Name)]
public class SegmentCorrespondenceTests
{
    private static UniCodeConfig Config() => UniCodeConfig.Small with
    {
        AudioInputDim = 6, VideoInputDim = 5, CodeDim = 4, Segments = 3,
        SegmentCorrespondence = new SegmentCorrespondenceConfig(Weight: 0.5, Temperature: 0.2),
    };

    [Fact]
    public void Loss_on_a_tiny_score_matrix_matches_the_hand_computation()
    {
        using var scope = NewDisposeScope();
        // T = 1, B = 2, unit vectors: a0 = (1, 0), a1 = (0, 1), v0 = (0.6, 0.8), v1 = (1, 0). With τ = 0.5,
        // S = [[1.2, 2], [1.6, 0]]: rows CE = ½[−(1.2 − lse(1.2, 2)) − (0 − lse(1.6, 0))],
        // columns CE = ½[−(1.2 − lse(1.2, 1.6)) − (0 − lse(2, 0))]; loss = ½ (rows + columns).
        var a = tensor(new double[] { 1, 0, 0, 1 }).reshape(1, 2, 2);
        var v = tensor(new double[] { 0.6, 0.8, 1, 0 }).reshape(1, 2, 2);
        static double Lse(double x, double y) => Math.Log(Math.Exp(x) + Math.Exp(y));
        var rows = ((Lse(1.2, 2) - 1.2) + (Lse(1.6, 0) - 0)) / 2;
        var columns = ((Lse(1.2, 1.6) - 1.2) + (Lse(2, 0) - 0)) / 2;
        var loss = SegmentCorrespondence.Loss(a, v, 0.5);
        Assert.Equal((rows + columns) / 2, loss.item<double>(), 12);
    }

    [Fact]
    public void Each_second_is_its_own_softmax_group_and_the_loss_averages_them()
    {
        using var scope = NewDisposeScope();
        // Second 0: a = v = one-hot rows with a tiny τ, every item finds its partner: loss ≈ 0.
        // Second 1: all vectors equal, every score equal: each CE is ln B. Mean over seconds: ln(3) / 2.
        var oneHot = eye(3, dtype: ScalarType.Float64).unsqueeze(0);
        var same = full(new long[] { 1, 3, 3 }, 1 / Math.Sqrt(3), dtype: ScalarType.Float64);
        var a = cat([oneHot, same], 0);
        var v = cat([oneHot, same], 0);
        Assert.Equal(Math.Log(3) / 2, SegmentCorrespondence.Loss(a, v, 1e-3).item<double>(), 9);
        // Swapping the two seconds of one side only breaks the pairing inside each second, never across them.
        Assert.Equal(SegmentCorrespondence.Loss(a.flip(0), v.flip(0), 1e-3).item<double>(), SegmentCorrespondence.Loss(a, v, 1e-3).item<double>(), 12);
    }

    [Fact]
    public void Training_the_term_alone_moves_the_poolers_attention_onto_the_cells_that_share_the_audio()
    {
        // Each clip: a random content vector c_i per second; audio = A c_i; video = noise on every cell except one
        // random cell per clip, which shows V c_i. Only that cell matches the audio, so the term rewards looking there.
        manual_seed(33);
        var c = ModuleTestKit.Tiny(grid: 5) with { SegmentCorrespondence = new SegmentCorrespondenceConfig(Temperature: 0.1) };
        const int b = 16, cells = 25;
        using var outer = NewDisposeScope();
        var mixAudio = randn(6, c.AudioInputDim);
        var mixVideo = randn(6, c.VideoInputDim);
        (Tensor Audio, Tensor Video, Tensor Cell) Batch()
        {
            var content = randn(b, c.Segments, 6);
            var video = randn(b, c.Segments, cells, c.VideoInputDim);
            var cell = randint(0, cells, [b]);
            var mask = nn.functional.one_hot(cell, cells).to(ScalarType.Float32).reshape(b, 1, cells, 1);
            video = video * (1 - mask) + content.matmul(mixVideo).unsqueeze(2) * mask;
            return (content.matmul(mixAudio), video.reshape(b, c.Segments, 5, 5, c.VideoInputDim), cell);
        }
        using var pooler = new VideoAttentionPooler(c);
        using var term = new SegmentCorrespondence(c);
        double ShareOnSignal()
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var (_, video, cell) = Batch();
            var alpha = pooler.Attention(video);                                   // [B, T, 25]
            return alpha.gather(2, cell.reshape(b, 1, 1).expand(b, c.Segments, 1)).mean().item<float>();
        }
        var before = ShareOnSignal();
        var optimizer = optim.Adam(pooler.parameters().Concat(term.parameters()), 3e-3);
        for (var step = 0; step < 300; step++)
        {
            using var scope = NewDisposeScope();
            var (audio, video, _) = Batch();
            optimizer.zero_grad();
            term.Forward(audio, pooler.call(video)).backward();
            optimizer.step();
        }
        var after = ShareOnSignal();
        Assert.InRange(before, 0.02, 0.07);       // ≈ 1/25 at initialisation
        Assert.True(after > 3 * before, $"attention on the matching cell: {before:F3} before, {after:F3} after 300 steps");
    }

    [Fact]
    public void Forward_normalises_both_projections_and_reaches_the_pooler_input()
    {
        using var scope = NewDisposeScope();
        manual_seed(31);
        var c = Config();
        using var term = new SegmentCorrespondence(c);
        term.to(ScalarType.Float64);
        var audio = randn(new long[] { 4, 3, 6 }, dtype: ScalarType.Float64);
        var pooled = randn(new long[] { 4, 3, 5 }, dtype: ScalarType.Float64).requires_grad_();
        var loss = term.Forward(audio, pooled);
        // Bounded by what cosine scores allow: each CE lies in [ln(1 + (B−1)e^{−2/τ}), ln(1 + (B−1)e^{2/τ})].
        Assert.InRange(loss.item<double>(), Math.Log(1 + 3 * Math.Exp(-10)), Math.Log(1 + 3 * Math.Exp(10)));
        loss.backward();
        Assert.True(pooled.grad is not null && pooled.grad.abs().sum().item<double>() > 0);
        // and the same value as the static form on the normalised projections
        var parameters = term.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var a = nn.functional.normalize(nn.functional.linear(audio, parameters["audio.weight"], parameters["audio.bias"]), dim: -1).transpose(0, 1);
        var v = nn.functional.normalize(nn.functional.linear(pooled, parameters["video.weight"], parameters["video.bias"]), dim: -1).transpose(0, 1);
        Assert.Equal(SegmentCorrespondence.Loss(a, v, 0.2).item<double>(), loss.item<double>(), 12);
    }

    [Fact]
    public void Config_validates_the_term_and_keeps_old_hashes_when_it_is_off()
    {
        Assert.Throws<ConfigException>(() => (UniCodeConfig.Small with { SegmentCorrespondence = new(Weight: -1) }).Validate());
        Assert.Throws<ConfigException>(() => (UniCodeConfig.Small with { SegmentCorrespondence = new(Temperature: 0) }).Validate());
        var ex = Assert.Throws<ConfigException>(() => (UniCodeConfig.Small with
        {
            Modalities = ModalitySet.VisualText, SegmentCorrespondence = new(),
        }).Validate());
        Assert.Equal(nameof(UniCodeConfig.SegmentCorrespondence), ex.Field);
        Assert.DoesNotContain("segmentCorrespondence", UniCodeConfig.Small.ToCanonicalJson(), StringComparison.Ordinal);
        var on = UniCodeConfig.Small with { SegmentCorrespondence = new() };
        Assert.Contains("\"segmentCorrespondence\":{\"weight\":1,\"temperature\":0.1}", on.ToCanonicalJson(), StringComparison.Ordinal);
        Assert.Equal(on, UniCodeConfig.FromJson(on.ToCanonicalJson()));
        Assert.NotEqual(UniCodeConfig.Small.Hash(), on.Hash());
    }

    [Fact]
    public void The_pretrainer_names_reports_and_trains_the_term()
    {
        var c = ToyData.TinyConfig(Method.UniCode, seed: 4) with { SegmentCorrespondence = new SegmentCorrespondenceConfig() };
        using var data = ToyData.AudioVisual(c, 32, 4, seed: 3);
        using var t = new Pretrainer(c, CPU);
        Assert.Equal("correspondence", t.LossNames[^2]);
        Assert.Contains(t.Model.MainParameterGroups(), g => g.Name == "correspondence");
        using var scope = NewDisposeScope();
        var order = PretrainLoop.Shuffle(data.Count, c.Seed, 0);
        var values = t.TrainStep(data.ReadBatch(order.AsSpan(0, c.BatchSize), CPU, ScalarType.Float32)).Values.cpu().data<double>().ToArray();
        var term = values[^2];
        Assert.InRange(term, 0.1, 2 * Math.Log(c.BatchSize));
        // Every weight is 1 here: the total is the sum of the reported terms (all but agreeing_samples), the new one included.
        Assert.Equal(values[1..^1].Sum(), values[0], 4);
    }
}
