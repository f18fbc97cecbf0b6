using UniCode.Cli.CommandLine;

namespace UniCode.Cli.Commands.Results;

/// <summary>`unicode results`: the leaderboard (view v_leaderboard) with filters.</summary>
public static class ResultsCommand
{
    public static CommandSpec Spec { get; } = new(
        "results",
        "the leaderboard from the results database: mean ± std over seeds per method, task, direction and metric",
        [
            .. ResultFilters.Options(),
            new OptionSpec("format", "table, csv, markdown or latex", "table", Value: "FORMAT"),
            new OptionSpec("decimals", "decimals of the numbers (default: 3 for fractions, 1 for percentages)", Value: "N"),
            ResultsDatabase.ConnectionOption,
        ],
        Run,
        """
        One row per (dataset, task, direction, split, protocol, metric, method/ablation, setting) of the view
        v_leaderboard, best mean first (rank 1). n is the number of seeds; each seed counts once, with its most
        recent evaluation. std is the sample standard deviation (n − 1), empty for one seed. Columns that have
        one value in every row are printed above the table instead (not in CSV, which has every column).
        example: unicode results --task ave --metric accuracy
        """);

    private static int Run(ParsedArgs a, CancellationToken ct)
    {
        var format = TextTable.ParseFormat(a.Required("format"));
        var filters = ResultFilters.From(a);
        var decimals = Numbers.Option(a);
        using var db = ResultsDatabase.Open(a);
        var q = db.Query(
            "SELECT dataset_name, dataset_hash, task, direction, split, protocol, metric, rank, variant, method, ablation, " +
            "modalities, codebook_size, pretrain_epochs, setting_key, n_seeds, mean, std, best, worst, seeds " +
            $"FROM v_leaderboard WHERE {filters.Sql()} " +
            "ORDER BY dataset_name, task, metric, protocol, split, direction, rank, method_order, ablation, setting_key",
            filters.Parameters());
        if (q.Rows.Count == 0) Console.Error.WriteLine($"unicode results: no results in {db.Describe} match ({filters.Describe()})");
        Console.Write(Table(q, format, decimals).Render(format));
        return 0;
    }

    public static TextTable Table(QueryResult q, TableFormat format, int? decimals)
    {
        if (format == TableFormat.Csv) return TextTable.FromQuery(q, format);
        int Dec(DbRow r) => decimals ?? Numbers.Decimals([r.Double("mean") ?? 0, r.Double("best") ?? 0]);
        return TableBuilder.Build("leaderboard (mean ± std over seeds)", q.Records(),
        [
            new("dataset", r => r.Str("dataset_name"), Context: true),
            new("task", r => r.Str("task"), Context: true),
            new("metric", r => r.Str("metric"), Context: true),
            new("protocol", r => r.Str("protocol"), Context: true),
            new("split", r => r.Str("split"), Context: true),
            new("direction", r => r.Str("direction")),
            new("rank", r => r.Str("rank"), Numeric: true),
            new("method", r => r.Str("variant")),
            new("modalities", r => r.Str("modalities"), Context: true),
            new("L", r => r.Str("codebook_size"), Numeric: true, Context: true),
            new("epochs", r => r.Str("pretrain_epochs"), Numeric: true, Context: true),
            new("setting", r => r.Str("setting_key"), Context: true),
            new("n", r => r.Str("n_seeds"), Numeric: true),
            new("mean ± std", r => Numbers.MeanStd(r.Double("mean")!.Value, r.Double("std"), Dec(r)), Numeric: true),
            new("best", r => Numbers.Fixed(r.Double("best")!.Value, Dec(r)), Numeric: true),
        ]);
    }
}
