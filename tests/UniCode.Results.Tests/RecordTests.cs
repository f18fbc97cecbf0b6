using System.Text.Json;
using UniCode.Results.Tests.Infrastructure;
using static UniCode.Results.Tests.Infrastructure.Cli;
using static UniCode.Results.Tests.Infrastructure.SeededDatabase;

namespace UniCode.Results.Tests;

/// <summary>`unicode run --record` on a tiny synthetic dataset: rows written once, and visible in the views.</summary>
[Collection(ServerCollection.Name)]
public sealed class RecordTests(ServerFixture servers) : IAsyncLifetime, IDisposable
{
    private const string Data = "synth:clips=96,classes=4,audio=16,video=8,grid=5,text=0,seed=3";
    private readonly string dir = Directory.CreateTempSubdirectory("unicode-record-").FullName;
    private TestDatabase db = null!;

    public async Task InitializeAsync() => db = await MigratedAsync(servers, typeof(RecordTests));

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private (int Code, string Out, string Err) Record(params string[] extra) =>
        Unicode(["run", "--data", Data, "--pretrain-epochs", "1", "--downstream-epochs", "2", "--seed", "5", "--record", "--connection", db.ConnectionString, .. extra]);

    private async Task<long[]> CountsAsync() =>
        (await QueryAsync(db.ConnectionString,
            "SELECT (SELECT count(*) FROM datasets), (SELECT count(*) FROM runs), (SELECT count(*) FROM checkpoints), " +
            "(SELECT count(*) FROM downstream_results), (SELECT count(*) FROM metric_points)"))[0].Select(v => (long)v!).ToArray();

    [Fact]
    public async Task Recording_the_same_run_twice_writes_its_rows_once()
    {
        var checkpoints = Path.Combine(dir, "ckpt");
        var json = Path.Combine(dir, "r.json");
        var (code, _, err) = Record("--checkpoints", checkpoints, "--json", json);
        Assert.True(code == 0, err);
        Assert.Contains("checkpoint new, 26 of 26 result row(s) new, dataset new", err);
        var first = await CountsAsync();
        Assert.Equal([1L, 2L, 1L, 26L], first.Take(4));   // dataset, pretrain + evaluate runs, checkpoint, 4 directions × (accuracy, epoch, learned, collapsed, chance, probe_ceiling) + memorised_terms of the 2 cross-modal ones
        Assert.True(first[4] > 5);                        // final losses and codebook use as metric points

        // The same run again (resumed from its finished checkpoint: the same sha256): nothing new.
        (code, _, err) = Record("--checkpoints", checkpoints);
        Assert.True(code == 0, err);
        Assert.Contains("(already there), checkpoint already there, 0 of 26 result row(s) new", err);
        Assert.Equal(first, await CountsAsync());

        using var result = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var sha = result.RootElement.GetProperty("checkpoint_sha256").GetString()!;
        var configHash = result.RootElement.GetProperty("config_hash").GetString()!;
        var run = await QueryAsync(db.ConnectionString,
            "SELECT r.kind, r.seed, r.config_hash, r.code_version || CASE WHEN r.code_dirty THEN '-dirty' ELSE '' END, c.run_id = r.id, c.uri, " +
            "r.status, r.config_json ->> 'codebookSize', d.name, d.clip_count " +
            $"FROM checkpoints c JOIN runs r ON r.id = c.run_id JOIN datasets d ON d.content_hash = r.dataset_hash WHERE c.sha256 = '{sha}'");
        var r = Assert.Single(run);
        Assert.Equal(("pretrain", 5L, configHash, true, "succeeded", 96), ((string)r[0]!, (long)r[1]!, (string)r[2]!, (bool)r[4]!, (string)r[6]!, (int)r[9]!));
        Assert.Equal(UniCode.Model.Runtime.CodeVersion.Current, r[3]);   // commit + dirty flag
        Assert.StartsWith("file://", (string)r[5]!);
        Assert.EndsWith(".ckpt", (string)r[5]!);
        Assert.StartsWith("synth:seed=3,clips=96,classes=4", (string)r[8]!);

        var views = await QueryAsync(db.ConnectionString,
            $"SELECT DISTINCT method, ablation, modalities, seed, task, protocol FROM v_results WHERE checkpoint_sha256 = '{sha}'");
        Assert.Equal(["unicode", "", "av", 5L, "ave", "held-out"], Assert.Single(views));
        var board = await QueryAsync(db.ConnectionString, "SELECT direction, n_seeds, mean FROM v_leaderboard WHERE metric = 'accuracy' ORDER BY direction");
        Assert.Equal(["a2a", "a2v", "v2a", "v2v"], board.Select(b => (string)b[0]!));
        var values = result.RootElement.GetProperty("results");
        Assert.All(board, b => Assert.Equal(values.GetProperty((string)b[0]!).GetDouble(), (double)b[2]!, 9));
    }

