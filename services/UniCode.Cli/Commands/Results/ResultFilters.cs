using System.Globalization;
using Npgsql;
using UniCode.Cli.CommandLine;

namespace UniCode.Cli.Commands.Results;

/// <summary>
/// The row filters the results commands share (<c>--task --dataset --metric --protocol --split</c>), as a
/// SQL condition on the columns v_results, v_leaderboard and v_ablation have in common.
/// </summary>
/// <param name="Metrics">Metrics to keep; empty = every metric but "epoch" (the bookkeeping of which epoch was reported).</param>
/// <param name="AllMetrics"><c>--metric all</c>: every metric, "epoch" included.</param>
public sealed record ResultFilters(string? Task, string? Dataset, IReadOnlyList<string> Metrics, bool AllMetrics, string? Protocol, string? Split)
{
    /// <summary>The headline metric of each in-process task: ave accuracy, avvp f1, retrieval r@5.</summary>
    public static IReadOnlyList<string> HeadlineMetrics { get; } = ["accuracy", "f1", "r@5"];

    /// <param name="metricDefault">null: every metric but "epoch".</param>
    public static IReadOnlyList<OptionSpec> Options(string? metricDefault = null) =>
    [
        new("task", "only this downstream task (e.g. ave, avvp, retrieval)", Value: "TASK"),
        new("dataset", "only this dataset: its name (KIND:PATH) or a prefix of its content sha256", Value: "NAME|SHA"),
        new("metric", metricDefault is null ? "comma-separated metrics, or 'all' (default: every metric but 'epoch')" : "comma-separated metrics, or 'all'", metricDefault, Value: "LIST"),
        new("protocol", "only this evaluation protocol (held-out, reference, …)", Value: "NAME"),
        new("split", "only this scored split (test, val, train)", Value: "NAME"),
    ];

    public static ResultFilters From(ParsedArgs a)
    {
        var metrics = a.List("metric");
        var all = metrics.Count == 1 && metrics[0].Equals("all", StringComparison.OrdinalIgnoreCase);
        return new ResultFilters(a.String("task"), a.String("dataset"), all ? [] : metrics, all, a.String("protocol"), a.String("split"));
    }

    /// <summary>The condition (no WHERE), with parameters @f_task, @f_dataset, @f_metrics, @f_protocol, @f_split.</summary>
    public string Sql(string alias = "") =>
        $"(@f_task::text IS NULL OR {alias}task = @f_task) " +
        $"AND (@f_dataset::text IS NULL OR {alias}dataset_name = @f_dataset OR starts_with({alias}dataset_hash, lower(@f_dataset))) " +
        $"AND (CASE WHEN cardinality(@f_metrics) > 0 THEN {alias}metric = ANY(@f_metrics) ELSE @f_all_metrics OR {alias}metric <> 'epoch' END) " +
        $"AND (@f_protocol::text IS NULL OR {alias}protocol = @f_protocol) " +
        $"AND (@f_split::text IS NULL OR {alias}split = @f_split)";

    public NpgsqlParameter[] Parameters() =>
    [
        ResultsDatabase.Text("f_task", Task),
        ResultsDatabase.Text("f_dataset", Dataset),
        ResultsDatabase.TextArray("f_metrics", Metrics),
        new("f_all_metrics", NpgsqlTypes.NpgsqlDbType.Boolean) { Value = AllMetrics },
        ResultsDatabase.Text("f_protocol", Protocol),
        ResultsDatabase.Text("f_split", Split),
    ];

    /// <summary>"task ave, metric accuracy" — the filters given, for messages about empty results.</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (Task is not null) parts.Add($"task {Task}");
        if (Dataset is not null) parts.Add($"dataset {Dataset}");
        if (Metrics.Count > 0) parts.Add($"metric {string.Join(",", Metrics)}");
        if (Protocol is not null) parts.Add($"protocol {Protocol}");
        if (Split is not null) parts.Add($"split {Split}");
        return parts.Count == 0 ? "no filters" : string.Join(", ", parts);
    }
}

/// <summary>Number formatting of the comparison tables.</summary>
public static class Numbers
{
    /// <summary>Fractions (every |value| ≤ 1, e.g. F1 as 0.53) get 3 decimals, percentages 1.</summary>
    public static int Decimals(IEnumerable<double> values)
    {
        // Fractions (every value within [-1, 1], not all zero) get 3 decimals; percentages 1. A column of
        // zeros says nothing about its unit, and our protocols report percentages.
        var list = values.Where(v => !double.IsNaN(v)).ToList();
        return list.Count > 0 && list.All(v => Math.Abs(v) <= 1) && list.Any(v => v != 0) ? 3 : 1;
    }

    public static string Fixed(double v, int decimals) => v.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>"+1.2" / "-0.4" / "+0.0".</summary>
    public static string Signed(double v, int decimals) => (v >= 0 || Fixed(v, decimals).TrimStart('-').All(c => c is '0' or '.') ? "+" : "-") + Fixed(Math.Abs(v), decimals);

    /// <summary>"52.3 ± 1.2"; a single seed has no spread: "52.3".</summary>
    public static string MeanStd(double mean, double? std, int decimals) =>
        std is { } s ? $"{Fixed(mean, decimals)} ± {Fixed(s, decimals)}" : Fixed(mean, decimals);

    /// <summary>--decimals N (0..6), or null for <see cref="Decimals"/>.</summary>
    public static int? Option(ParsedArgs a)
    {
        var d = a.Int("decimals");
        if (d is < 0 or > 6) throw new UsageException($"option '--decimals' = '{d}': expected 0 to 6");
        return d;
    }
}
