using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using UniCode.Integration.Tests.Infrastructure;
using UniCode.Persistence;

namespace UniCode.Integration.Tests.Persistence;

/// <summary>Applying and reverting the migrations; each test has a database of its own.</summary>
[Collection(ServerCollection.Name)]
public sealed class MigratorTests(ServerFixture servers)
{
    [Fact]
    public async Task Migrating_creates_the_database_and_a_second_run_applies_nothing()
    {
        await using var db = await servers.CreateDatabaseAsync(create: false);   // EF Core creates it

        var first = await DatabaseMigrator.MigrateAsync(db.ConnectionString, CancellationToken.None);
        var second = await DatabaseMigrator.MigrateAsync(db.ConnectionString, CancellationToken.None);

        Assert.Collection(first,
            id => Assert.EndsWith("_InitialResultsSchema", id),
            id => Assert.EndsWith("_QuartzJobStore", id),
            id => Assert.EndsWith("_OrchestratorState", id),
            id => Assert.EndsWith("_ResultsViews", id),
            id => Assert.EndsWith("_LearningColumns", id),
            id => Assert.EndsWith("_HeartbeatsAndLeases", id),
            id => Assert.EndsWith("_RunLeases", id));
        Assert.Empty(second);
        await using var context = ResultsDbContextOptions.CreateContext(db.ConnectionString);
        Assert.Empty(await context.Database.GetPendingMigrationsAsync());
        Assert.Equal(first, await context.Database.GetAppliedMigrationsAsync());
    }

    [Fact]
    public async Task Hosts_starting_together_on_an_empty_server_all_migrate()
    {
        await using var db = await servers.CreateDatabaseAsync(create: false);
        var runs = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ =>
            Task.Run(() => DatabaseMigrator.MigrateAsync(db.ConnectionString, CancellationToken.None))));
        // Every host finished without an error, and the database holds every migration exactly once.
        var reported = runs.SelectMany(r => r).Distinct().Order(StringComparer.Ordinal).ToList();
        await using var context = ResultsDbContextOptions.CreateContext(db.ConnectionString);
        Assert.Empty(await context.Database.GetPendingMigrationsAsync());
        var applied = (await context.Database.GetAppliedMigrationsAsync()).ToList();
        Assert.Equal(applied.Count, applied.Distinct().Count());
        Assert.Equal(context.Database.GetMigrations().Order(StringComparer.Ordinal), reported);
    }

    [Fact]
    public async Task Hosted_service_migrates_when_the_host_starts()
    {
        await using var db = await servers.CreateDatabaseAsync();
        using var host = new HostBuilder()
            .ConfigureServices(s => s.AddResultsDatabase(new DatabaseSettings(db.ConnectionString)).AddResultsDatabaseMigrationAtStartup())
            .Build();

        await host.StartAsync();
        try
        {
            using var scope = host.Services.CreateScope();
            var context = scope.ServiceProvider.GetRequiredService<ResultsDbContext>();
            Assert.Equal(7, (await context.Database.GetAppliedMigrationsAsync()).Count());
            Assert.Empty(await context.Database.GetPendingMigrationsAsync());
            Assert.Equal(0, await context.Runs.CountAsync());   // the tables exist
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Down_migrations_remove_what_the_up_migrations_created()
    {
        await using var db = await servers.CreateDatabaseAsync();
        await DatabaseMigrator.MigrateAsync(db.ConnectionString, CancellationToken.None);
        await using var context = ResultsDbContextOptions.CreateContext(db.ConnectionString);
        var migrator = context.GetService<IMigrator>();

        // RunLeases: the run's worker and lease columns go.
        await migrator.MigrateAsync("HeartbeatsAndLeases");
        await using (var connection = db.OpenConnection())
        await using (var check = new NpgsqlCommand(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'runs' AND column_name IN ('worker', 'lease_renewed_at')", connection))
            Assert.Equal(0L, await check.ExecuteScalarAsync());

        // HeartbeatsAndLeases: a stalled step goes back to running, the workers table and the new columns go.
        await using (var connection = db.OpenConnection())
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO chains (id, name, status, force, spec_json, step_count, submitted_at, created_at, updated_at) VALUES ('00000000-0000-0000-0000-000000000001', 'c', 'running', false, '{}', 1, now(), now(), now()); " +
            "INSERT INTO chain_steps (id, chain_id, kind, label, step_key, job_id, status, attempts, restarts, created_at, updated_at) VALUES " +
            "('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000001', 'pretrain', 'p', repeat('a', 64), gen_random_uuid(), 'stalled', 1, 1, now(), now())", connection))
            await insert.ExecuteNonQueryAsync();
        await migrator.MigrateAsync("LearningColumns");
        await using (var connection = db.OpenConnection())
        await using (var check = new NpgsqlCommand(
            "SELECT (SELECT status FROM chain_steps) || ' ' || (SELECT count(*) FROM information_schema.tables WHERE table_name = 'workers') || ' ' || " +
            "(SELECT count(*) FROM information_schema.columns WHERE table_name = 'chain_steps' AND column_name IN ('restarts', 'worker', 'last_heartbeat_at'))", connection))
            Assert.Equal("running 0 0", await check.ExecuteScalarAsync());
        await using (var connection = db.OpenConnection())
        await using (var delete = new NpgsqlCommand("DELETE FROM chains", connection))
            await delete.ExecuteNonQueryAsync();

        await migrator.MigrateAsync("QuartzJobStore");
        Assert.Equal((15L, 6L, 0L), await CountTablesAsync(db));

        await migrator.MigrateAsync("InitialResultsSchema");
        Assert.Equal((0L, 6L, 0L), await CountTablesAsync(db));

        await migrator.MigrateAsync(Migration.InitialDatabase);
        Assert.Equal((0L, 0L, 0L), await CountTablesAsync(db));

        Assert.Equal(7, (await DatabaseMigrator.MigrateAsync(db.ConnectionString, CancellationToken.None)).Count);
        Assert.Equal((15L, 6L, 6L), await CountTablesAsync(db));
    }

    /// <summary>(qrtz_ tables, results tables, orchestrator and outbox tables) in the public schema.</summary>
    private static async Task<(long Quartz, long Results, long Orchestrator)> CountTablesAsync(TestDatabase db)
    {
        await using var connection = db.OpenConnection();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FILTER (WHERE table_name LIKE 'qrtz\\_%'), " +
            "count(*) FILTER (WHERE table_name IN ('datasets','runs','checkpoints','checkpoint_aliases','downstream_results','metric_points')), " +
            "count(*) FILTER (WHERE table_name IN ('chains','chain_steps','evaluation_suites','reevaluation_requests','outbox_messages','processed_messages')) " +
            "FROM information_schema.tables WHERE table_schema = 'public'", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }
}