    [Fact]
    public async Task A_run_on_constant_inputs_warns_that_it_collapsed_and_the_leaderboard_flags_it()
    {
        // signal, style and noise 0: every feature of every clip is 0, so every clip gets the same codes.
        var (code, _, err) = Unicode(["run", "--data", "synth:clips=96,classes=4,audio=16,video=8,grid=5,text=0,seed=3,signal=0,style=0,noise=0",
            "--pretrain-epochs", "1", "--downstream-epochs", "2", "--seed", "5", "--record", "--connection", db.ConnectionString]);
        Assert.True(code == 0, err);
        Assert.Contains("warning: Uni-Code seed 5: audio codes collapsed on val", err);
        Assert.Contains("warning: Uni-Code seed 5: video codes collapsed on val", err);
        Assert.Contains("this result did not learn; do not read it as a score", err);

        var board = await QueryAsync(db.ConnectionString,
            "SELECT direction, learned_share, collapsed_share, chance, probe_ceiling FROM v_leaderboard " +
            "WHERE metric = 'accuracy' AND dataset_name LIKE '%,signal=0,style=0,noise=0,%' ORDER BY direction");
        Assert.Equal(["a2a", "a2v", "v2a", "v2v"], board.Select(b => (string)b[0]!));
        Assert.All(board, b =>
        {
            Assert.Equal(0.0, (double)b[1]!);          // learned in no seed
            Assert.Equal(1.0, (double)b[2]!);          // the target's codes collapsed in every seed
            Assert.Equal(25.0, (double)b[3]!, 9);      // 4 classes
            Assert.InRange((double)b[4]!, 0.0, 100.0); // the raw probe ran (on all-zero features it cannot beat the prior)
        });
        var other = await QueryAsync(db.ConnectionString, "SELECT count(*) FROM v_leaderboard WHERE metric = 'epoch' AND (learned_share IS NOT NULL OR chance IS NOT NULL) " +
            "AND dataset_name LIKE '%,signal=0,style=0,noise=0,%'");
        Assert.Equal(0L, other[0][0]);   // the columns sit beside the scores only
    }

    [Fact]
    public async Task Bench_science_records_its_runs_and_compare_shows_its_table_from_the_database()
    {
        const string data = "synth:clips=96,classes=4,audio=16,video=8,grid=5,text=0,seed=4";
        string[] bench = ["bench-science", "--data", data, "--rows", "baseline", "--seeds", "1,2", "--pretrain-epochs", "1", "--downstream-epochs", "2",
            "--json-dir", Path.Combine(dir, "bench-runs"), "--out", Path.Combine(dir, "bench.md"), "--record", "--connection", db.ConnectionString];
        // Without --record first: the JSON results exist, but their checkpoints are gone and not recorded ...
        var (code, _, err) = Unicode(bench[..^3]);
        Assert.True(code == 0, err);
        // ... so --record runs them again to record their checkpoints.
        (code, var markdown, err) = Unicode(bench);
        Assert.True(code == 0, err);
        Assert.Equal(2, err.Split('\n').Count(l => l.Contains("is not recorded and its checkpoint is gone: running it again", StringComparison.Ordinal)));
        Assert.Equal(2, err.Split('\n').Count(l => l.Contains("24 of 24 result row(s) new", StringComparison.Ordinal)));
        var before = await CountsAsync();

        // Again: both runs are reused from their JSON files, and recording them adds nothing.
        (code, _, err) = Unicode(bench);
        Assert.True(code == 0, err);
        Assert.Equal(2, err.Split('\n').Count(l => l.Contains("reusing", StringComparison.Ordinal)));
        Assert.Equal(2, err.Split('\n').Count(l => l.Contains("checkpoint already there, 0 of 24 result row(s) new", StringComparison.Ordinal)));
        Assert.Equal(before, await CountsAsync());

        // bench-science's row and compare's row (from the database) hold the same numbers.
        using var run = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "bench-runs", "baseline-seed1.json")));
        var hash = run.RootElement.GetProperty("dataset_hash").GetString()!;
        var (ccode, compared, cerr) = Unicode("compare", "--dataset", hash[..16], "--format", "markdown", "--connection", db.ConnectionString);
        Assert.True(ccode == 0, cerr);
        var benchRow = markdown.Split('\n').Single(l => l.StartsWith("| Baseline |", StringComparison.Ordinal)).Split('|', StringSplitOptions.TrimEntries);
        var compareRow = compared.Split('\n').Single(l => l.StartsWith("| baseline |", StringComparison.Ordinal)).Split('|', StringSplitOptions.TrimEntries);
        Assert.Equal("2", compareRow[2]);                       // seeds
        Assert.Equal(benchRow[2..6], compareRow[3..7]);         // a2v, v2a, a2a, v2v: "mean ± std"
    }

    [Fact]
    public async Task A_rerun_of_the_same_seed_without_kept_checkpoints_replaces_the_value_in_the_leaderboard()
    {
        var before = await CountsAsync();
        var (code, _, err) = Record("--method", "baseline");
        Assert.True(code == 0, err);
        (code, _, err) = Record("--method", "baseline");
        Assert.True(code == 0, err);
        Assert.Contains("(already there), checkpoint new, 24 of 24 result row(s) new", err);   // same run, a new checkpoint file

        var after = await CountsAsync();
        Assert.Equal(1L, after[0]);
        // runs: the pre-training once, an evaluation per checkpoint; checkpoints and results: per run (24 result rows each: 6 per direction).
        Assert.Equal(new[] { 3L, 2L, 48L }, after.Zip(before, (a, b) => a - b).Skip(1).Take(3));
        var uris = await QueryAsync(db.ConnectionString, "SELECT DISTINCT left(uri, 5) FROM v_checkpoints WHERE method = 'baseline'");
        Assert.Equal("none:", Assert.Single(uris)[0]);   // the temporary checkpoint folder is gone
        var board = await QueryAsync(db.ConnectionString, "SELECT n_seeds FROM v_leaderboard WHERE method = 'baseline' AND metric = 'accuracy'");
        Assert.Equal(4, board.Count);
        Assert.All(board, b => Assert.Equal(1L, b[0]));   // one seed, counted once: its newest evaluation
    }
}
