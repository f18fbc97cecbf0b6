using Npgsql;
using UniCode.Cli.Commands;
using UniCode.Experiments;
using UniCode.Model.Config;
using UniCode.Results.Tests.Infrastructure;
using static UniCode.Results.Tests.Infrastructure.SeededDatabase;

namespace UniCode.Results.Tests;

/// <summary>v_results, v_leaderboard, v_ablation and the method functions on <see cref="HandMadeResults"/>.</summary>
[Collection(ServerCollection.Name)]
public sealed class ViewsTests(ServerFixture servers) : IAsyncLifetime
{
    private TestDatabase db = null!;
    private HandMadeResults data = null!;

    public async Task InitializeAsync() => (db, data) = await ForClassAsync(servers, typeof(ViewsTests));

    public Task DisposeAsync() => Task.CompletedTask;

    private static double Std(params double[] v)
    {
        var m = v.Average();
        return Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Length - 1));
    }

    [Fact]
    public async Task Leaderboard_has_mean_sample_std_best_and_rank_over_seeds_ignoring_superseded_evaluations()
    {
        var rows = await QueryAsync(db.ConnectionString,
            "SELECT variant, codebook_size, n_seeds, mean, std, best, worst, seeds, rank FROM v_leaderboard " +
            "WHERE task = 'ave' AND metric = 'accuracy' AND direction = 'v2a' ORDER BY rank, variant, codebook_size");

        Assert.Equal(4, rows.Count);
        void Check(object?[] r, string variant, int l, long n, double mean, double? std, double best, double worst, long rank)
        {
            Assert.Equal((variant, l, n, rank), ((string)r[0]!, (int)r[1]!, (long)r[2]!, (long)r[8]!));
            Assert.Equal(mean, (double)r[3]!, 9);
            if (std is null) Assert.Null(r[4]); else Assert.Equal(std.Value, (double)r[4]!, 9);
            Assert.Equal((best, worst), ((double)r[5]!, (double)r[6]!));
        }
        Check(rows[0], "unicode", 128, 3, 24, Math.Sqrt(21), 29, 20, 1);     // 99 from eval code "old" is superseded
        Check(rows[1], "unicode w/o CLUB", 128, 1, 21, null, 21, 21, 2);
        Check(rows[2], "baseline", 128, 3, 12, 2, 14, 10, 3);
        Check(rows[3], "baseline", 64, 1, 5, null, 5, 5, 4);
        Assert.Equal(new long[] { 1, 2, 3 }, (long[])rows[0][7]!);
        Assert.Equal(Std(20, 23, 29), Math.Sqrt(21), 12);

        var a2v = await QueryAsync(db.ConnectionString,
            "SELECT variant, mean, std FROM v_leaderboard WHERE task = 'ave' AND metric = 'accuracy' AND direction = 'a2v' ORDER BY rank");
        Assert.Equal(["unicode", "baseline"], a2v.Select(r => (string)r[0]!));
        Assert.Equal(42, (double)a2v[0][1]!, 9);
        Assert.Equal(Math.Sqrt(7), (double)a2v[0][2]!, 9);
        Assert.Equal(31, (double)a2v[1][1]!, 9);
        Assert.Equal(Math.Sqrt(3), (double)a2v[1][2]!, 9);
    }

    [Fact]
    public async Task Ablation_gives_the_delta_to_the_pinned_baseline_of_the_same_setting()
    {
        var rows = await QueryAsync(db.ConnectionString,
            "SELECT variant, codebook_size, mean, baseline_mean, delta, is_baseline, mean_pm_std, baseline_variant FROM v_ablation " +
            "WHERE baseline_name = 'baseline' AND task = 'ave' AND metric = 'accuracy' AND direction = 'v2a' ORDER BY codebook_size DESC, method_order, ablation");

        Assert.Equal(["baseline", "unicode", "unicode w/o CLUB", "baseline"], rows.Select(r => (string)r[0]!));
        Assert.All(rows, r => Assert.Equal("baseline", r[7]));
        Assert.Equal((12.0, 0.0, true, "12.00 ± 2.00"), ((double)r(0)[3]!, (double)r(0)[4]!, (bool)r(0)[5]!, (string)r(0)[6]!));
        Assert.Equal(12.0, (double)r(1)[4]!, 9);                       // 24 − 12
        Assert.Equal("24.00 ± 4.58", r(1)[6]);
        Assert.Equal(9.0, (double)r(2)[4]!, 9);                        // 21 − 12
        Assert.Equal("21.00", r(2)[6]);                                // one seed: no spread
        Assert.Equal((64, 5.0, 0.0), ((int)r(3)[1]!, (double)r(3)[3]!, (double)r(3)[4]!));   // compared with the L=64 baseline only
        object?[] r(int i) => rows[i];

        var a2v = await QueryAsync(db.ConnectionString,
            "SELECT delta FROM v_ablation WHERE baseline_name = 'baseline' AND task = 'ave' AND metric = 'accuracy' AND direction = 'a2v' AND variant = 'unicode'");
        Assert.Equal(11.0, (double)Assert.Single(a2v)[0]!, 9);         // 42 − 31
    }

    [Fact]
    public async Task New_pins_add_their_own_rows_and_a_task_pin_covers_only_its_task()
    {
        await using (var c = new NpgsqlConnection(db.ConnectionString))
        {
            await c.OpenAsync();
            await using var insert = new NpgsqlCommand(
                "INSERT INTO pinned_baselines (name, method, ablation, task) VALUES ('vs-unicode', 'unicode', '', NULL), ('probe-only', 'unknown', '', 'probe') " +
                "ON CONFLICT (name) DO NOTHING", c);
            await insert.ExecuteNonQueryAsync();
        }
        var rows = await QueryAsync(db.ConnectionString,
            "SELECT variant, delta FROM v_ablation WHERE baseline_name = 'vs-unicode' AND task = 'ave' AND metric = 'accuracy' AND direction = 'v2a' AND codebook_size = 128 ORDER BY method_order, ablation");
        Assert.Equal(["baseline", "unicode", "unicode w/o CLUB"], rows.Select(r => (string)r[0]!));
        Assert.Equal([-12.0, 0.0, -3.0], rows.Select(r => Math.Round((double)r[1]!, 9)));

        var probe = await QueryAsync(db.ConnectionString, "SELECT DISTINCT task FROM v_ablation WHERE baseline_name = 'probe-only'");
        Assert.Equal("probe", Assert.Single(probe)[0]);

        // The function behind the view works without a pin.
        var adHoc = await QueryAsync(db.ConnectionString,
            "SELECT delta FROM unicode_ablation_vs('custom', 'w/o CLUB') WHERE task = 'ave' AND metric = 'accuracy' AND direction = 'v2a' AND variant = 'unicode'");
        Assert.Equal(3.0, (double)Assert.Single(adHoc)[0]!, 9);
    }

    [Fact]
    public async Task Method_and_ablation_derived_in_sql_match_the_experiments_for_every_method_and_ablation_row()
    {
        var cases = new List<(UniCodeConfig Config, string Method, string Ablation)>();
        foreach (var m in Enum.GetValues<Method>())
            cases.Add((UniCodeConfig.Small.WithMethod(m), Experiment.MethodName(m), ""));
        foreach (var row in BenchScienceCommand.Ablations)
            cases.Add((row.Ablation.Apply(UniCodeConfig.Small.WithMethod(row.Method)), "custom", row.Ablation.Label));
        cases.Add((UniCodeConfig.Small.WithMethod(Method.UniCode) with { UseClub = false, UseCodeReset = false }, "custom", "w/o CLUB, w/o reset"));
        cases.Add((UniCodeConfig.Small.WithMethod(Method.Baseline) with { UseClub = true }, "custom", "w/o Cross-CPC, w/o MM-EMA, w/o reset, w/o CMCM"));

        await using var c = new NpgsqlConnection(db.ConnectionString);
        await c.OpenAsync();
        foreach (var (config, method, ablation) in cases)
        {
            await using var q = new NpgsqlCommand("SELECT unicode_method(@c::jsonb), unicode_ablation(@c::jsonb)", c);
            q.Parameters.AddWithValue("c", config.ToCanonicalJson());
            await using var reader = await q.ExecuteReaderAsync();
            await reader.ReadAsync();
            Assert.Equal((method, ablation), (reader.GetString(0), reader.GetString(1)));
        }
        foreach (var set in new[] { ModalitySet.AudioVisual, ModalitySet.AudioText, ModalitySet.VisualText, ModalitySet.AudioVisualText })
        {
            await using var q = new NpgsqlCommand("SELECT unicode_modalities(@c::jsonb)", c);
            q.Parameters.AddWithValue("c", (UniCodeConfig.Small with { Modalities = set }).ToCanonicalJson());
            Assert.Equal(set.Code(), await q.ExecuteScalarAsync());
        }
        // A missing switch is on (UniCodeConfig.FromJson's default); no switch at all is no UniCode config.
        await using var partial = new NpgsqlCommand("""SELECT unicode_method('{"useClub": false}'), unicode_method('{"codebook_size": 400}')""", c);
        await using var pr = await partial.ExecuteReaderAsync();
        await pr.ReadAsync();
        Assert.Equal(("custom", "unknown"), (pr.GetString(0), pr.GetString(1)));
        Assert.False(UniCodeConfig.FromJson("""{"useClub": false}""").UseClub);
        Assert.True(UniCodeConfig.FromJson("""{"useClub": false}""").UseCpc);
    }

    [Fact]
    public async Task Results_rows_carry_direction_config_fields_and_the_pretraining_method_of_fine_tuned_checkpoints()
    {
        var rows = await QueryAsync(db.ConnectionString,
            "SELECT task, direction, method, variant, modalities, codebook_size, use_club, use_code_reset, seed, pretrain_run_id, checkpoint_sha256, " +
            "pretrain_checkpoint_sha256, dataset_name, config ->> 'learningRate', code_version, setting_key " +
            $"FROM v_results WHERE pretrain_run_id = '{data.UnicodeSeed1Run}' ORDER BY task, direction, metric, eval_code_version");

        Assert.Equal(5, rows.Count);   // ave: a2v accuracy, v2a accuracy (def5678 and old), v2a epoch; ave2avvp: v2a f1
        Assert.All(rows, r => Assert.Equal(("unicode", "unicode", "av", 128, true, true, 1L, "synth:hand-made", "0.0004", "abc1234"),
            ((string)r[2]!, (string)r[3]!, (string)r[4]!, (int)r[5]!, (bool)r[6]!, (bool)r[7]!, (long)r[8]!, (string)r[12]!, (string)r[13]!, (string)r[14]!)));
        Assert.Equal(["a2v", "v2a", "v2a", "v2a", "v2a"], rows.Select(r => (string)r[1]!));
        var child = Assert.Single(rows, r => (string)r[0]! == "ave2avvp");
        Assert.Equal((data.ChildSha, data.ParentSha), ((string)child[10]!, (string)child[11]!));

        // The setting key ignores the switches and the seed, and nothing else.
        var keys = await QueryAsync(db.ConnectionString,
            "SELECT DISTINCT codebook_size, setting_key FROM v_results WHERE method IN ('baseline', 'unicode', 'custom') ORDER BY 1");
        Assert.Equal([64, 128], keys.Select(k => (int)k[0]!));

        var unknown = await QueryAsync(db.ConnectionString,
            $"SELECT method, ablation, variant, use_club, modalities FROM v_results WHERE pretrain_run_id = '{data.UnknownRun}'");
        Assert.Equal(["unknown", "", "unknown", null, null], Assert.Single(unknown));
    }

    [Fact]
    public async Task Checkpoints_view_lists_aliases_children_and_results()
    {
        var rows = await QueryAsync(db.ConnectionString,
            $"SELECT sha256, run_kind, variant, aliases, n_children, n_results, depth_below_pretrain FROM v_checkpoints WHERE sha256 IN ('{data.ParentSha}', '{data.ChildSha}') ORDER BY depth_below_pretrain");
        Assert.Equal([data.ParentSha, "pretrain", "unicode", "", 1L, 4L, 0], rows[0]);
        Assert.Equal([data.ChildSha, "finetune", "unicode", "best-val", 0L, 1L, 1], rows[1]);
    }
}
