using System.Diagnostics;
using TorchSharp;
using UniCode.Model.Config;
using UniCode.Model.Training;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Training;

public class PretrainerTests
{
    private static double[] Losses(Pretrainer.StepResult r)
    {
        var v = r.Values.cpu().data<double>().ToArray();
        r.Values.Dispose();
        return v;
    }

    [Theory]
    [InlineData(Method.UniCode, ModalitySet.AudioVisual)]
    [InlineData(Method.UniCode, ModalitySet.AudioVisualText)]
    [InlineData(Method.Baseline, ModalitySet.AudioVisual)]
    public void Two_runs_with_the_same_seed_give_identical_losses(Method method, ModalitySet modalities)
    {
        var c = ToyData.TinyConfig(method, seed: 5) with { Modalities = modalities };
        using var data = ToyData.AudioVisual(c, 64, 4, seed: 3, withText: modalities.HasFlag(ModalitySet.Text));
        double[][] Run()
        {
            using var t = new Pretrainer(c, CPU);
            var order = PretrainLoop.Shuffle(data.Count, c.Seed, 0);
            var result = new double[3][];
            for (var i = 0; i < 3; i++)
            {
                using var scope = NewDisposeScope();
                var batch = data.ReadBatch(order.AsSpan(i * c.BatchSize, c.BatchSize), CPU, ScalarType.Float32);
                result[i] = Losses(t.TrainStep(batch));
            }
            return result;
        }
        var a = Run();
        var b = Run();
        for (var i = 0; i < 3; i++) Assert.Equal(a[i], b[i]);
        Assert.All(a.SelectMany(x => x), v => Assert.True(double.IsFinite(v)));
        // A different seed gives a different run.
        var c2 = c with { Seed = 6 };
        using var t2 = new Pretrainer(c2, CPU);
        using var scope2 = NewDisposeScope();
        var first = PretrainLoop.Shuffle(data.Count, c.Seed, 0);
        var other = Losses(t2.TrainStep(data.ReadBatch(first.AsSpan(0, c.BatchSize), CPU, ScalarType.Float32)));
        Assert.NotEqual(a[0][0], other[0]);
    }

    [Fact]
    public void The_loss_vector_names_every_term_of_the_objective()
    {
        using var t = new Pretrainer(ToyData.TinyConfig(Method.UniCode) with { Modalities = ModalitySet.AudioVisualText }, CPU);
        Assert.Equal(
            ["total", "recon_audio", "recon_video", "recon_text", "commit_audio", "commit_video", "commit_text",
             "club_mi_audio", "club_mi_video", "club_mi_text", "cpc", "cmcm", "agreeing_samples"],
            t.LossNames);
        using var b = new Pretrainer(ToyData.TinyConfig(Method.Baseline), CPU);
        Assert.Equal(["total", "recon_audio", "recon_video", "commit_audio", "commit_video", "agreeing_samples"], b.LossNames);
    }

    [Fact]
    public void The_total_is_the_sum_of_its_terms()
    {
        var c = ToyData.TinyConfig(Method.UniCode);
        using var data = ToyData.AudioVisual(c, 32, 4, seed: 3);
        using var t = new Pretrainer(c, CPU);
        using var scope = NewDisposeScope();
        var v = Losses(t.TrainStep(data.ReadBatch(Enumerable.Range(0, c.BatchSize).ToArray(), CPU, ScalarType.Float32)));
        var terms = v.Skip(1).Take(v.Length - 2).Sum();   // all but total and the agreeing-samples diagnostic
        Assert.Equal(v[0], terms, 4);
    }

    [Fact]
    public void The_loop_runs_the_configs_minimum_steps_unless_told_the_epochs()
    {
        // 40 clips at batch 16: 2 steps an epoch (the partial batch is dropped); 1 epoch, at least 7 steps → 4 epochs = 8 steps.
        var c = ToyData.TinyConfig(Method.Baseline) with { Epochs = 1, PretrainMinSteps = 7 };
        using var data = ToyData.AudioVisual(c, 40, 4, seed: 3);
        using (var t = new Pretrainer(c, CPU))
            Assert.Equal(8, PretrainLoop.Run(t, data, new PretrainOptions { Resume = false }).Steps);
        using (var t = new Pretrainer(c, CPU))
            Assert.Equal(2, PretrainLoop.Run(t, data, new PretrainOptions { Epochs = 1, Resume = false }).Steps);
    }

