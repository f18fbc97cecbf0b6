using System.Security.Cryptography;
using System.Text;
using Npgsql;
using UniCode.Model.Config;
using UniCode.Persistence;
using UniCode.Persistence.Entities;

namespace UniCode.Results.Tests.Infrastructure;

/// <summary>
/// A small results database written by hand, with numbers whose statistics are easy to check:
/// dataset "synth:hand-made", task ave, split test, protocol held-out, metric accuracy:
/// <code>
///                      seed 1  seed 2  seed 3   mean  sample std
///  baseline   v2a        10      12      14      12     2
///             a2v        30      30      33      31     √3
///  unicode    v2a        20      23      29      24     √21
///             a2v        40      41      45      42     √7
///  unicode w/o CLUB v2a  21                      21     —          (custom: CLUB off, one seed)
///  baseline L=64 v2a      5                       5     —          (another setting: codebook size 64)
/// </code>
/// Also: an older evaluation of unicode seed 1 v2a (eval code "old", value 99) that the leaderboard must
/// ignore, "epoch" rows (value 5), a fine-tuned child of unicode seed 1's checkpoint (alias "best-val",
/// task ave2avvp, f1 0.5), a run whose config is no UniCode config (task probe), and metric points.
/// </summary>
public sealed class HandMadeResults
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public static readonly IReadOnlyDictionary<(string Method, string Direction), double[]> Accuracy = new Dictionary<(string, string), double[]>
    {
        [("baseline", "v2a")] = [10, 12, 14],
        [("baseline", "a2v")] = [30, 30, 33],
        [("unicode", "v2a")] = [20, 23, 29],
        [("unicode", "a2v")] = [40, 41, 45],
    };

    public string DatasetHash { get; } = Sha("hand-made dataset");
    public string DatasetName => "synth:hand-made";
    /// <summary>unicode seed 1's checkpoint: the parent of <see cref="ChildSha"/>.</summary>
    public string ParentSha { get; private set; } = "";
    public string ChildSha { get; private set; } = "";
    public Guid UnicodeSeed1Run { get; private set; }
    public Guid UnknownRun { get; private set; }

    public static string Sha(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>The pre-training config of a method as the experiments write it (small preset, switches of WithMethod).</summary>
    public static UniCodeConfig Config(Method method, long seed, int codebookSize = 128) =>
        UniCodeConfig.Small.WithMethod(method) with { Seed = seed, CodebookSize = codebookSize };

    public static async Task<HandMadeResults> WriteAsync(string connectionString)
    {
        var h = new HandMadeResults();
        await using var db = ResultsDbContextOptions.CreateContext(connectionString);
        db.Datasets.Add(new Dataset
        {
            Id = Guid.NewGuid(), Name = h.DatasetName, Kind = DatasetKinds.Synth, ContentHash = h.DatasetHash, ClipCount = 96, CreatedAt = T0,
        });
        var minute = 0;
        Run AddRun(string kind, string configJson, long seed)
        {
            var run = new Run
            {
                Id = Guid.NewGuid(), Kind = kind, StepKey = Sha("step " + Guid.NewGuid()), ConfigJson = configJson, ConfigHash = Sha(configJson),
                Seed = seed, CodeVersion = "abc1234", CodeDirty = false, DatasetHash = h.DatasetHash, Device = "cpu",
                Status = RunStatuses.Succeeded, CreatedAt = T0.AddMinutes(minute++),
            };
            db.Runs.Add(run);
            return run;
        }
        Checkpoint AddCheckpoint(Run run, string? parent, long step)
        {
            var c = new Checkpoint
            {
                Sha256 = Sha("checkpoint " + run.Id), RunId = run.Id, Step = step, Epoch = 6, ConfigHash = run.ConfigHash, DatasetHash = h.DatasetHash,
                Seed = run.Seed, CodeVersion = run.CodeVersion, ParentSha256 = parent, Uri = $"file:///ckpt/{run.Id:N}.ckpt", SizeBytes = 1000,
                CreatedAt = T0.AddMinutes(minute++),
            };
            db.Checkpoints.Add(c);
            return c;
        }
        void AddResult(Run evaluation, Checkpoint c, string task, string source, string target, string metric, double value, long seed,
            string evalCode = "def5678", int minutesLater = 0) =>
            db.DownstreamResults.Add(new DownstreamResult
            {
                Id = Guid.NewGuid(), RunId = evaluation.Id, CheckpointSha256 = c.Sha256, Task = task, SourceModality = source, TargetModality = target,
                Split = "test", Protocol = "held-out", Metric = metric, Value = value, Seed = seed, EvalCodeVersion = evalCode,
                DatasetHash = h.DatasetHash, CreatedAt = T0.AddHours(1).AddMinutes(minute++ + minutesLater),
            });

        foreach (var (method, name) in new[] { (Method.Baseline, "baseline"), (Method.UniCode, "unicode") })
        {
            for (var seed = 1; seed <= 3; seed++)
            {
                var pretrain = AddRun(RunKinds.Pretrain, Config(method, seed).ToCanonicalJson(), seed);
                var checkpoint = AddCheckpoint(pretrain, null, 120);
                var evaluation = AddRun(RunKinds.Evaluate, """{"task": "ave"}""", seed);
                AddResult(evaluation, checkpoint, "ave", "video", "audio", "accuracy", Accuracy[(name, "v2a")][seed - 1], seed);
                AddResult(evaluation, checkpoint, "ave", "audio", "video", "accuracy", Accuracy[(name, "a2v")][seed - 1], seed);
                AddResult(evaluation, checkpoint, "ave", "video", "audio", "epoch", 5, seed);
                if (name == "unicode" && seed == 1)
                {
                    h.UnicodeSeed1Run = pretrain.Id;
                    h.ParentSha = checkpoint.Sha256;
                    // An earlier evaluation of the same checkpoint with older code: superseded by the one above.
                    AddResult(evaluation, checkpoint, "ave", "video", "audio", "accuracy", 99, seed, evalCode: "old", minutesLater: -600);
                    for (var step = 1; step <= 6; step++)
                        db.MetricPoints.Add(new MetricPoint { RunId = pretrain.Id, Step = step * 20, Key = "loss/total", Value = 6.0 / step, RecordedAt = T0.AddMinutes(step) });
                    var finetune = AddRun(RunKinds.Finetune, """{"head": "linear", "learningRate": 0.01}""", seed);
                    var child = AddCheckpoint(finetune, checkpoint.Sha256, 150);
                    h.ChildSha = child.Sha256;
                    db.CheckpointAliases.Add(new CheckpointAlias { Name = "best-val", CheckpointSha256 = child.Sha256, UpdatedAt = T0 });
                    AddResult(evaluation, child, "ave2avvp", "video", "audio", "f1", 0.5, seed);
                }
            }
        }
        {
            var pretrain = AddRun(RunKinds.Pretrain, (UniCodeConfig.Small.WithMethod(Method.UniCode) with { Seed = 1, UseClub = false }).ToCanonicalJson(), 1);
            var checkpoint = AddCheckpoint(pretrain, null, 120);
            AddResult(pretrain, checkpoint, "ave", "video", "audio", "accuracy", 21, 1);
        }
        {
            var pretrain = AddRun(RunKinds.Pretrain, Config(Method.Baseline, 1, codebookSize: 64).ToCanonicalJson(), 1);
            var checkpoint = AddCheckpoint(pretrain, null, 120);
            AddResult(pretrain, checkpoint, "ave", "video", "audio", "accuracy", 5, 1);
        }
        {
            var pretrain = AddRun(RunKinds.Pretrain, """{"codebook_size": 400}""", 9);
            h.UnknownRun = pretrain.Id;
            var checkpoint = AddCheckpoint(pretrain, null, 10);
            AddResult(pretrain, checkpoint, "probe", "audio", "audio", "accuracy", 70, 9);
        }
        await db.SaveChangesAsync();
        return h;
    }
}

