using UniCode.Cli.CommandLine;

namespace UniCode.Cli.Commands.Results;

/// <summary>`unicode export`: a view of the results database, or the comparison pivot, to a CSV / markdown / LaTeX file.</summary>
public static class ExportCommand
{
    /// <summary>What can be exported: a name → (view, ORDER BY). "pivot" is the comparison of `unicode compare`.</summary>
    private static readonly Dictionary<string, (string View, string OrderBy)> Views = new(StringComparer.OrdinalIgnoreCase)
    {
        ["results"] = ("v_results", "dataset_name, task, metric, protocol, split, direction, method_order, ablation, setting_key, seed, eval_seed, created_at"),
        ["leaderboard"] = ("v_leaderboard", "dataset_name, task, metric, protocol, split, direction, rank, method_order, ablation, setting_key"),
        ["ablation"] = ("v_ablation", "baseline_name, dataset_name, task, metric, protocol, split, setting_key, method_order, ablation, direction"),
        ["checkpoints"] = ("v_checkpoints", "created_at DESC, sha256"),
    };

    public static CommandSpec Spec { get; } = new(
        "export",
        "write a view of the results database (results, leaderboard, ablation, checkpoints) or the comparison pivot to CSV, markdown or LaTeX",
        [
            new OptionSpec("view", "results, leaderboard, ablation, checkpoints (the views v_*), or pivot (the table of `unicode compare`)", Required: true, Value: "NAME"),
            new OptionSpec("out", "the file to write", Required: true, Value: "FILE"),
            new OptionSpec("format", "csv, markdown or latex (default: from the file's extension .csv, .md, .tex)", Value: "FORMAT"),
            new OptionSpec("baseline", "pivot: the reference row (default: the pin 'baseline'); ablation: only this pin's rows", Value: "NAME"),
            .. ResultFilters.Options(),
            new OptionSpec("decimals", "pivot: decimals of the numbers (default: 3 for fractions, 1 for percentages)", Value: "N"),
            ResultsDatabase.ConnectionOption,
        ],
        Run,
        """
        Views are written row for row with every column (CSV values are exact: numbers round-trip, times in
        UTC ISO 8601); markdown and LaTeX round numbers to 4 decimals. The pivot is the table of
        `unicode compare`, with the same options (--metric defaults to the headline metrics there).
        Filters apply where the view has the column (checkpoints: --dataset only).
        examples: unicode export --view leaderboard --out results/leaderboard.csv
                  unicode export --view pivot --task ave --out paper/table1.tex
        """);

    private static int Run(ParsedArgs a, CancellationToken ct)
    {
        var name = a.Required("view");
        if (name.StartsWith("v_", StringComparison.OrdinalIgnoreCase)) name = name[2..];
        var path = a.Required("out");
        var format = a.String("format") is { } f ? TextTable.ParseFormat(f) : TextTable.FormatOfFile(path)
            ?? throw new UsageException($"option '--out' = '{path}': cannot tell the format from the extension; give --format csv, markdown or latex (or name the file .csv, .md, .tex)");
        using var db = ResultsDatabase.Open(a);
        string text;
        int count;
        if (name.Equals("pivot", StringComparison.OrdinalIgnoreCase))
        {
            var filters = ResultFilters.From(a);
            if (!a.Has("metric")) filters = filters with { Metrics = ResultFilters.HeadlineMetrics };
            var pin = BaselinePin.Resolve(db, a.String("baseline") ?? "baseline");
            var comparison = Comparison.Load(db, pin, filters, Numbers.Option(a));
            count = comparison.RowCount;
            text = comparison.Table(format).Render(format);
        }
        else
        {
            if (!Views.TryGetValue(name, out var view))
                throw new UsageException($"option '--view' = '{a.Required("view")}': expected results, leaderboard, ablation, checkpoints or pivot");
            var q = Query(db, view.View, view.OrderBy, a);
            count = q.Rows.Count;
            text = TextTable.FromQuery(q, format, [$"{view.View} of {db.Describe}"]).Render(format);
        }
        Write(path, text);
        Console.WriteLine($"wrote {count} row(s) of {(name.Equals("pivot", StringComparison.OrdinalIgnoreCase) ? "the comparison pivot" : Views[name].View)} to {path} ({format.ToString().ToLowerInvariant()})");
        return 0;
    }

    private static QueryResult Query(ResultsDatabase db, string view, string orderBy, ParsedArgs a)
    {
        var filters = ResultFilters.From(a);
        if (view == "v_checkpoints")
        {
            foreach (var o in new[] { "task", "metric", "protocol", "split", "baseline" })
                if (a.Has(o)) throw new UsageException($"option '--{o}' does not apply to --view checkpoints (only --dataset does)");
            return db.Query(
                "SELECT * FROM v_checkpoints WHERE (@f_dataset::text IS NULL OR dataset_name = @f_dataset OR starts_with(dataset_hash, lower(@f_dataset))) " +
                $"ORDER BY {orderBy}", ResultsDatabase.Text("f_dataset", filters.Dataset));
        }
        var pin = a.String("baseline");
        if (pin is not null && view != "v_ablation") throw new UsageException($"option '--baseline' applies to --view ablation and pivot, not to {view}");
        return db.Query(
            $"SELECT * FROM {view} WHERE {filters.Sql()} AND (@pin::text IS NULL OR {(view == "v_ablation" ? "baseline_name = @pin" : "true")}) ORDER BY {orderBy}",
            [.. filters.Parameters(), ResultsDatabase.Text("pin", pin)]);
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/>, creating its folder.</summary>
    public static void Write(string path, string text)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, text);
    }
}
