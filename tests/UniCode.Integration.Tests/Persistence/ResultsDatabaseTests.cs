using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using UniCode.Integration.Tests.Infrastructure;
using UniCode.Messaging;
using UniCode.Migrations;
using UniCode.Persistence;
using UniCode.Persistence.Entities;
using static UniCode.Integration.Tests.Persistence.EntityBuilders;

namespace UniCode.Integration.Tests.Persistence;

/// <summary>The migrated results database on the real PostgreSQL (one database for this class).</summary>
[Collection(ServerCollection.Name)]
public sealed class ResultsDatabaseTests(ServerFixture servers) : IAsyncLifetime
{
    private TestDatabase _db = null!;

    public async Task InitializeAsync()
    {
        _db = await servers.DatabaseForClassAsync(typeof(ResultsDatabaseTests));
        await DatabaseMigrator.MigrateAsync(_db.ConnectionString, CancellationToken.None);   // no-op after the first test
    }

    public Task DisposeAsync() => Task.CompletedTask;   // the fixture drops the database

    private ResultsDbContext NewContext() => ResultsDbContextOptions.CreateContext(_db.ConnectionString);

    [Fact]
    public async Task Migrations_create_the_snake_case_results_tables_and_the_quartz_job_store()
    {
        await using var connection = _db.OpenConnection();

        var columns = await QueryAsync(connection,
            "SELECT table_name || '.' || column_name FROM information_schema.columns " +
            "WHERE table_schema = 'public' AND table_name NOT LIKE 'qrtz%' AND table_name <> '__EFMigrationsHistory' " +
            "AND table_name NOT IN (SELECT table_name FROM information_schema.views WHERE table_schema = 'public') " +
            "ORDER BY table_name COLLATE \"C\", ordinal_position");
        Assert.Equal(
        [
            "chain_steps.id", "chain_steps.chain_id", "chain_steps.parent_step_id", "chain_steps.kind", "chain_steps.label",
            "chain_steps.step_key", "chain_steps.job_id", "chain_steps.status", "chain_steps.attempts", "chain_steps.reason",
            "chain_steps.result_ref", "chain_steps.result_json", "chain_steps.reused_from", "chain_steps.seed", "chain_steps.task",
            "chain_steps.source_modality", "chain_steps.target_modality", "chain_steps.checkpoint_sha256", "chain_steps.head_sha256",
            "chain_steps.command_type", "chain_steps.command_json", "chain_steps.progress_step", "chain_steps.progress_total",
            "chain_steps.created_at", "chain_steps.updated_at", "chain_steps.dispatched_at", "chain_steps.started_at", "chain_steps.finished_at",
            "chain_steps.last_heartbeat_at", "chain_steps.restarts", "chain_steps.worker",
            "chains.id", "chains.name", "chains.status", "chains.force", "chains.spec_json", "chains.plan_json", "chains.step_count",
            "chains.reason", "chains.failed_step_key", "chains.submitted_at", "chains.created_at", "chains.updated_at",
            "chains.cancel_requested_at", "chains.finished_at",
            "checkpoint_aliases.name", "checkpoint_aliases.checkpoint_sha256", "checkpoint_aliases.updated_at",
            "checkpoints.sha256", "checkpoints.run_id", "checkpoints.step", "checkpoints.epoch", "checkpoints.config_hash",
            "checkpoints.dataset_hash", "checkpoints.seed", "checkpoints.code_version", "checkpoints.parent_sha256",
            "checkpoints.uri", "checkpoints.size_bytes", "checkpoints.created_at",
            "datasets.id", "datasets.name", "datasets.kind", "datasets.content_hash", "datasets.clip_count",
            "datasets.created_at", "datasets.description",
            "downstream_results.id", "downstream_results.run_id", "downstream_results.checkpoint_sha256",
            "downstream_results.task", "downstream_results.source_modality", "downstream_results.target_modality",
            "downstream_results.split", "downstream_results.protocol", "downstream_results.metric", "downstream_results.value",
            "downstream_results.seed", "downstream_results.eval_code_version", "downstream_results.dataset_hash",
            "downstream_results.created_at",
            "evaluation_suites.name", "evaluation_suites.task", "evaluation_suites.directions", "evaluation_suites.protocol",
            "evaluation_suites.split", "evaluation_suites.dataset", "evaluation_suites.finetune_json", "evaluation_suites.enabled",
            "evaluation_suites.created_at",
            "metric_points.run_id", "metric_points.step", "metric_points.key", "metric_points.value", "metric_points.recorded_at",
            "outbox_messages.id", "outbox_messages.sequence", "outbox_messages.message_type", "outbox_messages.body",
            "outbox_messages.created_at", "outbox_messages.sent_at", "outbox_messages.next_attempt_at", "outbox_messages.attempts",
            "outbox_messages.last_error",
            "pinned_baselines.name", "pinned_baselines.method", "pinned_baselines.ablation", "pinned_baselines.dataset_hash",
            "pinned_baselines.task", "pinned_baselines.created_at",
            "processed_messages.consumer", "processed_messages.message_id", "processed_messages.processed_at",
            "reevaluation_requests.pair_key", "reevaluation_requests.attempt", "reevaluation_requests.checkpoint_sha256",
            "reevaluation_requests.suite_name", "reevaluation_requests.eval_code_version", "reevaluation_requests.chain_id",
            "reevaluation_requests.requested_at",
            "runs.id", "runs.kind", "runs.chain_id", "runs.step_key", "runs.config_json", "runs.config_hash", "runs.seed",
            "runs.code_version", "runs.code_dirty", "runs.dataset_hash", "runs.device", "runs.status", "runs.error",
            "runs.created_at", "runs.started_at", "runs.finished_at", "runs.lease_renewed_at", "runs.worker",
            "workers.name", "workers.job_kind", "workers.service", "workers.queue", "workers.running_job_id",
            "workers.first_seen_at", "workers.last_seen_at",
        ], columns);

        var jsonb = await QueryAsync(connection,
            "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE data_type = 'jsonb' " +
            "AND table_name NOT IN (SELECT table_name FROM information_schema.views) ORDER BY 1");
        Assert.Equal(
        [
            "chain_steps.command_json", "chain_steps.result_json", "chains.plan_json", "datasets.description",
            "evaluation_suites.finetune_json", "outbox_messages.body", "runs.config_json",
        ], jsonb);

        // The Quartz tables are exactly those the embedded script creates.
        var scriptTables = Regex.Matches(QuartzJobStoreSchema.CreateScript(), @"CREATE TABLE IF NOT EXISTS (\w+)")
            .Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal).ToList();
        var quartzTables = await QueryAsync(connection,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'qrtz\\_%' ORDER BY table_name COLLATE \"C\"");
        Assert.Equal(15, quartzTables.Count);
        Assert.Equal(scriptTables, quartzTables);
        Assert.Equal(QuartzJobStoreSchema.Tables.Order(StringComparer.Ordinal), quartzTables);

