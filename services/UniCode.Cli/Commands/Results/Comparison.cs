using UniCode.Cli.CommandLine;

namespace UniCode.Cli.Commands.Results;

/// <summary>
/// The reference row of a comparison: a pin of table pinned_baselines, or a method/variant named on the
/// command line (not stored). <see cref="DatasetHash"/>/<see cref="Task"/> restrict a pin to one dataset/task.
/// </summary>
public sealed record BaselinePin(string Name, string Method, string Ablation, string? DatasetHash, string? Task, bool Pinned)
{
    public static IReadOnlyList<string> NamedMethods { get; } = ["baseline", "cmcm", "dcid-cmcm", "unicode"];

    public string Variant => Method == "custom" ? "unicode " + Ablation : Method;

    /// <summary>"pinned baseline 'baseline' (method baseline)" / "baseline unicode w/o CLUB".</summary>
    public string Describe() => Pinned
        ? $"pinned baseline '{Name}' ({Variant}{(Task is null ? "" : $", task {Task}")}{(DatasetHash is null ? "" : $", dataset {DatasetHash[..12]}")})"
        : $"baseline {Variant}";

    /// <summary>A pin of that name, else a method or variant ("unicode w/o CLUB") that has results, else a named method.</summary>
    public static BaselinePin Resolve(ResultsDatabase db, string name)
    {
        var pin = db.Query("SELECT name, method, ablation, dataset_hash, task FROM pinned_baselines WHERE name = @n", ResultsDatabase.Text("n", name)).Records();
        if (pin.Count == 1)
        {
            var p = pin[0];
            return new BaselinePin(name, p.Str("method"), p.Str("ablation"), p["dataset_hash"] as string, p["task"] as string, Pinned: true);
        }
        var variants = db.Query(
            "SELECT DISTINCT method, ablation FROM v_leaderboard WHERE variant = @n OR (method = @n AND method NOT IN ('custom', 'unknown'))",
            ResultsDatabase.Text("n", name)).Records();
        if (variants.Count == 1) return new BaselinePin(name, variants[0].Str("method"), variants[0].Str("ablation"), null, null, Pinned: false);
        if (NamedMethods.Contains(name)) return new BaselinePin(name, name, "", null, null, Pinned: false);
        var pins = db.Query("SELECT name FROM pinned_baselines ORDER BY name").Rows.Select(r => (string)r[0]!);
        var known = db.Query("SELECT DISTINCT variant, method_order, ablation FROM v_leaderboard ORDER BY method_order, ablation").Rows.Select(r => (string)r[0]!);
        throw new UsageException(
            $"option '--baseline' = '{name}': no pinned baseline and no method of that name; pinned baselines: {string.Join(", ", pins.DefaultIfEmpty("(none)"))}; " +
            $"methods with results: {string.Join(", ", known.DefaultIfEmpty("(none)"))}");
    }
}

/// <summary>
/// The comparison table analysts put in papers: one row per method/ablation (and setting), one column per
/// (task, metric, direction) — plus dataset, protocol, split where they vary — cells "mean ± std" over
/// seeds with the difference to the baseline's mean in parentheses. Built from unicode_ablation_vs(...).
/// </summary>
public sealed class Comparison
{
    private sealed record ColumnKey(string Dataset, string Task, string Metric, string Protocol, string Split, string Direction);

    private sealed record Cell(double Mean, double? Std, long N, double? Delta);

    private sealed record Row(string Variant, bool IsBaseline, int MethodOrder, string Ablation, string Setting, string Modalities, string CodebookSize, string Epochs,
        Dictionary<ColumnKey, Cell> Cells);

    private readonly List<ColumnKey> columns;
    private readonly List<Row> rows;
    private readonly BaselinePin pin;
    private readonly int? decimals;

    private Comparison(List<ColumnKey> columns, List<Row> rows, BaselinePin pin, int? decimals)
    {
        this.columns = columns;
        this.rows = rows;
        this.pin = pin;
        this.decimals = decimals;
    }

    public int RowCount => rows.Count;

    public static Comparison Load(ResultsDatabase db, BaselinePin pin, ResultFilters filters, int? decimals)
    {
        var q = db.Query(
            "SELECT * FROM unicode_ablation_vs(@p_method, @p_ablation, @p_dataset_hash, @p_task) " +
            $"WHERE {filters.Sql()} ORDER BY setting_key, method_order, ablation",
            [
                ResultsDatabase.Text("p_method", pin.Method), ResultsDatabase.Text("p_ablation", pin.Ablation),
                ResultsDatabase.Text("p_dataset_hash", pin.DatasetHash), ResultsDatabase.Text("p_task", pin.Task),
                .. filters.Parameters(),
            ]);
        var rows = new List<Row>();
        var keys = new HashSet<ColumnKey>();
        foreach (var r in q.Records())
        {
            var setting = r.Str("setting_key");
            var variant = r.Str("variant");
            var row = rows.FirstOrDefault(x => x.Setting == setting && x.Variant == variant);
            if (row is null)
            {
                row = new Row(variant, r.Bool("is_baseline"), (int)r.Long("method_order")!.Value, r.Str("ablation"), setting,
                    r.Str("modalities"), r.Str("codebook_size"), r.Str("pretrain_epochs"), []);
                rows.Add(row);
            }
            var key = new ColumnKey(r.Str("dataset_name"), r.Str("task"), r.Str("metric"), r.Str("protocol"), r.Str("split"), r.Str("direction"));
            keys.Add(key);
            row.Cells[key] = new Cell(r.Double("mean")!.Value, r.Double("std"), r.Long("n_seeds")!.Value, r.Double("delta"));
        }
        var ordered = keys
            .OrderBy(k => k.Dataset, StringComparer.Ordinal).ThenBy(k => k.Task, StringComparer.Ordinal)
            .ThenBy(k => k.Metric, StringComparer.Ordinal).ThenBy(k => k.Protocol, StringComparer.Ordinal).ThenBy(k => k.Split, StringComparer.Ordinal)
            .ThenBy(k => k.Direction.Length == 3 && k.Direction[0] == k.Direction[2] ? 1 : 0)   // cross-modal first, then in-modality (a2a …)
            .ThenBy(k => k.Direction, StringComparer.Ordinal)
            .ToList();
        return new Comparison(ordered, rows, pin, decimals);
    }

