using UniCode.Cli.CommandLine;

namespace UniCode.Cli.Commands.Results;

/// <summary>`unicode compare`: methods × (task, direction) with mean ± std and the difference to a pinned baseline.</summary>
public static class CompareCommand
{
    public static IReadOnlyList<OptionSpec> PivotOptions { get; } =
    [
        new("baseline", "the reference row: a name in table pinned_baselines, or a method/variant (baseline, cmcm, dcid-cmcm, unicode, 'unicode w/o CLUB')", "baseline", Value: "NAME"),
        .. ResultFilters.Options(string.Join(",", ResultFilters.HeadlineMetrics)),
        new("decimals", "decimals of the numbers (default: 3 for fractions, 1 for percentages)", Value: "N"),
    ];

    public static CommandSpec Spec { get; } = new(
        "compare",
        "compare methods and ablations: mean ± std over seeds per task and direction, with the difference to a pinned baseline",
        [
            .. PivotOptions,
            new OptionSpec("format", "table, csv, markdown or latex", "table", Value: "FORMAT"),
            new OptionSpec("out", "also write the table to this file", Value: "FILE"),
            ResultsDatabase.ConnectionOption,
        ],
        Run,
        """
        Rows are methods and ablations (Baseline, CMCM, DCID+CMCM, Uni-Code, then 'unicode w/o …'), columns are
        (task, metric, direction), cells are "mean ± std (+delta)" over seeds, where delta is the difference of
        the means to the baseline row with the same dataset, task, direction, protocol and setting (the same
        pre-training hyper-parameters except the method switches). The default baseline is the pin 'baseline'
        (method baseline); pin others in the table pinned_baselines (docs/sql/README.md). The default metrics
        are each task's headline (accuracy, f1, r@5). LaTeX output is a booktabs tabular.
        example: unicode compare --task ave --format latex --out table1.tex
        """);

    private static int Run(ParsedArgs a, CancellationToken ct)
    {
        var format = TextTable.ParseFormat(a.Required("format"));
        using var db = ResultsDatabase.Open(a);
        var (comparison, filters) = Load(db, a);
        if (comparison.RowCount == 0) Console.Error.WriteLine($"unicode compare: no results in {db.Describe} match ({filters.Describe()})");
        var text = comparison.Table(format).Render(format);
        Console.Write(text);
        if (a.String("out") is { } path)
        {
            ExportCommand.Write(path, text);
            Console.Error.WriteLine($"written to {path}");
        }
        return 0;
    }

    /// <summary>The comparison that <see cref="PivotOptions"/> describe.</summary>
    public static (Comparison Comparison, ResultFilters Filters) Load(ResultsDatabase db, ParsedArgs a)
    {
        var filters = ResultFilters.From(a);
        var decimals = Numbers.Option(a);
        var pin = BaselinePin.Resolve(db, a.Required("baseline"));
        return (Comparison.Load(db, pin, filters, decimals), filters);
    }
}
