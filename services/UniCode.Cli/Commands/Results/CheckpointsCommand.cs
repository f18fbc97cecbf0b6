using UniCode.Cli.CommandLine;

namespace UniCode.Cli.Commands.Results;

/// <summary>`unicode checkpoints`: the registered checkpoints with their aliases, or the lineage of one.</summary>
public static class CheckpointsCommand
{
    public static CommandSpec Spec { get; } = new(
        "checkpoints",
        "list the checkpoints in the results database with their aliases, or show the lineage of one (--lineage)",
        [
            new OptionSpec("lineage", "show this checkpoint's ancestors and everything trained from it: a sha256 (or a unique prefix) or an alias", Value: "SHA|ALIAS"),
            new OptionSpec("dataset", "only checkpoints trained on this dataset: its name or a prefix of its content sha256", Value: "NAME|SHA"),
            new OptionSpec("limit", "list at most this many, newest first", "30", Value: "N"),
            new OptionSpec("format", "table, csv, markdown or latex", "table", Value: "FORMAT"),
            ResultsDatabase.ConnectionOption,
        ],
        Run,
        """
        The list shows each checkpoint's run (pretrain, finetune), the method of the pre-training it comes
        from, seed, step, epoch, aliases (e.g. best-val), its parent and how many results it has.
        --lineage walks parent_sha256 up to the root, then lists every descendant, indented by generation;
        the checkpoint asked for is marked with '*'.
        examples: unicode checkpoints --limit 10
                  unicode checkpoints --lineage 3f2a9c1b
        """);

    private static int Run(ParsedArgs a, CancellationToken ct)
    {
        var format = TextTable.ParseFormat(a.Required("format"));
        var limit = a.Int("limit")!.Value;
        if (limit < 1) throw new UsageException($"option '--limit' = '{limit}': expected a positive number");
        using var db = ResultsDatabase.Open(a);
        if (a.String("lineage") is { } target)
        {
            Console.Write(Lineage(db, Resolve(db, target), format).Render(format));
            return 0;
        }
        var q = db.Query(
            "SELECT sha256, run_kind, variant, seed, step, epoch, dataset_name, aliases, parent_sha256, n_children, n_results, uri, created_at " +
            "FROM v_checkpoints WHERE (@f_dataset::text IS NULL OR dataset_name = @f_dataset OR starts_with(dataset_hash, lower(@f_dataset))) " +
            "ORDER BY created_at DESC, sha256 LIMIT @limit",
            ResultsDatabase.Text("f_dataset", a.String("dataset")), ResultsDatabase.Int("limit", limit));
        if (q.Rows.Count == 0) Console.Error.WriteLine($"unicode checkpoints: no checkpoints in {db.Describe}");
        if (format == TableFormat.Csv)
        {
            Console.Write(TextTable.FromQuery(q, format).Render(format));
            return 0;
        }
        Console.Write(TableBuilder.Build($"checkpoints (newest first, at most {limit})", q.Records(),
        [
            new("checkpoint", r => Short(r.Str("sha256"))),
            new("run", r => r.Str("run_kind"), Context: true),
            new("method", r => r.Str("variant")),
            new("seed", r => r.Str("seed"), Numeric: true),
            new("step", r => r.Str("step"), Numeric: true),
            new("epoch", r => r.Str("epoch"), Numeric: true),
            new("dataset", r => r.Str("dataset_name"), Context: true),
            new("aliases", r => r.Str("aliases")),
            new("parent", r => Short(r.Str("parent_sha256"))),
            new("children", r => r.Str("n_children"), Numeric: true),
            new("results", r => r.Str("n_results"), Numeric: true),
            new("created", r => TextTable.Display(r["created_at"])),
        ]).Render(format));
        return 0;
    }

    private static string Short(string sha) => sha.Length > 12 ? sha[..12] : sha;