    /// <summary>The table in <paramref name="format"/>: CSV has numbers (mean, std, n, delta per column), the others "mean ± std (Δ)".</summary>
    public TextTable Table(TableFormat format)
    {
        // Column headers name only what differs between columns; the rest goes into the caption.
        bool Varies(Func<ColumnKey, string> part) => columns.Select(part).Distinct().Count() > 1;
        var parts = new List<(string Name, Func<ColumnKey, string> Get)>
        {
            ("dataset", k => k.Dataset), ("task", k => k.Task), ("metric", k => k.Metric), ("protocol", k => k.Protocol), ("split", k => k.Split),
        };
        var varying = parts.Where(p => Varies(p.Get) || (format == TableFormat.Csv && p.Name is "task" or "metric")).ToList();
        var constant = parts.Where(p => !varying.Contains(p) && columns.Count > 0).Select(p => $"{p.Name} {p.Get(columns[0])}").ToList();
        string Label(ColumnKey k) => string.Join(" ", varying.Select(p => p.Get(k)).Append(k.Direction));

        var rowParts = new List<ColumnSpec<Row>>
        {
            new("method", r => r.Variant),
            new("modalities", r => r.Modalities, Context: true),
            new("L", r => r.CodebookSize, Numeric: true, Context: true),
            new("epochs", r => r.Epochs, Numeric: true, Context: true),
            new("setting", r => r.Setting, Context: true),
        };
        var specs = new List<ColumnSpec<Row>>(rowParts);
        if (format == TableFormat.Csv)
        {
            specs.Insert(1, new("ablation", r => r.Ablation));
            foreach (var k in columns)
            {
                var label = Label(k);
                specs.Add(new($"{label} mean", r => r.Cells.TryGetValue(k, out var c) ? TextTable.Raw(c.Mean) : "", Numeric: true));
                specs.Add(new($"{label} std", r => r.Cells.TryGetValue(k, out var c) ? TextTable.Raw(c.Std) : "", Numeric: true));
                specs.Add(new($"{label} n", r => r.Cells.TryGetValue(k, out var c) ? TextTable.Raw(c.N) : "", Numeric: true));
                specs.Add(new($"{label} delta", r => r.Cells.TryGetValue(k, out var c) ? TextTable.Raw(c.Delta) : "", Numeric: true));
            }
            // CSV keeps every column, constant or not.
            specs = specs.Select(s => s with { Context = false }).ToList();
        }
        else
        {
            specs.Add(new("n", r => SeedCounts(r), Numeric: true));
            foreach (var k in columns)
            {
                var dec = decimals ?? Numbers.Decimals(rows.Where(r => r.Cells.ContainsKey(k)).SelectMany(r => new[] { r.Cells[k].Mean }));
                var best = rows.Count > 1 ? rows.Where(r => r.Cells.ContainsKey(k)).Select(r => r.Cells[k].Mean).DefaultIfEmpty(double.NaN).Max() : double.NaN;
                specs.Add(new(Label(k), r => r.Cells.TryGetValue(k, out var c) ? Render(c, r.IsBaseline, dec, c.Mean == best, format) : "–", Numeric: true));
            }
        }
        var notes = new List<string>
        {
            $"mean ± std over seeds (n = seeds; std: sample, n − 1); (±x) = difference of the mean to the {pin.Describe()}" +
            (format is TableFormat.Markdown or TableFormat.Latex && rows.Count > 1 ? "; best mean in bold" : ""),
        };
        if (constant.Count > 0) notes.Insert(0, string.Join(" · ", constant));
        var title = "comparison";
        return TableBuilder.Build(title, rows, specs, notes);
    }

    private static string SeedCounts(Row r)
    {
        var n = r.Cells.Values.Select(c => c.N).Distinct().Order().ToList();
        return n.Count == 1 ? n[0].ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{n[0]}–{n[^1]}";
    }

    private static string Render(Cell c, bool isBaseline, int dec, bool bold, TableFormat format)
    {
        var delta = c.Delta is { } d && !isBaseline ? Numbers.Signed(d, dec) : null;
        if (format == TableFormat.Latex)
        {
            var core = c.Std is { } s ? $@"{Numbers.Fixed(c.Mean, dec)} \pm {Numbers.Fixed(s, dec)}" : Numbers.Fixed(c.Mean, dec);
            var math = bold ? $@"$\mathbf{{{core}}}$" : $"${core}$";
            return TextTable.LatexCell(delta is null ? math : $"{math} (${delta}$)");
        }
        var text = Numbers.MeanStd(c.Mean, c.Std, dec);
        if (bold && format == TableFormat.Markdown) text = $"**{text}**";
        return delta is null ? text : $"{text} ({delta})";
    }
}
