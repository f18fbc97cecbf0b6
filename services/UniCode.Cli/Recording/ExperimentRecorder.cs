using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using UniCode.Cli.Commands.Results;
using UniCode.Core;
using UniCode.Data;
using UniCode.Experiments;
using UniCode.Messaging;
using UniCode.Model.Checkpoints;
using UniCode.Model.Runtime;
using UniCode.Persistence.Entities;
using UniCode.Persistence.Writers;

namespace UniCode.Cli.Recording;

/// <summary>What the results database needs to know about the checkpoint file of an in-process run.</summary>
/// <param name="Uri">Where the file is (file:// URI), or "none:FILE" when the run did not keep it.</param>
public sealed record CheckpointFacts(long Step, int Epoch, string? ParentSha256, long SizeBytes, DateTimeOffset CreatedAt, string Uri)
{
    /// <summary>
    /// Reads the checkpoint with sha256 <paramref name="sha256"/> among the step-*.ckpt files of
    /// <paramref name="directory"/> (the run's checkpoint folder). <paramref name="kept"/>: the folder outlives the
    /// run (the URI points at the file); otherwise the URI is "none:" + the file name.
    /// </summary>
    public static CheckpointFacts Find(string directory, string sha256, bool kept)
    {
        var files = Directory.Exists(directory) ? Directory.GetFiles(directory, "step-*.ckpt").OrderDescending(StringComparer.Ordinal).ToList() : [];
        foreach (var path in files)
        {
            if (Sha256.OfFile(path) != sha256) continue;
            var meta = CheckpointFile.ReadMetadata(path);
            var full = Path.GetFullPath(path);
            return new CheckpointFacts(meta.Step, meta.Epoch, meta.ParentSha256, new FileInfo(full).Length, meta.CreatedAt,
                kept ? new Uri(full).AbsoluteUri : "none:" + Path.GetFileName(full));
        }
        throw new InvalidOperationException($"checkpoint {sha256} is not among the {files.Count} checkpoint file(s) in '{directory}': cannot record its step and epoch");
    }
}

/// <summary>One in-process experiment to record: the spec and result, and what the result does not carry.</summary>
/// <param name="DatasetName">The dataset's canonical name (ClipDataset.Name, e.g. "synth:clips=96,…").</param>
/// <param name="ClipCount">Clips in the dataset.</param>
/// <param name="Device">Where it ran ("cpu", "cuda:0").</param>
/// <param name="Checkpoint">The checkpoint file's facts; null only when the checkpoint is already recorded (a reused result).</param>
public sealed record ExperimentRecord(ExperimentSpec Spec, ExperimentResult Result, string DatasetName, int ClipCount, string Device, CheckpointFacts? Checkpoint);

/// <summary>What <see cref="ExperimentRecorder.Record"/> wrote: ids, and how many rows were new.</summary>
public sealed record RecordOutcome(Guid PretrainRunId, Guid EvaluationRunId, bool DatasetAdded, bool PretrainRunAdded, bool EvaluationRunAdded,
    bool CheckpointAdded, int ResultsAdded, int ResultsTotal, int MetricPointsWritten)
{
    public string Summary(string database) =>
        $"recorded in {database}: pre-training run {PretrainRunId} ({(PretrainRunAdded ? "new" : "already there")}), " +
        $"checkpoint {(CheckpointAdded ? "new" : "already there")}, {ResultsAdded} of {ResultsTotal} result row(s) new" +
        (DatasetAdded ? ", dataset new" : "");
}

/// <summary>
/// Writes an in-process experiment (`unicode run --record`, `unicode bench-science --record`) into the
/// results database, as the pipeline would: the dataset, a 'pretrain' run (config JSON and hash, seed, code
/// version and dirty flag), its checkpoint, an 'evaluate' run and one downstream_results row per metric row,
/// plus the final losses and codebook use as metric points. Every insert is keyed by a natural key
/// (content hash, step key, sha256, the results' unique key) and skips rows that exist, so recording the
/// same result again adds nothing; datasets, checkpoints, results and metric points go through the table
/// writers of <c>UniCode.Persistence.Writers</c>, with the conflict rules every service uses (a metric point
/// recorded again with another value takes the new one). All rows are written in one transaction.
/// </summary>
/// <remarks>
/// Step keys use the kinds "cli/pretrain" and "cli/evaluate", so in-process records never take the identity
/// (step key, job id) of a pipeline job for the same config.
/// </remarks>
public sealed class ExperimentRecorder(NpgsqlConnection connection)
{
    public const string PretrainStepKind = "cli/pretrain";
    public const string EvaluateStepKind = "cli/evaluate";

