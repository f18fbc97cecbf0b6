using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;
using UniCode.Migrations;
using UniCode.Persistence;
using UniCode.Results.Tests.Infrastructure;
using static UniCode.Results.Tests.Infrastructure.SeededDatabase;

namespace UniCode.Results.Tests;

/// <summary>The read-only role: it reads every table and view, writes nothing, and reads tables created later.</summary>
[Collection(ServerCollection.Name)]
public sealed class AnalystRoleTests(ServerFixture servers) : IAsyncLifetime
{
    private TestDatabase db = null!;

    public async Task InitializeAsync() => (db, _) = await ForClassAsync(servers, typeof(AnalystRoleTests));

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<PostgresException> RejectedAsync(string sql)
    {
        var e = await Assert.ThrowsAsync<PostgresException>(() => QueryAsync(db.ConnectionString, sql, AnalystRole.Name));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, e.SqlState);
        return e;
    }

    [Fact]
    public async Task The_analyst_reads_every_table_and_view()
    {
        var role = await QueryAsync(db.ConnectionString, $"SELECT rolcanlogin FROM pg_roles WHERE rolname = '{AnalystRole.Name}'");
        Assert.False((bool)Assert.Single(role)[0]!);   // a group role: people log in as its members

        string[] relations = [.. ResultsViewsSql.Views, "datasets", "runs", "checkpoints", "checkpoint_aliases", "downstream_results", "metric_points",
            "pinned_baselines", "qrtz_job_details", "\"__EFMigrationsHistory\""];
        foreach (var relation in relations)
        {
            var rows = await QueryAsync(db.ConnectionString, $"SELECT count(*) FROM {relation}", AnalystRole.Name);   // throws when not allowed
            Assert.Single(rows);
        }
        var leaderboard = await QueryAsync(db.ConnectionString, "SELECT count(*) FROM v_leaderboard WHERE task = 'ave'", AnalystRole.Name);
        Assert.True((long)leaderboard[0][0]! > 0);
        var current = await QueryAsync(db.ConnectionString, "SELECT current_user", AnalystRole.Name);
        Assert.Equal(AnalystRole.Name, current[0][0]);
    }

    [Fact]
    public async Task The_analyst_cannot_insert_update_delete_or_create()
    {
        var e = await RejectedAsync(
            "INSERT INTO runs (id, kind, step_key, config_json, config_hash, seed, code_version, code_dirty, dataset_hash, device, status, created_at) " +
            $"VALUES (gen_random_uuid(), 'pretrain', '{HandMadeResults.Sha("x")}', '{{}}', 'h', 1, 'c', false, 'd', '', 'queued', now())");
        Assert.Contains("runs", e.MessageText);
        await RejectedAsync("UPDATE pinned_baselines SET method = 'unicode' WHERE name = 'baseline'");
        await RejectedAsync("DELETE FROM downstream_results");
        await RejectedAsync("CREATE TABLE public.analyst_scratch (x int)");
        await RejectedAsync("CALL unicode_grant_analyst()");
        var pin = await QueryAsync(db.ConnectionString, "SELECT method FROM pinned_baselines WHERE name = 'baseline'");
        Assert.Equal("baseline", Assert.Single(pin)[0]);
    }

    [Fact]
    public async Task Tables_created_after_the_migration_by_the_owner_are_readable_too()
    {
        await using (var c = new NpgsqlConnection(db.ConnectionString))
        {
            await c.OpenAsync();
            await using var create = new NpgsqlCommand("CREATE TABLE later_table (x int); INSERT INTO later_table VALUES (7)", c);
            await create.ExecuteNonQueryAsync();
        }
        var rows = await QueryAsync(db.ConnectionString, "SELECT x FROM later_table", AnalystRole.Name);
        Assert.Equal(7, Assert.Single(rows)[0]);
        await RejectedAsync("INSERT INTO later_table VALUES (8)");
    }
}

/// <summary>Every example query in docs/sql runs as the analyst and returns rows on the hand-made results.</summary>
[Collection(ServerCollection.Name)]
public sealed class DocsSqlTests(ServerFixture servers) : IAsyncLifetime
{
    private TestDatabase db = null!;

    public async Task InitializeAsync() => (db, _) = await ForClassAsync(servers, typeof(DocsSqlTests));

    public Task DisposeAsync() => Task.CompletedTask;

    private static string Folder => Path.Combine(AppContext.BaseDirectory, "docs-sql");

