using UniCode.Core;
using UniCode.Model.Checkpoints;
using UniCode.Model.Training;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Training;

/// <summary>Publishing a run's final checkpoint with the lineage parent that matters (the run's start, or none).</summary>
public sealed class CheckpointLineageTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("unicode-lineage-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void A_copy_with_another_parent_keeps_the_payload_and_resumes_like_the_original()
    {
        var c = ToyData.TinyConfig();
        using var data = ToyData.AudioVisual(c, 32, 4, seed: 1);
        CheckpointInfo original;
        using (var t = new Pretrainer(c, CPU))
        {
            var r = PretrainLoop.Run(t, data, new PretrainOptions { Epochs = 2, CheckpointDirectory = dir });
            original = r.LastCheckpoint!;
        }
        Assert.NotNull(original.Metadata.ParentSha256);   // the run's own epoch-1 checkpoint

        var copy = CheckpointFile.CopyWithParent(original.Path, Path.Combine(dir, "published", "final.ckpt"), null, original.Sha256);

        var (meta, sha) = CheckpointFile.Verify(copy.Path, copy.Sha256);
        Assert.Equal(Sha256.OfFile(copy.Path), sha);
        Assert.Equal($"{sha}  final.ckpt", File.ReadAllText(copy.Path + ".sha256").Trim());
        Assert.NotEqual(original.Sha256, sha);
        Assert.Null(meta.ParentSha256);
        Assert.Equal(original.Metadata with { ParentSha256 = null }, meta with { Sections = original.Metadata.Sections });
        Assert.Equal(original.Metadata.Sections, meta.Sections);
        Assert.Equal(original.Metadata.PayloadSha256, meta.PayloadSha256);
        Assert.False(File.Exists(copy.Path + ".partial"));

        // The copy restores the same training state: the next steps match the original's.
        double[] Next(string path)
        {
            using var t = new Pretrainer(c, CPU);
            CheckpointFile.Restore(path, t);
            using var scope = NewDisposeScope();
            var order = PretrainLoop.Shuffle(data.Count, c.Seed, 2);
            return t.TrainStep(data.ReadBatch(order.AsSpan(0, c.BatchSize), CPU, ScalarType.Float32)).Values.data<double>().ToArray();
        }
        Assert.Equal(Next(original.Path), Next(copy.Path));

        // A wrong expected sha256 stops the copy before anything is written.
        Assert.Throws<CheckpointException>(() => CheckpointFile.CopyWithParent(original.Path, Path.Combine(dir, "bad.ckpt"), null, new string('0', 64)));
        Assert.False(File.Exists(Path.Combine(dir, "bad.ckpt")));
    }
}