/// <summary>One migrated database per test class, with <see cref="HandMadeResults"/> written once.</summary>
public static class SeededDatabase
{
    private static readonly Dictionary<Type, Task<(TestDatabase, HandMadeResults)>> Databases = [];
    private static readonly Lock Gate = new();

    public static Task<(TestDatabase Db, HandMadeResults Data)> ForClassAsync(ServerFixture servers, Type testClass)
    {
        lock (Gate)
        {
            if (!Databases.TryGetValue(testClass, out var task))
            {
                task = CreateAsync(servers, testClass);
                Databases[testClass] = task;
            }
            return task;
        }
    }

    private static async Task<(TestDatabase, HandMadeResults)> CreateAsync(ServerFixture servers, Type testClass)
    {
        var db = await MigratedAsync(servers, testClass);
        return (db, await HandMadeResults.WriteAsync(db.ConnectionString));
    }

    /// <summary>The class's database, migrated (after making sure the analyst role exists, so the migration grants it).</summary>
    public static async Task<TestDatabase> MigratedAsync(ServerFixture servers, Type testClass)
    {
        await AnalystRole.EnsureAsync(servers.AdminConnectionString);
        var db = await servers.DatabaseForClassAsync(testClass);
        await DatabaseMigrator.MigrateAsync(db.ConnectionString, CancellationToken.None);
        return db;
    }

    /// <summary>Rows of a query as lists of values (DBNull → null).</summary>
    public static async Task<List<object?[]>> QueryAsync(string connectionString, string sql, string? role = null)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        if (role is not null)
        {
            await using var set = new NpgsqlCommand($"SET ROLE {role}", c);
            await set.ExecuteNonQueryAsync();
        }
        await using var command = new NpgsqlCommand(sql, c);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }
}