    [Fact]
    public void The_documented_examples_are_all_there()
    {
        var files = Directory.GetFiles(Folder, "*.sql").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["ablation-pivot.sql", "baseline-deltas.sql", "checkpoint-lineage.sql", "leaderboard.sql", "metric-curves.sql"], files);
    }

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Folder, "*.sql").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)) data.Add(f);
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Example_runs_as_the_analyst_and_returns_rows(string file)
    {
        var rows = await QueryAsync(db.ConnectionString, await File.ReadAllTextAsync(Path.Combine(Folder, file)), AnalystRole.Name);
        Assert.NotEmpty(rows);
    }

    [Fact]
    public async Task Lineage_example_walks_from_the_root_to_the_newest_child()
    {
        var rows = await QueryAsync(db.ConnectionString, await File.ReadAllTextAsync(Path.Combine(Folder, "checkpoint-lineage.sql")), AnalystRole.Name);
        Assert.Equal([-1, 0], rows.Select(r => (int)r[0]!));
        Assert.Equal(["pretrain", "finetune"], rows.Select(r => (string)r[3]!));
        Assert.Equal("best-val", rows[1][8]);
        Assert.Equal(rows[0][1], rows[1][2]);   // the child's parent is the root
    }

    [Fact]
    public async Task Metric_curve_example_has_changes_and_moving_averages()
    {
        var rows = await QueryAsync(db.ConnectionString, await File.ReadAllTextAsync(Path.Combine(Folder, "metric-curves.sql")), AnalystRole.Name);
        Assert.Equal(6, rows.Count);   // loss/total = 6/k at steps 20k, k = 1..6
        Assert.Equal([20L, 40L, 60L, 80L, 100L, 120L], rows.Select(r => (long)r[5]!));
        Assert.Null(rows[0][7]);
        Assert.Equal(3.0 - 6.0, (double)rows[1][7]!, 9);
        Assert.Equal((6.0 / 2 + 6.0 / 3 + 6.0 / 4 + 6.0 / 5 + 6.0 / 6) / 5, (double)rows[5][8]!, 9);
    }
}

/// <summary>The ResultsViews migration goes down and up again cleanly.</summary>
[Collection(ServerCollection.Name)]
public sealed class ResultsViewsMigrationTests(ServerFixture servers)
{
    [Fact]
    public async Task Down_removes_views_functions_pins_and_grants_and_up_restores_them()
    {
        var db = await MigratedAsync(servers, typeof(ResultsViewsMigrationTests));
        const string state =
            "SELECT to_regclass('public.v_results') IS NOT NULL, to_regclass('public.v_ablation') IS NOT NULL, to_regclass('public.pinned_baselines') IS NOT NULL, " +
            "to_regprocedure('unicode_method(jsonb)') IS NOT NULL, has_table_privilege('unicode_analyst', 'public.runs', 'SELECT')";
        Assert.Equal([true, true, true, true, true], (await QueryAsync(db.ConnectionString, state))[0]);

        const string columns = "SELECT count(*) FROM information_schema.columns WHERE table_name = 'v_leaderboard' AND column_name IN ('learned_share', 'collapsed_share', 'chance', 'probe_ceiling')";
        Assert.Equal(4L, (await QueryAsync(db.ConnectionString, columns))[0][0]);
        await using (var context = ResultsDbContextOptions.CreateContext(db.ConnectionString))
            await context.GetService<IMigrator>().MigrateAsync("ResultsViews");
        Assert.Equal(0L, (await QueryAsync(db.ConnectionString, columns))[0][0]);   // LearningColumns down: the view as ResultsViews made it
        Assert.Equal([true, true, true, true, true], (await QueryAsync(db.ConnectionString, state))[0]);
        Assert.Equal(true, (await QueryAsync(db.ConnectionString, "SELECT has_table_privilege('unicode_analyst', 'public.v_leaderboard', 'SELECT')"))[0][0]);

        await using (var context = ResultsDbContextOptions.CreateContext(db.ConnectionString))
            await context.GetService<IMigrator>().MigrateAsync("OrchestratorState");
        Assert.Equal([false, false, false, false, false], (await QueryAsync(db.ConnectionString, state))[0]);
        var tables = await QueryAsync(db.ConnectionString, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'runs'");
        Assert.Equal(1L, tables[0][0]);   // the results tables stay

        Assert.Equal(["20261125160000_ResultsViews", "20261205030000_LearningColumns", "20261207160918_HeartbeatsAndLeases", "20261208011905_RunLeases"], await DatabaseMigrator.MigrateAsync(db.ConnectionString, CancellationToken.None));
        Assert.Equal(4L, (await QueryAsync(db.ConnectionString, columns))[0][0]);
        Assert.Equal([true, true, true, true, true], (await QueryAsync(db.ConnectionString, state))[0]);
        var pins = await QueryAsync(db.ConnectionString, "SELECT name, method, ablation FROM pinned_baselines");
        Assert.Equal(["baseline", "baseline", ""], Assert.Single(pins));
    }
}
