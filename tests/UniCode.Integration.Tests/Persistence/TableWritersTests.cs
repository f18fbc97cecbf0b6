using Microsoft.EntityFrameworkCore;
using UniCode.Integration.Tests.Infrastructure;
using UniCode.Migrations;
using UniCode.Persistence;
using UniCode.Persistence.Entities;
using UniCode.Persistence.Writers;
using static UniCode.Integration.Tests.Persistence.EntityBuilders;

namespace UniCode.Integration.Tests.Persistence;

/// <summary>
/// The one writer of each results table, on the real PostgreSQL: a second write of the same key behaves as the
/// writer's documented conflict rule says (datasets, checkpoints, results: the first row stands; metric points:
/// the latest value stands, the same value again changes nothing).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class TableWritersTests(ServerFixture servers) : IAsyncLifetime
{
    private TestDatabase _db = null!;

    public async Task InitializeAsync()
    {
        _db = await servers.DatabaseForClassAsync(typeof(TableWritersTests));
        await DatabaseMigrator.MigrateAsync(_db.ConnectionString, CancellationToken.None);   // no-op after the first test
    }

    public Task DisposeAsync() => Task.CompletedTask;   // the fixture drops the database

    private ResultsDbContext NewContext() => ResultsDbContextOptions.CreateContext(_db.ConnectionString);

    /// <summary>A dataset and a pre-training run, written as the services write them (datasets through its writer).</summary>
    private async Task<(Dataset Dataset, Run Run)> SeedRunAsync(string kind = RunKinds.Pretrain, Dataset? dataset = null)
    {
        dataset ??= Dataset();
        await using var db = NewContext();
        await DatasetsWriter.InsertAsync(db, dataset, CancellationToken.None);
        var run = Run(kind, dataset.ContentHash);
        db.Runs.Add(run);
        await db.SaveChangesAsync();
        return (dataset, run);
    }

    [Fact]
    public async Task Datasets_the_first_row_of_a_content_hash_stands_and_a_second_writer_gets_its_id()
    {
        var first = Dataset();
        await using var db = NewContext();
        Assert.Equal((first.Id, true), await DatasetsWriter.InsertAsync(db, first, CancellationToken.None));

        var second = Dataset(first.ContentHash);
        second.Name = "synth:another-name";
        second.ClipCount = 32;
        second.Description = """{"recordedBy": "a second writer"}""";
        Assert.Equal((first.Id, false), await DatasetsWriter.InsertAsync(db, second, CancellationToken.None));

        var row = await db.Datasets.AsNoTracking().SingleAsync(d => d.ContentHash == first.ContentHash);
        Assert.Equal((first.Id, first.Name, 64), (row.Id, row.Name, row.ClipCount));
        Assert.Contains("\"train\": 48", row.Description!);
    }

    [Fact]
    public async Task Checkpoints_the_first_registration_of_a_sha256_stands()
    {
        var (dataset, run) = await SeedRunAsync();
        var (_, other) = await SeedRunAsync(dataset: Dataset());
        var checkpoint = Checkpoint(run, null, step: 100);
        await using var db = NewContext();
        Assert.True(await CheckpointsWriter.InsertAsync(db, checkpoint, CancellationToken.None));

        var again = Checkpoint(other, null, step: 300);
        again.Sha256 = checkpoint.Sha256;
        Assert.False(await CheckpointsWriter.InsertAsync(db, again, CancellationToken.None));

        var row = await db.Checkpoints.AsNoTracking().SingleAsync(c => c.Sha256 == checkpoint.Sha256);
        Assert.Equal((run.Id, 100L, checkpoint.Uri, dataset.ContentHash), (row.RunId, row.Step, row.Uri, row.DatasetHash));
    }

    [Fact]
    public async Task Checkpoints_written_inside_a_context_transaction_roll_back_with_it()
    {
        var (_, run) = await SeedRunAsync();
        var checkpoint = Checkpoint(run, null, step: 100);
        await using (var db = NewContext())
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            Assert.True(await CheckpointsWriter.InsertAsync(db, checkpoint, CancellationToken.None));
            await transaction.RollbackAsync();
        }
        await using var read = NewContext();
        Assert.False(await read.Checkpoints.AnyAsync(c => c.Sha256 == checkpoint.Sha256));
    }

    [Fact]
    public async Task Downstream_results_a_recorded_result_is_never_overwritten()
    {
        var (dataset, pretrain) = await SeedRunAsync();
        var (_, evaluation) = await SeedRunAsync(RunKinds.Evaluate, dataset);
        var checkpoint = Checkpoint(pretrain, null, step: 100);
        await using var db = NewContext();
        await CheckpointsWriter.InsertAsync(db, checkpoint, CancellationToken.None);
        var accuracy = Result(evaluation, checkpoint, "accuracy", 0.5625);
        var chance = Result(evaluation, checkpoint, "chance", 0.25);
        Assert.Equal(2, await DownstreamResultsWriter.InsertAsync(db, [accuracy, chance], CancellationToken.None));

        // The same evaluation again (a re-delivery, another number for the same key) and one new metric: only the new one is written.
        var repeated = Result(evaluation, checkpoint, "accuracy", 0.75);
        var learned = Result(evaluation, checkpoint, "learned", 1);
        Assert.Equal(1, await DownstreamResultsWriter.InsertAsync(db, [repeated, learned], CancellationToken.None));
        Assert.Equal(0, await DownstreamResultsWriter.InsertAsync(db, [repeated], CancellationToken.None));

        var rows = await db.DownstreamResults.AsNoTracking().Where(r => r.CheckpointSha256 == checkpoint.Sha256).OrderBy(r => r.Metric).ToListAsync();
        Assert.Equal([("accuracy", 0.5625, accuracy.Id), ("chance", 0.25, chance.Id), ("learned", 1.0, learned.Id)], rows.Select(r => (r.Metric, r.Value, r.Id)));
    }

    [Fact]
    public async Task Metric_points_the_latest_value_stands_and_the_same_value_again_changes_nothing()
    {
        var (_, run) = await SeedRunAsync();
        await using var db = NewContext();
        Assert.Equal(2, await MetricPointsWriter.WriteAsync(db, run.Id, 10, [("loss", 1.5), ("accuracy", 0.5)], T0, CancellationToken.None));

        // A resumed job re-reports step 10 with the same loss: idempotent, the row (its recorded_at too) is untouched.
        Assert.Equal(0, await MetricPointsWriter.WriteAsync(db, run.Id, 10, [("loss", 1.5)], T0.AddMinutes(5), CancellationToken.None));
        // It recomputed step 10 to another value: the new value replaces the lost attempt's.
        Assert.Equal(1, await MetricPointsWriter.WriteAsync(db, run.Id, 10, [("loss", 1.25)], T0.AddMinutes(10), CancellationToken.None));
        // A key twice in one report: its last value.
        Assert.Equal(1, await MetricPointsWriter.WriteAsync(db, run.Id, 20, [("loss", 2.0), ("loss", 0.75)], T0.AddMinutes(20), CancellationToken.None));

        var points = await db.MetricPoints.AsNoTracking().Where(p => p.RunId == run.Id).OrderBy(p => p.Step).ThenBy(p => p.Key).ToListAsync();
        Assert.Equal(
        [
            (10L, "accuracy", 0.5, T0), (10L, "loss", 1.25, T0.AddMinutes(10)), (20L, "loss", 0.75, T0.AddMinutes(20)),
        ], points.Select(p => (p.Step, p.Key, p.Value, p.RecordedAt)));
    }
}
