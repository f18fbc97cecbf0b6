using TorchSharp;
using UniCode.Model.Config;
using UniCode.Model.Losses;
using static TorchSharp.torch;
using UniCode.Model.Tests.Encoders;
using static UniCode.Model.Tests.Encoders.ModuleTestKit;

namespace UniCode.Model.Tests.Losses;

[Collection(TorchGlobalRngCollection.Name)]
public class CrossCpcTests
{
    private static UniCodeConfig Config(ModalitySet set) => UniCodeConfig.Small with { Modalities = set, CodeDim = 8, CpcHiddenDim = 16 };

    private static (Modality, Tensor)[] Inputs(UniCodeConfig c, int b, int t, double scale = 1) =>
        c.Modalities.Members().Select(m => (m, randn(b, t, c.CodeDim) * scale)).ToArray();

    [Theory]
    [InlineData(ModalitySet.AudioVisual, false, 2.2)]      // 2 cross pairs · 1 + 2 self pairs · 0.1
    [InlineData(ModalitySet.AudioVisualText, false, 6.3)]  // 6 cross pairs · 1 + 3 self pairs · 0.1
    [InlineData(ModalitySet.AudioVisual, true, 2.0)]       // paper: no self pairs, softmax over targets
    public void Loss_at_chance_is_the_weighted_count_of_pairs_times_ln_B(ModalitySet set, bool paper, double pairs)
    {
        using var scope = NewDisposeScope();
        manual_seed(20);
        var c = paper ? Config(set).WithPaperVariants() : Config(set);
        using var cpc = new CrossCpc(c);
        // Tiny inputs make every score ≈ 0, so each log-softmax entry is −ln B.
        const int b = 8;
        var result = cpc.Forward(Inputs(c, b, 10, scale: 1e-4), new Random(1));
        Assert.Equal(pairs * Math.Log(b), result.Loss.item<float>(), 3);
        var n = c.Modalities.Members().Count;
        Assert.Equal(n * n, result.Accuracy.Count);
    }

    [Fact]
    public void Loss_and_accuracy_match_a_direct_computation()
    {
        using var scope = NewDisposeScope();
        manual_seed(21);
        var c = Config(ModalitySet.AudioVisual) with { CpcPredictionSteps = 2 };
        using var cpc = new CrossCpc(c);
        const int b = 5, time = 10;
        var z = Inputs(c, b, time);
        var result = cpc.Forward(z, new Random(7));
        var t = new Random(7).Next(c.CpcMinStartSteps, time - c.CpcPredictionSteps);

        var loss = 0.0;
        foreach (var (x, zx) in z)
        foreach (var (y, _) in z)
        {
            var pred = cpc.Predict(y, z.First(p => p.Item1 == y).Item2, t);   // [K, B, D]
            var hits = 0;
            var term = 0.0;
            for (var k = 0; k < c.CpcPredictionSteps; k++)
            {
                var target = ToDoubles(zx[TensorIndex.Colon, t + 1 + k]);  // [B·D]
                var p = ToDoubles(pred[k]);
                for (var i = 0; i < b; i++)
                {
                    var g = new double[b];
                    for (var j = 0; j < b; j++)
                        for (var d = 0; d < c.CodeDim; d++) g[j] += target[i * c.CodeDim + d] * p[j * c.CodeDim + d];
                    var max = g.Max();
                    term += g[i] - (max + Math.Log(g.Sum(v => Math.Exp(v - max))));   // log-softmax over predictions j
                    if (Array.IndexOf(g, max) == i) hits++;
                }
            }
            loss -= (x == y ? c.CpcSelfWeight : c.CpcCrossWeight) * term;
            Assert.Equal(hits / (double)(b * c.CpcPredictionSteps), result.Accuracy[(x, y)].item<float>(), 5);
        }
        loss /= b * c.CpcPredictionSteps;
        Assert.Equal(loss, result.Loss.item<float>(), 3);
    }

    [Fact]
    public void Context_sees_steps_up_to_t_only()
    {
        using var scope = NewDisposeScope();
        manual_seed(22);
        var c = Config(ModalitySet.AudioVisual);
        using var cpc = new CrossCpc(c);
        var z = randn(3, 10, c.CodeDim);
        var p = cpc.Predict(Modality.Audio, z, 4);
        Assert.Equal(new long[] { 1, 3, c.CodeDim }, p.shape);
        var later = z.clone();
        later[TensorIndex.Colon, 5] = randn(3, c.CodeDim);
        AssertClose(p, cpc.Predict(Modality.Audio, later, 4), atol: 0);
        var earlier = z.clone();
        earlier[TensorIndex.Colon, 4] = randn(3, c.CodeDim);
        Assert.True(p.sub(cpc.Predict(Modality.Audio, earlier, 4)).abs().max().item<float>() > 1e-5);
    }

