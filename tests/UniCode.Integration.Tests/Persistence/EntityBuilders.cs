using System.Text;
using UniCode.Messaging;
using UniCode.Persistence.Entities;

namespace UniCode.Integration.Tests.Persistence;

/// <summary>Valid rows with unique keys, so tests sharing a class database never collide.</summary>
internal static class EntityBuilders
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public static string NewSha() => StepKeys.Sha256Hex(Guid.NewGuid().ToByteArray());

    public static string Sha(string text) => StepKeys.Sha256Hex(Encoding.UTF8.GetBytes(text));

    public static Dataset Dataset(string? contentHash = null) => new()
    {
        Id = Guid.NewGuid(),
        Name = "synth:/tmp/synth-" + Guid.NewGuid().ToString("N")[..8],
        Kind = DatasetKinds.Synth,
        ContentHash = contentHash ?? NewSha(),
        ClipCount = 64,
        CreatedAt = T0,
        Description = """{"splits": {"train": 48, "test": 16}}""",
    };

    public static Run Run(string kind, string datasetHash) => new()
    {
        Id = Guid.NewGuid(),
        Kind = kind,
        ChainId = Guid.NewGuid(),
        StepKey = NewSha(),
        ConfigJson = """{"codebook_size": 400, "seed": 43}""",
        ConfigHash = Sha("""{"codebook_size":400,"seed":43}"""),
        Seed = 43,
        CodeVersion = "abc1234",
        CodeDirty = true,
        DatasetHash = datasetHash,
        Device = "cpu",
        Status = RunStatuses.Queued,
        CreatedAt = T0,
    };

    public static Checkpoint Checkpoint(Run run, string? parentSha, long step) => new()
    {
        Sha256 = NewSha(),
        RunId = run.Id,
        Step = step,
        Epoch = (int)(step / 100),
        ConfigHash = run.ConfigHash,
        DatasetHash = run.DatasetHash,
        Seed = run.Seed,
        CodeVersion = run.CodeVersion,
        ParentSha256 = parentSha,
        Uri = $"file:///checkpoints/{run.Id:N}/{step}.pt",
        SizeBytes = 3_290_361,
        CreatedAt = T0.AddMinutes(step),
    };

    public static DownstreamResult Result(Run evaluation, Checkpoint checkpoint, string metric, double value) => new()
    {
        Id = Guid.NewGuid(),
        RunId = evaluation.Id,
        CheckpointSha256 = checkpoint.Sha256,
        Task = "ave-classification",
        SourceModality = "audio",
        TargetModality = "video",
        Split = "test",
        Protocol = "linear-probe",
        Metric = metric,
        Value = value,
        Seed = 7,
        EvalCodeVersion = "def5678",
        DatasetHash = evaluation.DatasetHash,
        CreatedAt = T0.AddHours(2),
    };
}