        var history = await QueryAsync(connection, "SELECT \"MigrationId\" FROM \"__EFMigrationsHistory\" ORDER BY 1");
        Assert.Collection(history,
            id => Assert.EndsWith("_InitialResultsSchema", id),
            id => Assert.EndsWith("_QuartzJobStore", id),
            id => Assert.EndsWith("_OrchestratorState", id),
            id => Assert.EndsWith("_ResultsViews", id),
            id => Assert.EndsWith("_LearningColumns", id),
            id => Assert.EndsWith("_HeartbeatsAndLeases", id),
            id => Assert.EndsWith("_RunLeases", id));
    }

    [Fact]
    public async Task Dataset_run_checkpoint_lineage_result_and_metrics_round_trip()
    {
        var dataset = Dataset();
        var pretrain = Run(RunKinds.Pretrain, dataset.ContentHash);
        var evaluation = Run(RunKinds.Evaluate, dataset.ContentHash);
        var parent = Checkpoint(pretrain, null, step: 100);
        var child = Checkpoint(pretrain, parent.Sha256, step: 200);
        var result = Result(evaluation, child, "accuracy", 0.5625);
        var localTime = new DateTimeOffset(2026, 11, 25, 15, 30, 0, TimeSpan.FromHours(2));   // 13:30 UTC
        pretrain.StartedAt = localTime;
        await using (var write = NewContext())
        {
            write.AddRange(dataset, pretrain, evaluation, parent, child, result);
            write.MetricPoints.AddRange(
                new MetricPoint { RunId = pretrain.Id, Step = 100, Key = "loss", Value = 1.5, RecordedAt = T0 },
                new MetricPoint { RunId = pretrain.Id, Step = 200, Key = "loss", Value = 0.75, RecordedAt = T0 });
            write.CheckpointAliases.Add(new CheckpointAlias { Name = "best-val-" + pretrain.Id, CheckpointSha256 = child.Sha256, UpdatedAt = T0 });
            await write.SaveChangesAsync();
        }

        await using var read = NewContext();
        var d = await read.Datasets.SingleAsync(x => x.ContentHash == dataset.ContentHash);
        Assert.Equal((dataset.Id, dataset.Name, "synth", 64, T0), (d.Id, d.Name, d.Kind, d.ClipCount, d.CreatedAt));
        Assert.Equal(48, System.Text.Json.JsonDocument.Parse(d.Description!).RootElement.GetProperty("splits").GetProperty("train").GetInt32());

        var r = await read.Runs.Include(x => x.Checkpoints).Include(x => x.Metrics).SingleAsync(x => x.StepKey == pretrain.StepKey);
        Assert.Equal((pretrain.Id, "pretrain", pretrain.ChainId, pretrain.ConfigHash, 43L, "abc1234", true, dataset.ContentHash, "cpu", "queued"),
            (r.Id, r.Kind, r.ChainId, r.ConfigHash, r.Seed, r.CodeVersion, r.CodeDirty, r.DatasetHash, r.Device, r.Status));
        Assert.Equal(400, System.Text.Json.JsonDocument.Parse(r.ConfigJson).RootElement.GetProperty("codebook_size").GetInt32());
        Assert.Equal(localTime, r.StartedAt);                   // same instant ...
        Assert.Equal(TimeSpan.Zero, r.StartedAt!.Value.Offset); // ... stored and read as UTC
        Assert.Null(r.FinishedAt);
        Assert.NotEqual(0u, r.Version);                         // xmin is read back as the concurrency token
        Assert.Equal([100L, 200L], r.Checkpoints.Select(c => c.Step).Order());
        Assert.Equal([1.5, 0.75], r.Metrics.OrderBy(m => m.Step).Select(m => m.Value));

        var c = await read.Checkpoints.Include(x => x.Parent).SingleAsync(x => x.Sha256 == child.Sha256);
        Assert.Equal(parent.Sha256, c.Parent!.Sha256);
        Assert.Equal((200L, 2, pretrain.ConfigHash, 43L, child.Uri, 3_290_361L), (c.Step, c.Epoch, c.ConfigHash, c.Seed, c.Uri, c.SizeBytes));
        var children = await read.Checkpoints.Where(x => x.ParentSha256 == parent.Sha256).Select(x => x.Sha256).ToListAsync();
        Assert.Equal([child.Sha256], children);

        var alias = await read.CheckpointAliases.Include(a => a.Checkpoint).SingleAsync(a => a.Name == "best-val-" + pretrain.Id);
        Assert.Equal(child.Sha256, alias.Checkpoint.Sha256);

        var res = await read.DownstreamResults.Include(x => x.Checkpoint).SingleAsync(x => x.Id == result.Id);
        Assert.Equal((evaluation.Id, child.Sha256, "ave-classification", "audio", "video", "test", "linear-probe", "accuracy", 0.5625, 7L, "def5678", dataset.ContentHash),
            (res.RunId, res.CheckpointSha256, res.Task, res.SourceModality, res.TargetModality, res.Split, res.Protocol, res.Metric, res.Value, res.Seed, res.EvalCodeVersion, res.DatasetHash));
        Assert.Equal(parent.Sha256, res.Checkpoint.ParentSha256);
    }

    [Fact]
    public async Task A_second_result_for_the_same_evaluation_identity_is_rejected()
    {
        var dataset = Dataset();
        var pretrain = Run(RunKinds.Pretrain, dataset.ContentHash);
        var evaluation = Run(RunKinds.Evaluate, dataset.ContentHash);
        var checkpoint = Checkpoint(pretrain, null, step: 100);
        await using (var setup = NewContext())
        {
            setup.AddRange(dataset, pretrain, evaluation, checkpoint, Result(evaluation, checkpoint, "accuracy", 0.5));
            await setup.SaveChangesAsync();
        }

        await using (var other = NewContext())
        {
            // Same metric and identity: rejected, even with a different value and seed.
            other.Add(Result(evaluation, checkpoint, "accuracy", 0.75));
            var e = await Assert.ThrowsAsync<DbUpdateException>(() => other.SaveChangesAsync());
            var pg = Assert.IsType<PostgresException>(e.InnerException);
            Assert.Equal(PostgresErrorCodes.UniqueViolation, pg.SqlState);
            Assert.Equal("ux_downstream_results_natural_key", pg.ConstraintName);
        }

        await using (var different = NewContext())
        {
            // Another metric, or a new evaluation code version, is a new row.
            different.Add(Result(evaluation, checkpoint, "f1", 0.4));
            var newCode = Result(evaluation, checkpoint, "accuracy", 0.55);
            newCode.EvalCodeVersion = "0123abc";
            different.Add(newCode);
            await different.SaveChangesAsync();
        }
        await using var read = NewContext();
        Assert.Equal(3, await read.DownstreamResults.CountAsync(r => r.CheckpointSha256 == checkpoint.Sha256));
    }

    [Fact]
    public async Task A_second_dataset_with_the_same_content_hash_is_rejected()
    {
        var first = Dataset();
        await using (var setup = NewContext())
        {
            setup.Add(first);
            await setup.SaveChangesAsync();
        }

        await using var other = NewContext();
        other.Add(Dataset(contentHash: first.ContentHash));
        var e = await Assert.ThrowsAsync<DbUpdateException>(() => other.SaveChangesAsync());
        var pg = Assert.IsType<PostgresException>(e.InnerException);
        Assert.Equal(PostgresErrorCodes.UniqueViolation, pg.SqlState);
        Assert.Equal("ux_datasets_content_hash", pg.ConstraintName);
    }

    [Fact]
    public async Task Lineage_and_value_constraints_reject_bad_rows()
    {
        var dataset = Dataset();
        var run = Run(RunKinds.Pretrain, dataset.ContentHash);
        await using (var setup = NewContext())
        {
            setup.AddRange(dataset, run);
            await setup.SaveChangesAsync();
        }

        async Task<PostgresException> Rejected(object entity)
        {
            await using var context = NewContext();
            context.Add(entity);
            var e = await Assert.ThrowsAsync<DbUpdateException>(() => context.SaveChangesAsync());
            return Assert.IsType<PostgresException>(e.InnerException);
        }

        var orphan = await Rejected(Checkpoint(run, parentSha: NewSha(), step: 1));
        Assert.Equal((PostgresErrorCodes.ForeignKeyViolation, "fk_checkpoints_checkpoints_parent_sha256"), (orphan.SqlState, orphan.ConstraintName));

        var upperCaseSha = Checkpoint(run, null, step: 1);
        upperCaseSha.Sha256 = upperCaseSha.Sha256.ToUpperInvariant();
        var sha = await Rejected(upperCaseSha);
        Assert.Equal((PostgresErrorCodes.CheckViolation, "ck_checkpoints_sha256"), (sha.SqlState, sha.ConstraintName));

        var badStatus = Run(RunKinds.Pretrain, dataset.ContentHash);
        badStatus.Status = "done";
        var status = await Rejected(badStatus);
        Assert.Equal((PostgresErrorCodes.CheckViolation, "ck_runs_status"), (status.SqlState, status.ConstraintName));

        var badName = Dataset();
        badName.Name = "ave:/data/ave";   // kind is synth
        var name = await Rejected(badName);
        Assert.Equal((PostgresErrorCodes.CheckViolation, "ck_datasets_name_has_kind"), (name.SqlState, name.ConstraintName));
    }

    [Fact]
    public async Task Concurrent_updates_of_a_run_conflict_instead_of_overwriting()
    {
        var dataset = Dataset();
        var run = Run(RunKinds.Pretrain, dataset.ContentHash);
        await using (var setup = NewContext())
        {
            setup.AddRange(dataset, run);
            await setup.SaveChangesAsync();
        }

        await using var worker = NewContext();
        await using var coordinator = NewContext();
        var seenByWorker = await worker.Runs.SingleAsync(r => r.Id == run.Id);
        var seenByCoordinator = await coordinator.Runs.SingleAsync(r => r.Id == run.Id);

        seenByWorker.Status = RunStatuses.Running;
        seenByWorker.StartedAt = T0.AddMinutes(1);
        await worker.SaveChangesAsync();
        seenByCoordinator.Status = RunStatuses.Cancelled;
        var conflict = await Assert.ThrowsAsync<DbUpdateConcurrencyException>(() => coordinator.SaveChangesAsync());

        Assert.True(TransientErrors.IsTransient(conflict));   // the bus retries the consumer, which re-reads the row
        await using var read = NewContext();
        Assert.Equal(RunStatuses.Running, (await read.Runs.SingleAsync(r => r.Id == run.Id)).Status);
    }

    private static async Task<List<string>> QueryAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync()) rows.Add(reader.GetString(0));
        return rows;
    }
}
