using UniCode.Core;
using UniCode.Model.Checkpoints;
using UniCode.Model.Config;
using UniCode.Model.Runtime;
using UniCode.Model.Training;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Training;

public sealed class CheckpointTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("unicode-ckpt-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>Same shape, same dtype, bit-identical values.</summary>
    private static bool Same(Tensor a, Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();

    private static double[] Step(Pretrainer t, TensorBatchSource data, int batchIndex)
    {
        using var scope = NewDisposeScope();
        var order = PretrainLoop.Shuffle(data.Count, t.Config.Seed, 0);
        var r = t.TrainStep(data.ReadBatch(order.AsSpan(batchIndex * t.Config.BatchSize, t.Config.BatchSize), CPU, ScalarType.Float32));
        var v = r.Values.data<double>().ToArray();
        r.Values.Dispose();
        return v;
    }

    [Fact]
    public void Save_then_load_restores_weights_codebook_and_metadata()
    {
        var c = ToyData.TinyConfig();
        using var data = ToyData.AudioVisual(c, 64, 4, seed: 1);
        using var t = new Pretrainer(c, CPU);
        Step(t, data, 0);
        Step(t, data, 1);
        var info = CheckpointFile.Save(Path.Combine(dir, "a.ckpt"), t, data.ContentHash, epoch: 0);

        Assert.Equal(Sha256.OfFile(info.Path), info.Sha256);
        Assert.Equal($"{info.Sha256}  a.ckpt", File.ReadAllText(info.Path + ".sha256").Trim());
        Assert.Equal(c.Hash(), info.Metadata.ConfigHash);
        Assert.Equal(c, info.Metadata.Config());
        Assert.Equal((2L, 0, c.Seed, data.ContentHash), (info.Metadata.Step, info.Metadata.Epoch, info.Metadata.Seed, info.Metadata.DatasetHash));
        Assert.Equal(CodeVersion.Current, info.Metadata.CodeVersion);
        Assert.False(File.Exists(info.Path + ".partial"));

        var (model, meta) = CheckpointFile.LoadModel(info.Path);
        using (model)
        {
            Assert.Equal(info.Metadata.PayloadSha256, meta.PayloadSha256);
            Assert.True(Same(t.Model.Quantizer.Codebook, model.Quantizer.Codebook));
            var original = t.Model.state_dict();
            var loaded = model.state_dict();
            Assert.Equal(original.Keys.OrderBy(k => k), loaded.Keys.OrderBy(k => k));
            foreach (var (k, v) in original) Assert.True(Same(v, loaded[k]), $"state '{k}' differs after load");

            using var scope = NewDisposeScope();
            t.Model.eval();
            model.eval();
            var x = data.ReadBatch([0, 1], CPU, ScalarType.Float32).Audio!;
            Assert.True(Same(t.Model.QuantizedCodes(Modality.Audio, x), model.QuantizedCodes(Modality.Audio, x)));
        }
    }

    [Fact]
    public void A_resumed_run_continues_exactly_like_an_uninterrupted_one()
    {
        var c = ToyData.TinyConfig();
        using var data = ToyData.AudioVisual(c, 64, 4, seed: 1);
        double[][] straight;
        using (var t = new Pretrainer(c, CPU))
        {
            straight = Enumerable.Range(0, 4).Select(i => Step(t, data, i)).ToArray();
        }
        string path;
        using (var t = new Pretrainer(c, CPU))
        {
            Step(t, data, 0);
            Step(t, data, 1);
            path = CheckpointFile.Save(Path.Combine(dir, "mid.ckpt"), t, data.ContentHash, 0).Path;
        }
        using (var resumed = new Pretrainer(c with { }, CPU))
        {
            random.manual_seed(999);   // whatever the process did meanwhile
            CheckpointFile.Restore(path, resumed);
            Assert.Equal(2, resumed.Step);
            Assert.Equal(straight[2], Step(resumed, data, 2));
            Assert.Equal(straight[3], Step(resumed, data, 3));
        }
    }

    [Fact]
    public void The_loop_resumes_from_its_newest_checkpoint()
    {
        var c = ToyData.TinyConfig();
        using var data = ToyData.AudioVisual(c, 64, 4, seed: 1);   // 4 steps per epoch
        var ckdir = Path.Combine(dir, "run");
        using (var t = new Pretrainer(c, CPU))
        {
            var r = PretrainLoop.Run(t, data, new PretrainOptions { Epochs = 1, CheckpointDirectory = ckdir });
            Assert.Equal(4, r.Steps);
        }
        using (var t = new Pretrainer(c, CPU))
        {
            var r = PretrainLoop.Run(t, data, new PretrainOptions { Epochs = 2, CheckpointDirectory = ckdir });
            Assert.Equal(4, r.ResumedFromStep);
            Assert.Equal(8, r.Steps);
            Assert.NotNull(r.LastCheckpoint);
            Assert.Equal(8, r.LastCheckpoint!.Metadata.Step);
            Assert.Equal(1, r.LastCheckpoint.Metadata.Epoch);
            // Lineage: the second epoch's checkpoint names the first as its parent.
            var first = Sha256.OfFile(Path.Combine(ckdir, PretrainLoop.FileName(4)));
            Assert.Equal(first, r.LastCheckpoint.Metadata.ParentSha256);
        }
        // A different config must not silently continue someone else's run.
        using (var t = new Pretrainer(c with { LearningRate = 5e-4 }, CPU))
        {
            Assert.Throws<CheckpointMismatchException>(() => PretrainLoop.Run(t, data, new PretrainOptions { Epochs = 3, CheckpointDirectory = ckdir }));
        }
    }

    [Fact]
    public void Corrupt_truncated_or_foreign_files_give_clear_errors()
    {
        var c = ToyData.TinyConfig();
        using var data = ToyData.AudioVisual(c, 32, 4, seed: 1);
        using var t = new Pretrainer(c, CPU);
        var info = CheckpointFile.Save(Path.Combine(dir, "c.ckpt"), t, data.ContentHash, 0);

        // One flipped bit in the weights: the payload hash catches it (sidecar removed so the payload check is what fires).
        var flipped = Path.Combine(dir, "flipped.ckpt");
        var bytes = File.ReadAllBytes(info.Path);
        bytes[bytes.Length / 3] ^= 0x10;
        File.WriteAllBytes(flipped, bytes);
        var e = Assert.Throws<CheckpointException>(() => CheckpointFile.Verify(flipped));
        Assert.Contains("payload sha256", e.Message);
        Assert.Contains("flipped.ckpt", e.Message);

        // The recorded file hash catches any change too.
        File.WriteAllText(flipped + ".sha256", $"{info.Sha256}  flipped.ckpt\n");
        e = Assert.Throws<CheckpointException>(() => CheckpointFile.LoadModel(flipped));
        Assert.Contains($"expected {info.Sha256}", e.Message);

        var truncated = Path.Combine(dir, "truncated.ckpt");
        File.WriteAllBytes(truncated, File.ReadAllBytes(info.Path)[..(int)(info.SizeBytes / 2)]);
        e = Assert.Throws<CheckpointException>(() => CheckpointFile.Verify(truncated));
        Assert.Contains("truncated", e.Message);

        var foreign = Path.Combine(dir, "foreign.ckpt");
        File.WriteAllText(foreign, "this is a PyTorch pickle, honestly, with enough bytes to pass the length check");
        e = Assert.Throws<CheckpointException>(() => CheckpointFile.Verify(foreign));
        Assert.Contains("not a UniCode checkpoint", e.Message);

        e = Assert.Throws<CheckpointException>(() => CheckpointFile.Verify(Path.Combine(dir, "missing.ckpt")));
        Assert.Contains("not found", e.Message);

        using var other = new Pretrainer(c with { CodebookSize = 16 }, CPU);
        var mismatch = Assert.Throws<CheckpointMismatchException>(() => CheckpointFile.Restore(info.Path, other));
        Assert.Contains("config", mismatch.Message);
    }
}