    /// <summary>Trains for 300 steps and returns, per 20-step window, the reconstruction loss and the share of used codes that both modalities chose.</summary>
    private static (List<double> Recon, List<double> Shared, List<int> SharedCodes) Pretrain(Method method)
    {
        var c = ToyData.TinyConfig(method, seed: 11);
        using var data = ToyData.AudioVisual(c, 256, 6, seed: 2);
        using var t = new Pretrainer(c, CPU);
        var recon = new List<double>();
        var shared = new List<double>();
        var sharedCodes = new List<int>();
        PretrainLoop.Run(t, data, new PretrainOptions { Epochs = 20, MaxSteps = 300, ReportEvery = 20, Resume = false }, p =>
        {
            recon.Add(p.Losses["recon_audio"] + p.Losses["recon_video"]);
            shared.Add(p.Codebook.Used == 0 ? 0 : (double)p.Codebook.UsedByAll / p.Codebook.Used);
            sharedCodes.Add(p.Codebook.UsedByAll);
            t.Model.Quantizer.ResetUsage();
        });
        return (recon, shared, sharedCodes);
    }

    [Fact]
    public void Pretraining_the_small_av_model_shares_the_codebook_and_reconstructs_better()
    {
        // An untrained encoder maps every input to a handful of codes, all of them "shared"; what matters
        // is what training settles into. Uni-Code's cross-modal parts (MM-EMA, cross commitment, CMCM,
        // Cross-CPC) keep codes in use by both modalities, where the plain-VQ baseline ends with none.
        var unicode = Pretrain(Method.UniCode);
        var baseline = Pretrain(Method.Baseline);
        Assert.Equal(15, unicode.Recon.Count);
        foreach (var (name, run) in new[] { ("Uni-Code", unicode), ("baseline", baseline) })
        {
            var early = run.Recon.Take(2).Average();
            var late = run.Recon.TakeLast(2).Average();
            Assert.True(late < 0.5 * early, $"{name}: reconstruction loss should fall: first windows {early:F4}, last {late:F4}");
        }
        var uniShared = unicode.Shared.Skip(5).Average();
        var baseShared = baseline.Shared.Skip(5).Average();
        Assert.True(uniShared >= 0.1, $"Uni-Code: codes used by both modalities after step 100: {uniShared:P0} of the codes in use");
        Assert.True(unicode.SharedCodes.Skip(5).All(n => n > 0), $"Uni-Code: every window after step 100 has codes used by both: {string.Join(",", unicode.SharedCodes)}");
        Assert.True(uniShared > baseShared + 0.1, $"Uni-Code shares more of its codebook than the baseline: {uniShared:P0} vs {baseShared:P0}");
    }

    [Fact]
    public void Native_memory_does_not_grow_over_a_thousand_steps()
    {
        var c = ToyData.TinyConfig(Method.UniCode) with { BatchSize = 4, ClubEstimatorSteps = 1 };
        using var data = ToyData.AudioVisual(c, 16, 4, seed: 2);
        using var t = new Pretrainer(c, CPU);
        var indices = Enumerable.Range(0, c.BatchSize).ToArray();
        long LiveTensors() => DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        long live10 = 0;
        double rss10 = 0;
        for (var step = 1; step <= 1000; step++)
        {
            using (var scope = NewDisposeScope())
            {
                var r = t.TrainStep(data.ReadBatch(indices, CPU, ScalarType.Float32));
                r.Values.Dispose();
            }
            if (step == 10)
            {
                GC.Collect();
                live10 = LiveTensors();
                rss10 = RssMiB();
            }
        }
        GC.Collect();
        Assert.Equal(live10, LiveTensors());
        var growth = RssMiB() - rss10;
        Assert.True(growth < 64, $"resident memory grew by {growth:F0} MiB between step 10 and step 1000");
    }

    private static double RssMiB()
    {
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.WorkingSet64 / 1024.0 / 1024.0;
    }

    [Fact]
    public void Clipping_scales_gradients_to_the_max_norm_and_returns_the_norm()
    {
        using var scope = NewDisposeScope();
        var p1 = new TorchSharp.Modules.Parameter(zeros(2));
        var p2 = new TorchSharp.Modules.Parameter(zeros(1));
        (p1 * tensor(new float[] { 3, 0 })).sum().backward();
        (p2 * tensor(new float[] { 4 })).sum().backward();
        // ‖(3,0,4)‖ = 5 → scaled by 0.5/(5+1e-6).
        var norm = GradientClipping.ClipByNorm([p1, p2], 0.5);
        Assert.Equal(5.0, norm.item<float>(), 5);
        Assert.Equal(0.3f, p1.grad!.data<float>()[0], 4);
        Assert.Equal(0.4f, p2.grad!.data<float>()[0], 4);
        // Below the limit nothing changes.
        GradientClipping.ClipByNorm([p1, p2], 10);
        Assert.Equal(0.3f, p1.grad!.data<float>()[0], 4);
    }
}