    /// <summary>Whether the checkpoint is recorded already (then a result can be recorded without its file).</summary>
    public bool HasCheckpoint(string sha256)
    {
        using var c = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM checkpoints WHERE sha256 = @s)", connection);
        c.Parameters.AddWithValue("s", sha256);
        return (bool)c.ExecuteScalar()!;
    }

    /// <summary>Checks that the tables exist before a long run (a missing schema names `unicode migrate`).</summary>
    public void CheckSchema()
    {
        using var c = new NpgsqlCommand("SELECT to_regclass('public.downstream_results') IS NOT NULL AND to_regclass('public.pinned_baselines') IS NOT NULL", connection);
        if (c.ExecuteScalar() is not true)
            throw new InvalidOperationException($"the results database {connection.Host}:{connection.Port}/{connection.Database} has no results tables yet: apply the migrations with `unicode migrate`");
    }

    public RecordOutcome Record(ExperimentRecord record)
    {
        var (spec, r) = (record.Spec, record.Result);
        var now = DateTimeOffset.UtcNow;
        var dirty = r.CodeVersion.EndsWith("-dirty", StringComparison.Ordinal);
        var commit = dirty ? r.CodeVersion[..^"-dirty".Length] : r.CodeVersion;
        var kind = DatasetName.Parse(record.DatasetName).Kind switch
        {
            DatasetKind.Ave => DatasetKinds.Ave,
            DatasetKind.VggSound => DatasetKinds.VggSound,
            DatasetKind.Avvp => DatasetKinds.Avvp,
            DatasetKind.Npy => DatasetKinds.Npy,
            _ => DatasetKinds.Synth,
        };
        var pretrainKey = StepKeys.Compute(PretrainStepKind, r.ConfigJson, [r.DatasetHash], r.CodeVersion);
        var pretrainId = StepKeys.JobId(pretrainKey);
        var protocol = r.Rows.Select(x => x.Protocol).Distinct().SingleOrDefault() ?? spec.Protocol.ToString();
        var evalConfig = Canonical(new JsonObject
        {
            ["checkpointSha256"] = r.CheckpointSha256,
            ["downstreamEpochs"] = spec.DownstreamEpochs,
            ["protocol"] = protocol,
            ["seed"] = r.Seed,
            ["task"] = r.Task,
        });
        var evalKey = StepKeys.Compute(EvaluateStepKind, evalConfig, [r.CheckpointSha256, r.DatasetHash], r.CodeVersion);
        var evalId = StepKeys.JobId(evalKey);
        var duration = TimeSpan.FromSeconds(r.PretrainSeconds + r.DownstreamSeconds);

        using var tx = connection.BeginTransaction();
        var writer = new TableWriter(connection, tx);
        var (_, datasetAdded) = Wait(DatasetsWriter.InsertAsync(writer, new Dataset
        {
            Id = Guid.NewGuid(), Name = record.DatasetName, Kind = kind, ContentHash = r.DatasetHash, ClipCount = record.ClipCount, CreatedAt = now,
            Description = Canonical(new JsonObject { ["recordedBy"] = "unicode CLI", ["spec"] = r.Dataset }),
        }, CancellationToken.None));

        bool AddRun(Guid id, string runKind, string stepKey, string configJson, string configHash) => Execute(tx,
            "INSERT INTO runs (id, kind, chain_id, step_key, config_json, config_hash, seed, code_version, code_dirty, dataset_hash, device, status, error, created_at, started_at, finished_at) " +
            "VALUES (@id, @kind, NULL, @key, @config::jsonb, @config_hash, @seed, @code, @dirty, @dataset, @device, @status, NULL, @now, @started, @now) " +
            "ON CONFLICT (step_key) DO NOTHING",
            ("id", id), ("kind", runKind), ("key", stepKey), ("config", configJson), ("config_hash", configHash), ("seed", r.Seed), ("code", commit),
            ("dirty", dirty), ("dataset", r.DatasetHash), ("device", record.Device), ("status", RunStatuses.Succeeded), ("now", now), ("started", now - duration)) > 0;
        var pretrainAdded = AddRun(pretrainId, RunKinds.Pretrain, pretrainKey, r.ConfigJson, r.ConfigHash);
        // The row that holds this step key may be older (another id if it was written otherwise): use its id.
        pretrainId = Scalar<Guid>(tx, "SELECT id FROM runs WHERE step_key = @key", ("key", pretrainKey));
        var evalAdded = AddRun(evalId, RunKinds.Evaluate, evalKey, evalConfig, StepKeys.Sha256Hex(System.Text.Encoding.UTF8.GetBytes(evalConfig)));
        evalId = Scalar<Guid>(tx, "SELECT id FROM runs WHERE step_key = @key", ("key", evalKey));

        var checkpointAdded = false;
        if (!Scalar<bool>(tx, "SELECT EXISTS (SELECT 1 FROM checkpoints WHERE sha256 = @s)", ("s", r.CheckpointSha256)))
        {
            var facts = record.Checkpoint ?? throw new InvalidOperationException(
                $"checkpoint {r.CheckpointSha256} is not recorded yet and its file is gone: run the experiment again to record it");
            // A parent that was never recorded (pruned resume checkpoints) cannot be referenced.
            var parent = facts.ParentSha256 is { } p && Scalar<bool>(tx, "SELECT EXISTS (SELECT 1 FROM checkpoints WHERE sha256 = @s)", ("s", p)) ? p : null;
            checkpointAdded = Wait(CheckpointsWriter.InsertAsync(writer, new Checkpoint
            {
                Sha256 = r.CheckpointSha256, RunId = pretrainId, Step = facts.Step, Epoch = facts.Epoch, ConfigHash = r.ConfigHash,
                DatasetHash = r.DatasetHash, Seed = r.Seed, CodeVersion = commit, ParentSha256 = parent, Uri = facts.Uri,
                SizeBytes = facts.SizeBytes, CreatedAt = facts.CreatedAt,
            }, CancellationToken.None));
        }

        var rows = r.Rows;
        var resultsAdded = Wait(DownstreamResultsWriter.InsertAsync(writer, rows.Select(x => new DownstreamResult
        {
            Id = Guid.NewGuid(), RunId = evalId, CheckpointSha256 = r.CheckpointSha256, Task = x.Task,
            SourceModality = x.Source.ToString().ToLowerInvariant(), TargetModality = x.Target.ToString().ToLowerInvariant(),
            Split = x.Split, Protocol = x.Protocol, Metric = x.Metric, Value = x.Value, Seed = x.Seed,
            EvalCodeVersion = r.CodeVersion, DatasetHash = x.DatasetHash, CreatedAt = now,
        }).ToList(), CancellationToken.None));

        // The end of pre-training as metric points of the pretrain run, at the checkpoint's step.
        var step = Scalar<long>(tx, "SELECT step FROM checkpoints WHERE sha256 = @s", ("s", r.CheckpointSha256));
        var points = r.FinalLosses.Select(kv => ("pretrain/" + kv.Key, kv.Value))
            .Concat([("codebook/used", r.Codebook.Used), ("codebook/used_by_all", r.Codebook.UsedByAll), ("codebook/used_by_one_only", (double)r.Codebook.UsedByOneOnly),
                     ("time/pretrain_seconds", r.PretrainSeconds), ("time/downstream_seconds", r.DownstreamSeconds)])
            .ToList();
        var pointsWritten = Wait(MetricPointsWriter.WriteAsync(writer, pretrainId, step, points, now, CancellationToken.None));
        tx.Commit();
        return new RecordOutcome(pretrainId, evalId, datasetAdded, pretrainAdded, evalAdded, checkpointAdded, resultsAdded, rows.Count, pointsWritten);
    }

    /// <summary>Sorted keys, no whitespace: the same object always has the same text (and hash).</summary>
    private static string Canonical(JsonObject o) =>
        new JsonObject(o.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, kv.Value?.DeepClone())))
            .ToJsonString(new JsonSerializerOptions { WriteIndented = false });

    /// <summary>The table writers are asynchronous; the recorder runs on the command line's thread, which has no synchronisation context.</summary>
    private static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();

    private int Execute(NpgsqlTransaction tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var c = Command(tx, sql, parameters);
        return c.ExecuteNonQuery();
    }

    private T Scalar<T>(NpgsqlTransaction tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var c = Command(tx, sql, parameters);
        return (T)c.ExecuteScalar()!;
    }

    private NpgsqlCommand Command(NpgsqlTransaction tx, string sql, (string Name, object? Value)[] parameters)
    {
        var c = new NpgsqlCommand(sql, connection, tx);
        foreach (var (name, value) in parameters)
        {
            var p = value switch
            {
                DateTimeOffset t => new NpgsqlParameter(name, NpgsqlDbType.TimestampTz) { Value = t.UtcDateTime },
                string s => new NpgsqlParameter(name, NpgsqlDbType.Text) { Value = s },
                _ => new NpgsqlParameter(name, value ?? DBNull.Value),
            };
            c.Parameters.Add(p);
        }
        return c;
    }
}