    /// <summary>The full sha256 of a checkpoint given by a unique prefix or an alias.</summary>
    public static string Resolve(ResultsDatabase db, string text)
    {
        var prefix = text.Trim().ToLowerInvariant();
        if (prefix.Length >= 4 && prefix.All(Uri.IsHexDigit))
        {
            var matches = db.Query("SELECT sha256 FROM checkpoints WHERE starts_with(sha256, @p) ORDER BY sha256 LIMIT 6", ResultsDatabase.Text("p", prefix))
                .Rows.Select(r => (string)r[0]!).ToList();
            if (matches.Count == 1) return matches[0];
            if (matches.Count > 1)
                throw new UsageException($"option '--lineage' = '{text}': {(matches.Count > 5 ? "more than 5" : matches.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))} checkpoints start with it ({string.Join(", ", matches.Take(5).Select(Short))}); give more characters");
        }
        var alias = db.Query("SELECT checkpoint_sha256 FROM checkpoint_aliases WHERE name = @n", ResultsDatabase.Text("n", text)).Rows;
        if (alias.Count == 1) return (string)alias[0][0]!;
        throw new UsageException($"option '--lineage' = '{text}': no checkpoint sha256 starts with it and no alias has that name (see `unicode checkpoints`)");
    }

    /// <summary>Ancestors (root first), the checkpoint itself, then its descendants depth-first, with a depth column.</summary>
    public static TextTable Lineage(ResultsDatabase db, string sha, TableFormat format)
    {
        const string columns = "v.sha256, v.parent_sha256, v.run_kind, v.variant, v.seed, v.step, v.epoch, v.aliases, v.n_results, v.uri, v.created_at";
        var ancestors = db.Query(
            "WITH RECURSIVE up (sha256, parent_sha256, generation) AS (" +
            "  SELECT sha256, parent_sha256, 0 FROM checkpoints WHERE sha256 = @sha" +
            "  UNION ALL SELECT p.sha256, p.parent_sha256, up.generation + 1 FROM up JOIN checkpoints p ON p.sha256 = up.parent_sha256 WHERE up.generation < 10000) " +
            $"SELECT up.generation, {columns} FROM up JOIN v_checkpoints v ON v.sha256 = up.sha256 WHERE up.generation > 0 ORDER BY up.generation DESC",
            ResultsDatabase.Text("sha", sha));
        var descendants = db.Query(
            "WITH RECURSIVE down (sha256, generation, path) AS (" +
            "  SELECT sha256, 0, ARRAY[sha256] FROM checkpoints WHERE sha256 = @sha" +
            "  UNION ALL SELECT c.sha256, down.generation + 1, down.path || c.sha256 FROM down JOIN checkpoints c ON c.parent_sha256 = down.sha256" +
            "  WHERE NOT c.sha256 = ANY (down.path)) " +
            $"SELECT down.generation, {columns} FROM down JOIN v_checkpoints v ON v.sha256 = down.sha256 ORDER BY down.path",
            ResultsDatabase.Text("sha", sha));
        var above = ancestors.Rows.Count;
        var rows = ancestors.Records().Select((r, i) => (Depth: i, Row: r))
            .Concat(descendants.Records().Select(r => (Depth: above + (int)r.Long("generation")!.Value, Row: r)))
            .ToList();
        if (format == TableFormat.Csv)
        {
            var table = new QueryResult(["depth", .. descendants.Columns.Skip(1), "is_target"],
                rows.Select(x => new object?[] { x.Depth }.Concat(Enumerable.Range(1, descendants.Columns.Count - 1).Select(i => x.Row[descendants.Columns[i]]))
                    .Append(x.Row.Str("sha256") == sha).ToArray()).ToList());
            return TextTable.FromQuery(table, format);
        }
        return TableBuilder.Build($"lineage of {sha} (root first; * = this checkpoint)", rows,
        [
            new("checkpoint", x => new string(' ', 2 * x.Depth) + (x.Depth > 0 ? "└ " : "") + Short(x.Row.Str("sha256")) + (x.Row.Str("sha256") == sha ? " *" : "")),
            new("run", x => x.Row.Str("run_kind")),
            new("method", x => x.Row.Str("variant")),
            new("seed", x => x.Row.Str("seed"), Numeric: true),
            new("step", x => x.Row.Str("step"), Numeric: true),
            new("epoch", x => x.Row.Str("epoch"), Numeric: true),
            new("aliases", x => x.Row.Str("aliases")),
            new("results", x => x.Row.Str("n_results"), Numeric: true),
            new("created", x => TextTable.Display(x.Row["created_at"])),
        ]);
    }
}