    [Fact]
    public void Softmax_axis_follows_the_config_on_a_tiny_score_matrix()
    {
        using var scope = NewDisposeScope();
        // Targets = identity rows, so G[i, j] = p[j][i]: G = [[2, 3], [0, 4]].
        var targets = eye(2).unsqueeze(0);
        var predictions = tensor(new float[] { 2, 0, 3, 4 }).reshape(1, 2, 2);
        static double Lse(double a, double b) => Math.Log(Math.Exp(a) + Math.Exp(b));

        var (overPredictions, accPredictions) = CrossCpc.PairTerm(targets, predictions, overTargets: false);
        Assert.Equal(2 - Lse(2, 3) + 4 - Lse(0, 4), overPredictions.item<float>(), 5);   // rows
        Assert.Equal(0.5, accPredictions.item<float>(), 6);                              // row 0 prefers column 1

        var (overTargets, accTargets) = CrossCpc.PairTerm(targets, predictions, overTargets: true);
        Assert.Equal(2 - Lse(2, 0) + 4 - Lse(3, 4), overTargets.item<float>(), 5);       // columns
        Assert.Equal(1.0, accTargets.item<float>(), 6);
    }

    [Fact]
    public void Training_on_predictable_sequences_lifts_accuracy_far_above_chance()
    {
        manual_seed(23);
        var c = Config(ModalitySet.AudioVisual);
        const int b = 16, time = 10;
        using var outer = NewDisposeScope();
        // z_{t+1} = R z_t for every item; video is a fixed rotation of audio: both predictable from either.
        var (r, _) = linalg.qr(randn(c.CodeDim, c.CodeDim));
        var (mix, _) = linalg.qr(randn(c.CodeDim, c.CodeDim));
        (Modality, Tensor)[] Batch()
        {
            var steps = new List<Tensor> { randn(b, c.CodeDim) };
            for (var k = 1; k < time; k++) steps.Add(steps[^1].matmul(r));
            var audio = stack(steps, 1);
            return [(Modality.Audio, audio), (Modality.Video, audio.matmul(mix))];
        }

        using var cpc = new CrossCpc(c);
        var rng = new Random(3);
        var before = MeanCrossAccuracy(cpc, Batch(), rng);
        using var optimizer = optim.Adam(cpc.parameters(), lr: 3e-3);
        for (var step = 0; step < 300; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            cpc.Forward(Batch(), rng).Loss.backward();
            optimizer.step();
        }
        var after = MeanCrossAccuracy(cpc, Batch(), rng);
        Assert.True(after > 0.6, $"cross accuracy {before:F3} → {after:F3}, chance {1.0 / b:F3}");
    }

    private static double MeanCrossAccuracy(CrossCpc cpc, (Modality, Tensor)[] z, Random rng)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var acc = 0.0;
        const int draws = 8;
        for (var i = 0; i < draws; i++)
        {
            var result = cpc.Forward(z, rng);
            acc += (result.Accuracy[(Modality.Audio, Modality.Video)].item<float>() + result.Accuracy[(Modality.Video, Modality.Audio)].item<float>()) / 2;
        }
        return acc / draws;
    }

    [Fact]
    public void Gradients_reach_z_and_float64_works_and_same_seeds_repeat()
    {
        using var scope = NewDisposeScope();
        var c = Config(ModalitySet.AudioVisual);
        double Run()
        {
            manual_seed(24);
            using var cpc = new CrossCpc(c);
            cpc.to(ScalarType.Float64);
            var z = c.Modalities.Members().Select(m => (m, randn([4, 10, c.CodeDim], dtype: ScalarType.Float64).requires_grad_())).ToArray();
            var result = cpc.Forward(z, new Random(9));
            Assert.Equal(ScalarType.Float64, result.Loss.dtype);
            result.Loss.backward();
            Assert.All(z, p => Assert.True(p.Item2.grad!.abs().sum().item<double>() > 0));
            return result.Loss.item<double>();
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void Rejects_too_short_sequences_and_unknown_modalities()
    {
        using var scope = NewDisposeScope();
        var c = Config(ModalitySet.AudioVisual);
        using var cpc = new CrossCpc(c);
        var shortEx = Assert.Throws<ArgumentException>(() => cpc.Forward(Inputs(c, 4, 2), new Random(1)));
        Assert.Contains("CpcMinStartSteps", shortEx.Message);
        var textEx = Assert.Throws<ArgumentException>(() => cpc.Forward([(Modality.Audio, randn(4, 10, c.CodeDim)), (Modality.Text, randn(4, 10, c.CodeDim))], new Random(1)));
        Assert.Contains("Modalities", textEx.Message);
    }

    [Fact]
    public void Paper_sizes_match_the_reference_parameter_counts()
    {
        using (var av = new CrossCpc(UniCodeConfig.Paper)) Assert.Equal(2_236_928, ParameterCount(av));
        using (var avt = new CrossCpc(UniCodeConfig.Paper with { Modalities = ModalitySet.AudioVisualText })) Assert.Equal(3_355_392, ParameterCount(avt));
    }
}
