using System.Globalization;
using Npgsql;
using UniCode.Results.Tests.Infrastructure;
using static UniCode.Results.Tests.Infrastructure.Cli;
using static UniCode.Results.Tests.Infrastructure.SeededDatabase;

namespace UniCode.Results.Tests;

/// <summary>`unicode results / compare / export / checkpoints` on <see cref="HandMadeResults"/>, run in process.</summary>
[Collection(ServerCollection.Name)]
public sealed class ResultsCliTests(ServerFixture servers) : IAsyncLifetime, IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("unicode-results-").FullName;
    private TestDatabase db = null!;
    private HandMadeResults data = null!;
    private string setting128 = "";
    private string setting64 = "";

    public async Task InitializeAsync()
    {
        (db, data) = await ForClassAsync(servers, typeof(ResultsCliTests));
        var keys = await QueryAsync(db.ConnectionString, "SELECT DISTINCT codebook_size, setting_key FROM v_results WHERE method <> 'unknown'");
        setting128 = (string)keys.Single(k => (int)k[0]! == 128)[1]!;
        setting64 = (string)keys.Single(k => (int)k[0]! == 64)[1]!;
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private (int Code, string Out, string Err) Run(params string[] args) => Unicode([.. args, "--connection", db.ConnectionString]);

    [Fact]
    public void Compare_as_latex_is_a_booktabs_table_with_mean_std_deltas_and_the_best_in_bold()
    {
        var (code, output, err) = Run("compare", "--task", "ave", "--format", "latex");

        Assert.True(code == 0, err);
        var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Contains(@"\begin{tabular}{lrlrrr}", lines);
        var header = lines.IndexOf(@"method & L & setting & n & a2v & v2a \\");
        Assert.Equal(@"\toprule", lines[header - 1]);
        Assert.Equal(@"\midrule", lines[header + 1]);
        Assert.Contains($@"baseline & 128 & {setting128} & 3 & $31.0 \pm 1.7$ & $12.0 \pm 2.0$ \\", lines);
        Assert.Contains($@"unicode & 128 & {setting128} & 3 & $\mathbf{{42.0 \pm 2.6}}$ ($+11.0$) & $\mathbf{{24.0 \pm 4.6}}$ ($+12.0$) \\", lines);
        Assert.Contains($@"unicode w/o CLUB & 128 & {setting128} & 1 & -- & $21.0$ ($+9.0$) \\", lines);
        Assert.Contains($@"baseline & 64 & {setting64} & 1 & -- & $5.0$ \\", lines);   // its own setting's baseline: no delta
        Assert.Contains(@"\bottomrule", lines);
        Assert.Contains(@"\end{tabular}", lines);
        // The constant facts are a comment above the table.
        Assert.Contains(lines, l => l.StartsWith("% ", StringComparison.Ordinal) && l.Contains("dataset synth:hand-made · task ave · metric accuracy · protocol held-out · split test"));
        Assert.Contains(lines, l => l.StartsWith("% ", StringComparison.Ordinal) && l.Contains("pinned baseline 'baseline'"));
        // Rows in the paper's order within a setting.
        Assert.True(lines.FindIndex(l => l.StartsWith("baseline & 128", StringComparison.Ordinal)) < lines.FindIndex(l => l.StartsWith("unicode & 128", StringComparison.Ordinal)));
        Assert.True(lines.FindIndex(l => l.StartsWith("unicode & 128", StringComparison.Ordinal)) < lines.FindIndex(l => l.StartsWith("unicode w/o CLUB", StringComparison.Ordinal)));
    }

    [Fact]
    public void Compare_as_markdown_and_as_table()
    {
        var (code, md, _) = Run("compare", "--task", "ave", "--format", "markdown");
        Assert.Equal(0, code);
        Assert.Contains("| method | L | setting | n | a2v | v2a |\n|---|---:|---|---:|---:|---:|", md.ReplaceLineEndings("\n"));
        Assert.Contains($"| baseline | 128 | {setting128} | 3 | 31.0 ± 1.7 | 12.0 ± 2.0 |", md);
        Assert.Contains($"| unicode | 128 | {setting128} | 3 | **42.0 ± 2.6** (+11.0) | **24.0 ± 4.6** (+12.0) |", md);
        Assert.Contains($"| unicode w/o CLUB | 128 | {setting128} | 1 | – | 21.0 (+9.0) |", md);

        var (tcode, table, _) = Run("compare", "--task", "ave", "--decimals", "2");
        Assert.Equal(0, tcode);
        Assert.Matches(@"(?m)^unicode\s+128\s+[0-9a-f]{12}\s+3\s+42\.00 ± 2\.65 \(\+11\.00\)\s+24\.00 ± 4\.58 \(\+12\.00\)$", table);
        Assert.DoesNotContain("**", table);
    }

    [Fact]
    public void Compare_as_csv_has_exact_numbers_and_follows_the_chosen_baseline()
    {
        var (code, csv, _) = Run("compare", "--task", "ave", "--format", "csv");
        Assert.Equal(0, code);
        var rows = Csv(csv);
        var h = rows[0].ToList();
        Assert.Equal(["method", "ablation", "modalities", "L", "epochs", "setting"], h.Take(6));
        Assert.Equal(6 + 2 * 4, h.Count);
        string Cell(string method, string l, string column) => rows.Single(r => r[0] == method && r[3] == l)[h.IndexOf(column)];
        double Num(string s) => double.Parse(s, CultureInfo.InvariantCulture);
        Assert.Equal(24, Num(Cell("unicode", "128", "ave accuracy v2a mean")), 9);
        Assert.Equal(Math.Sqrt(21), Num(Cell("unicode", "128", "ave accuracy v2a std")), 9);
        Assert.Equal("3", Cell("unicode", "128", "ave accuracy v2a n"));
        Assert.Equal(12, Num(Cell("unicode", "128", "ave accuracy v2a delta")), 9);
        Assert.Equal(11, Num(Cell("unicode", "128", "ave accuracy a2v delta")), 9);
        Assert.Equal("", Cell("unicode w/o CLUB", "128", "ave accuracy a2v mean"));
        Assert.Equal("", Cell("unicode w/o CLUB", "128", "ave accuracy v2a std"));   // one seed
        Assert.Equal("w/o CLUB", rows.Single(r => r[0] == "unicode w/o CLUB")[1]);

        var (vcode, vsUnicode, _) = Run("compare", "--task", "ave", "--format", "csv", "--baseline", "unicode");
        Assert.Equal(0, vcode);
        rows = Csv(vsUnicode);
        h = rows[0].ToList();
        Assert.Equal(-12, Num(Cell("baseline", "128", "ave accuracy v2a delta")), 9);
        Assert.Equal(-3, Num(Cell("unicode w/o CLUB", "128", "ave accuracy v2a delta")), 9);
        Assert.Equal("", Cell("baseline", "64", "ave accuracy v2a delta"));   // no unicode run at L=64

        var (wcode, vsCustom, _) = Run("compare", "--task", "ave", "--format", "csv", "--baseline", "unicode w/o CLUB");
        Assert.Equal(0, wcode);
        rows = Csv(vsCustom);
        h = rows[0].ToList();
        Assert.Equal(3, Num(Cell("unicode", "128", "ave accuracy v2a delta")), 9);
    }

    [Fact]
    public void An_unknown_baseline_lists_the_pins_and_methods()
    {
        var (code, _, err) = Run("compare", "--baseline", "vq-vae");
        Assert.Equal(2, code);
        Assert.Contains("option '--baseline' = 'vq-vae': no pinned baseline and no method of that name; pinned baselines: baseline; " +
            "methods with results: baseline, unicode, unicode w/o CLUB, unknown", err);
    }

    [Fact]
    public void Results_prints_the_leaderboard_with_filters()
    {
        var (code, table, _) = Run("results", "--task", "ave", "--metric", "accuracy");
        Assert.Equal(0, code);
        Assert.StartsWith("leaderboard (mean ± std over seeds) · dataset synth:hand-made · task ave · metric accuracy · protocol held-out · split test · modalities av", table);
        Assert.Matches(@"(?m)^v2a\s+1\s+unicode\s+128\s+[0-9a-f]{12}\s+3\s+24\.0 ± 4\.6\s+29\.0$", table);
        Assert.Matches(@"(?m)^v2a\s+3\s+baseline\s+128\s+[0-9a-f]{12}\s+3\s+12\.0 ± 2\.0\s+14\.0$", table);

        var (ccode, csv, _) = Run("results", "--task", "ave", "--format", "csv");
        Assert.Equal(0, ccode);
        var rows = Csv(csv);
        var h = rows[0].ToList();
        Assert.DoesNotContain(rows.Skip(1), r => r[h.IndexOf("metric")] == "epoch");   // default: every metric but epoch
        var unicode = rows.Single(r => r[h.IndexOf("variant")] == "unicode" && r[h.IndexOf("direction")] == "v2a");
        Assert.Equal(("3", "24", "1"), (unicode[h.IndexOf("n_seeds")], unicode[h.IndexOf("mean")], unicode[h.IndexOf("rank")]));

        var (acode, all, _) = Run("results", "--task", "ave", "--metric", "all", "--format", "csv");
        Assert.Equal(0, acode);
        Assert.Contains(Csv(all).Skip(1), r => r[h.IndexOf("metric")] == "epoch");

        var (ncode, none, nerr) = Run("results", "--task", "segmentation");
        Assert.Equal(0, ncode);
        Assert.Contains("(no rows)", none);
        Assert.Contains("no results in", nerr);
    }

    [Fact]
    public void Export_writes_views_and_the_pivot_in_the_format_of_the_extension()
    {
        var csvPath = Path.Combine(dir, "out", "leaderboard.csv");
        var (code, output, _) = Run("export", "--view", "leaderboard", "--out", csvPath);
        Assert.Equal(0, code);
        var lines = File.ReadAllLines(csvPath);
        Assert.Contains("n_seeds", lines[0].Split(','));
        Assert.Equal($"wrote {lines.Length - 1} row(s) of v_leaderboard to {csvPath} (csv)", output.Trim());

        var tex = Path.Combine(dir, "table1.tex");
        Assert.Equal(0, Run("export", "--view", "pivot", "--task", "ave", "--out", tex).Code);
        Assert.Contains(@"$\mathbf{24.0 \pm 4.6}$ ($+12.0$)", File.ReadAllText(tex));

        var md = Path.Combine(dir, "results.md");
        Assert.Equal(0, Run("export", "--view", "v_results", "--task", "ave2avvp", "--out", md).Code);
        var table = File.ReadAllLines(md);
        Assert.Contains(table, l => l.StartsWith("| result_id | dataset_name |", StringComparison.Ordinal));
        Assert.Single(table, l => l.Contains("| ave2avvp |", StringComparison.Ordinal));

        var ablation = Path.Combine(dir, "ablation.csv");
        Assert.Equal(0, Run("export", "--view", "ablation", "--baseline", "baseline", "--metric", "accuracy", "--out", ablation).Code);
        Assert.All(File.ReadAllLines(ablation).Skip(1), l => Assert.StartsWith("baseline,", l));

        var (bad, _, err) = Run("export", "--view", "checkpoints", "--task", "ave", "--out", Path.Combine(dir, "c.csv"));
        Assert.Equal(2, bad);
        Assert.Contains("option '--task' does not apply to --view checkpoints", err);
        var (ext, _, extErr) = Run("export", "--view", "results", "--out", Path.Combine(dir, "r.xlsx"));
        Assert.Equal(2, ext);
        Assert.Contains("cannot tell the format from the extension", extErr);
    }

    [Fact]
    public void Checkpoints_lists_aliases_and_shows_the_lineage_by_alias_or_prefix()
    {
        var (code, list, _) = Run("checkpoints");
        Assert.Equal(0, code);
        Assert.Matches($@"(?m)^{data.ChildSha[..12]}\s+finetune\s+unicode\s+1\s+150\s+6\s+best-val\s+{data.ParentSha[..12]}\s+0\s+1\s", list);

        foreach (var target in new[] { "best-val", data.ChildSha[..10] })
        {
            var (lcode, lineage, lerr) = Run("checkpoints", "--lineage", target);
            Assert.True(lcode == 0, lerr);
            var lines = lineage.Split('\n');
            var parent = Array.FindIndex(lines, l => l.StartsWith(data.ParentSha[..12], StringComparison.Ordinal));
            var child = Array.FindIndex(lines, l => l.StartsWith($"  └ {data.ChildSha[..12]} *", StringComparison.Ordinal));
            Assert.True(parent >= 0 && child == parent + 1, lineage);
        }
        // From the parent: the parent is marked and the child is listed below it.
        var (pcode, fromParent, _) = Run("checkpoints", "--lineage", data.ParentSha[..8], "--format", "csv");
        Assert.Equal(0, pcode);
        var rows = Csv(fromParent);
        Assert.Equal(["depth", "sha256", "parent_sha256"], rows[0].Take(3));
        Assert.Equal([("0", data.ParentSha, "true"), ("1", data.ChildSha, "false")], rows.Skip(1).Select(r => (r[0], r[1], r[^1])));

        var (missing, _, err) = Run("checkpoints", "--lineage", "ffffffffff");
        Assert.Equal(2, missing);
        Assert.Contains("no checkpoint sha256 starts with it and no alias has that name", err);
    }

    [Fact]
    public void Database_problems_are_one_line_errors_that_say_what_to_do()
    {
        var (code, _, err) = Unicode("results", "--connection", "Host=127.0.0.1;Port=1;Database=x;Username=u;Password=p;Timeout=3");
        Assert.Equal(1, code);
        Assert.StartsWith("unicode results: error: cannot connect to the results database 127.0.0.1:1/x as u (UNICODE_PG / --connection)", err);
        Assert.Contains("make services-up", err);
        Assert.DoesNotContain("   at ", err);

        var missing = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Database = "unicode_absent_" + Guid.NewGuid().ToString("N") }.ConnectionString;
        (code, _, err) = Unicode("compare", "--connection", missing);
        Assert.Equal(1, code);
        Assert.Contains("does not exist (UNICODE_PG / --connection): create it with `unicode migrate`", err);

        var saved = Environment.GetEnvironmentVariable("UNICODE_PG");
        Environment.SetEnvironmentVariable("UNICODE_PG", null);
        try
        {
            (code, _, err) = Unicode("checkpoints");
        }
        finally
        {
            Environment.SetEnvironmentVariable("UNICODE_PG", saved);
        }
        Assert.Equal(1, code);
        Assert.Contains("UNICODE_PG is not set", err);
        Assert.Contains("make services-up", err);

        (code, _, err) = Unicode("results", "--connection", "not a connection string");
        Assert.Equal(2, code);
        Assert.Contains("option '--connection'", err);
    }

    [Fact]
    public void Each_new_command_has_help_and_is_listed()
    {
        var (_, help, _) = Unicode("--help");
        foreach (var command in new[] { "results", "compare", "export", "checkpoints" })
        {
            Assert.Contains($"  {command} ", help);
            var (c, text, _) = Unicode(command, "--help");
            Assert.Equal(0, c);
            Assert.StartsWith($"unicode {command}:", text);
            Assert.Contains("--connection CS", text);
        }
    }
}
