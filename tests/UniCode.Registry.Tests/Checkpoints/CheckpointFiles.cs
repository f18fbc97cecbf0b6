using UniCode.Model.Checkpoints;
using UniCode.Model.Tests.Training;
using UniCode.Model.Training;
using UniCode.Persistence;
using UniCode.Persistence.Entities;
using static TorchSharp.torch;
using Info = UniCode.Contracts.Registry.CheckpointInfo;
using ModelCheckpoint = UniCode.Model.Checkpoints.CheckpointInfo;

namespace UniCode.Registry.Tests.Checkpoints;

/// <summary>Real checkpoint files of the tiny training-test model, written by <see cref="CheckpointFile.Save"/>.</summary>
internal sealed class CheckpointFiles : IDisposable
{
    private readonly Pretrainer _trainer = new(ToyData.TinyConfig(), CPU);

    public CheckpointFiles()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("unicode-registry-ckpt-").FullName;
        DatasetHash = StepKeysHex(Guid.NewGuid().ToString());
    }

    public string Directory { get; }

    /// <summary>A dataset hash unique to this set of files.</summary>
    public string DatasetHash { get; }

    public string ConfigHash => _trainer.Config.Hash();

    /// <summary>Writes a checkpoint at <paramref name="step"/> (a new sha every call: the metadata holds the time).</summary>
    public ModelCheckpoint Write(string name, long step, int epoch = 0, string? parentSha256 = null)
    {
        _trainer.Step = step;
        return CheckpointFile.Save(Path.Combine(Directory, name), _trainer, DatasetHash, epoch, parentSha256);
    }

    /// <summary>The RegisterCheckpoint payload a trainer would send for <paramref name="file"/>.</summary>
    public static Info Request(ModelCheckpoint file, Guid runId) => new(
        file.Sha256, runId, file.Metadata.Step, file.Metadata.Epoch, file.Metadata.ParentSha256,
        new Uri(file.Path).AbsoluteUri, file.SizeBytes, file.Metadata.ConfigHash, file.Metadata.DatasetHash,
        file.Metadata.Seed, file.Metadata.CodeVersion, file.Metadata.CreatedAt);

    /// <summary>Inserts a pretrain run row (the coordinator's job in the pipeline) and returns its id.</summary>
    public async Task<Guid> AddRunAsync(string connectionString)
    {
        await using var context = ResultsDbContextOptions.CreateContext(connectionString);
        var run = new Run
        {
            Id = Guid.NewGuid(),
            Kind = RunKinds.Pretrain,
            StepKey = StepKeysHex("run-" + Guid.NewGuid()),
            ConfigJson = _trainer.Config.ToCanonicalJson(),
            ConfigHash = ConfigHash,
            Seed = _trainer.Config.Seed,
            CodeVersion = "test",
            DatasetHash = DatasetHash,
            Status = RunStatuses.Running,
            CreatedAt = DateTimeOffset.UtcNow,
        };
        context.Runs.Add(run);
        await context.SaveChangesAsync();
        return run.Id;
    }

    private static string StepKeysHex(string text) => UniCode.Messaging.StepKeys.Sha256Hex(System.Text.Encoding.UTF8.GetBytes(text));

    public void Dispose()
    {
        _trainer.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
