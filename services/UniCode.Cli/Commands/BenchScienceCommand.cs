using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using UniCode.Cli.CommandLine;
using UniCode.Cli.Commands.Results;
using UniCode.Cli.Recording;
using UniCode.Data;
using UniCode.Experiments;
using UniCode.Model.Config;
using UniCode.Model.Runtime;

namespace UniCode.Cli.Commands;

/// <summary>
/// `unicode bench-science`: the paper's comparison (Table 1: Baseline, CMCM, DCID+CMCM, Uni-Code) and
/// ablation rows (Tables 2–3) over several seeds on one dataset, as markdown tables of mean ± std.
/// </summary>
public static class BenchScienceCommand
{
    /// <summary>A row of the comparison: a method with optional ablation switches.</summary>
    public sealed record Row(string Name, Method Method, Ablation Ablation);

    public static IReadOnlyList<Row> Table1 { get; } =
    [
        new("baseline", Method.Baseline, new()),
        new("cmcm", Method.Cmcm, new()),
        new("dcid-cmcm", Method.DcidCmcm, new()),
        new("unicode", Method.UniCode, new()),
    ];

    /// <summary>Uni-Code with one part removed at a time (the paper's Tables 2 and 3).</summary>
    public static IReadOnlyList<Row> Ablations { get; } =
    [
        new("no-club", Method.UniCode, new(Club: false)),
        new("no-cpc", Method.UniCode, new(Cpc: false)),
        new("no-mm-ema", Method.UniCode, new(MultiModalEma: false)),
        new("no-reset", Method.UniCode, new(CodeReset: false)),
        new("no-cmcm", Method.UniCode, new(Cmcm: false)),
    ];

    public static CommandSpec Spec { get; } = new(
        "bench-science",
        "compare Baseline, CMCM, DCID+CMCM, Uni-Code and the ablation rows over several seeds (markdown tables, mean ± std)",
        [
            .. ExperimentOptions.Common.Where(o => o.Name is not ("no-club" or "no-cpc" or "no-mm-ema" or "no-reset" or "no-cmcm")).Select(o => o.Name == "data" ? o with { Required = false, Default = "synth:" } : o),
            new OptionSpec("rows", "comma-separated rows: table1, ablations, all, or names (" + string.Join(", ", Table1.Concat(Ablations).Select(r => r.Name)) + ")", "all", Value: "ROWS"),
            new OptionSpec("seeds", "comma-separated seeds", "1,2,3", Value: "LIST"),
            new OptionSpec("out", "markdown file for the tables", "bench-results/science.md", Value: "FILE"),
            new OptionSpec("json-dir", "one JSON result per run goes here", "bench-results/science-runs", Value: "DIR"),
            new OptionSpec("record", "also record every run in the results database (UNICODE_PG or --connection)", Flag: true),
            ResultsDatabase.ConnectionOption,
        ],
        Run,
        """
        Every row is pre-trained and evaluated once per seed on the same data (loaded once). The headline
        metric is the task's (ave: accuracy; avvp: F1; retrieval: R@5), in percent, on the held-out test
        split unless --protocol reference. Runs already present in --json-dir with the same config hash,
        dataset hash and code version are reused, so an interrupted comparison continues where it stopped.
        --record writes each run into the results database (`unicode compare` then shows the same table from
        there); a reused run whose checkpoint is not recorded yet is run again, since its checkpoint file is gone.
        example: unicode bench-science --data synth: --seeds 1,2,3 --out docs/results-table.md
        """);

    private static int Run(ParsedArgs a, CancellationToken ct)
    {
        var rows = SelectRows(a.List("rows"));
        var seeds = a.List("seeds").Select(s => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
            : throw new UsageException($"option '--seeds': '{s}' is not an integer")).ToList();
        if (seeds.Count == 0) throw new UsageException("option '--seeds': give at least one seed");
        var jsonDir = a.Required("json-dir");
        Directory.CreateDirectory(jsonDir);
        var template = ExperimentOptions.Spec(a, Method.UniCode, seeds[0]);
        using var database = a.Flag("record") ? ResultsDatabase.Open(a) : null;
        var recorder = database is null ? null : new ExperimentRecorder(database.Connection);
        recorder?.CheckSchema();
        var device = recorder is null ? "" : DeviceSelector.Select(template.Device).ToString();
        var clock = Stopwatch.StartNew();
        using var dataset = DatasetOpener.Open(template.Dataset);
        using var data = DatasetTensors.Load(dataset, template.Modalities);
        var results = new List<(Row Row, ExperimentResult Result)>();
        var total = rows.Count * seeds.Count;
        foreach (var row in rows)
        {
            foreach (var seed in seeds)
            {
                ct.ThrowIfCancellationRequested();
                var spec = template with { Method = row.Method, Ablation = row.Ablation, Seed = seed };
                var file = Path.Combine(jsonDir, $"{row.Name}-seed{seed}.json");
                var configHash = spec.Config(data).Hash();
                if (TryReuse(file, configHash, data.ContentHash) is { } old)
                {
                    if (recorder is null || recorder.HasCheckpoint(old.CheckpointSha256))
                    {
                        Console.Error.WriteLine($"[{results.Count + 1}/{total}] {row.Name} seed {seed}: reusing {file}");
                        if (recorder is not null) Record(recorder, database!, new ExperimentRecord(spec, old, dataset.Name, dataset.Count, device, null));
                        results.Add((row, old));
                        continue;
                    }
                    Console.Error.WriteLine($"[{results.Count + 1}/{total}] {row.Name} seed {seed}: {file} is not recorded and its checkpoint is gone: running it again");
                }
                var printer = new ProgressPrinter($"[{results.Count + 1}/{total}] {row.Name} seed {seed} ");
                // Recording reads the checkpoint file after the run: keep it in a folder of our own until then.
                var checkpoints = recorder is null ? null : Directory.CreateTempSubdirectory("unicode-bench-").FullName;
                ExperimentResult r;
                try
                {
                    r = Experiment.Run(spec with { CheckpointDirectory = checkpoints }, data, printer.Report, ct);
                    printer.Done();
                    if (recorder is not null)
                    {
                        var facts = CheckpointFacts.Find(checkpoints!, r.CheckpointSha256, kept: false);
                        Record(recorder, database!, new ExperimentRecord(spec, r, dataset.Name, dataset.Count, device, facts));
                    }
                }
                finally
                {
                    if (checkpoints is not null) Directory.Delete(checkpoints, recursive: true);
                }
                File.WriteAllText(file, JsonSerializer.Serialize(r, RunCommand.Json));
                Console.Error.WriteLine($"[{results.Count + 1}/{total}] {row.Name} seed {seed}: " +
                    string.Join(" ", r.Results.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}={kv.Value:F1}"))) +
                    $" ({r.PretrainSeconds + r.DownstreamSeconds:F0} s)");
                RunCommand.WarnIfNotLearned(r);
                results.Add((row, r));
            }
        }
        var markdown = Markdown(template, dataset.Name, data.ContentHash, seeds, results, clock.Elapsed);
        var outPath = a.Required("out");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outPath))!);
        File.WriteAllText(outPath, markdown);
        Console.WriteLine(markdown);
        Console.Error.WriteLine($"tables written to {outPath} ({clock.Elapsed.TotalMinutes:F1} min)");
        return 0;
    }

    private static void Record(ExperimentRecorder recorder, ResultsDatabase database, ExperimentRecord record) =>
        Console.Error.WriteLine("  " + recorder.Record(record).Summary(database.Describe));

    private static List<Row> SelectRows(IReadOnlyList<string> names)
    {
        var all = Table1.Concat(Ablations).ToList();
        var chosen = new List<Row>();
        foreach (var n in names.Count == 0 ? ["all"] : names)
        {
            IEnumerable<Row> add = n switch
            {
                "all" => all,
                "table1" => Table1,
                "ablations" => Ablations,
                _ => [all.FirstOrDefault(r => r.Name == n) ?? throw new UsageException($"option '--rows': unknown row '{n}'")],
            };
            foreach (var r in add) if (!chosen.Contains(r)) chosen.Add(r);
        }
        return chosen;
    }

    private static ExperimentResult? TryReuse(string file, string configHash, string datasetHash)
    {
        if (!File.Exists(file)) return null;
        try
        {
            var r = JsonSerializer.Deserialize<ExperimentResult>(File.ReadAllText(file), RunCommand.Json);
            return r is not null && r.ConfigHash == configHash && r.DatasetHash == datasetHash && r.CodeVersion == Model.Runtime.CodeVersion.Current ? r : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Mean ± sample standard deviation (n − 1), "52.3 ± 1.2"; a single value has no spread.</summary>
    public static string MeanStd(IReadOnlyList<double> v)
    {
        var mean = v.Average();
        if (v.Count < 2) return mean.ToString("F1", CultureInfo.InvariantCulture);
        var sd = Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1));
        return string.Create(CultureInfo.InvariantCulture, $"{mean:F1} ± {sd:F1}");
    }

    public static string Markdown(ExperimentSpec template, string dataset, string datasetHash, IReadOnlyList<long> seeds,
        IReadOnlyList<(Row Row, ExperimentResult Result)> results, TimeSpan elapsed)
    {
        var sb = new StringBuilder();
        var first = results[0].Result;
        var directions = first.Results.Keys.OrderBy(d => d[0] == d[^1] ? 1 : 0).ThenBy(d => d, StringComparer.Ordinal).ToList();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"Task `{first.Task}`, {first.Metric} (%) on the {(template.Protocol == Model.Downstream.EvaluationProtocol.HeldOut ? "held-out test split" : "training split (reference protocol)")}, mean ± std over seeds {string.Join(", ", seeds)}; " +
            $"preset `{template.Preset}`, modalities `{template.Modalities.Code()}`, dataset `{dataset}` (sha256 {datasetHash[..12]}…), code {first.CodeVersion}; {elapsed.TotalMinutes:F1} min in all.");
        sb.AppendLine();
        void Section(string title, IEnumerable<Row> rows)
        {
            var present = rows.Where(r => results.Any(x => x.Row == r)).ToList();
            if (present.Count == 0) return;
            sb.AppendLine($"### {title}");
            sb.AppendLine();
            sb.AppendLine("| method | " + string.Join(" | ", directions.Select(d => d[0] == d[^1] ? $"{d} (in-modality)" : d)) + " | codes used by all modalities | learned (seeds) |");
            sb.AppendLine("|---|" + string.Concat(directions.Select(_ => "---|")) + "---|---|");
            foreach (var r in present)
            {
                var runs = results.Where(x => x.Row == r).Select(x => x.Result).ToList();
                var cells = directions.Select(d => MeanStd(runs.Select(x => x.Results[d]).ToList()));
                var shared = MeanStd(runs.Select(x => (double)x.Codebook.UsedByAll).ToList());
                var learned = runs.Count(x => x.Learning.Learned);
                var collapsed = runs.Where(x => x.Learning.Collapsed).SelectMany(x => x.Learning.CollapsedModalities).Distinct().ToList();
                var verdict = $"{learned}/{runs.Count}" + (collapsed.Count > 0 ? $" (collapsed: {string.Join(", ", collapsed)})" : "");
                sb.AppendLine($"| {runs[0].Label} | {string.Join(" | ", cells)} | {shared} of {runs[0].Codebook.Codes} | {verdict} |");
            }
            // The ceiling and chance beside the methods: the same head on the raw features of the target modality.
            // (The probe depends on the data and the seed, not the method: one value per seed.)
            var perSeed = results.GroupBy(x => x.Result.Seed).Select(g => g.First().Result.Learning).ToList();
            var probes = directions.Select(d => perSeed.SelectMany(l => l.Probes).Where(p => p.Modality[0] == d[^1]).Select(p => p.Value).ToList())
                .Select(v => v.Count == 0 ? "—" : MeanStd(v)).ToList();
            if (probes.Any(p => p != "—"))
                sb.AppendLine($"| raw-feature probe of the target (ceiling) | {string.Join(" | ", probes)} | | |");
            if (first.Metric == "accuracy")
                sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| chance | {string.Join(" | ", directions.Select(_ => $"{first.Learning.Chance:F1}"))} | | |"));
            sb.AppendLine();
        }
        Section("Comparison (paper Table 1)", Table1);
        Section("Ablations of Uni-Code (paper Tables 2–3)", Ablations);
        Verdicts(sb, directions, results);
        return sb.ToString();
    }

    /// <summary>Mean over seeds of one row's score in one direction; null when the row did not run.</summary>
    private static double? Mean(IReadOnlyList<(Row Row, ExperimentResult Result)> results, string row, string direction)
    {
        var v = results.Where(x => x.Row.Name == row && x.Result.Results.ContainsKey(direction)).Select(x => x.Result.Results[direction]).ToList();
        return v.Count == 0 ? null : v.Average();
    }

    /// <summary>
    /// The paper's claims read on this table: Uni-Code − baseline per cross-modal direction; the Table 1 ordering
    /// (baseline ≤ CMCM ≤ DCID+CMCM ≤ Uni-Code, on the mean of the cross-modal directions); Table 2's "Cross-CPC
    /// matters more than CLUB" (w/o CLUB above w/o Cross-CPC); cross-modal accuracy as a share of in-modality.
    /// Each line says whether the claim holds here, with the numbers.
    /// </summary>
    private static void Verdicts(StringBuilder sb, IReadOnlyList<string> directions, IReadOnlyList<(Row Row, ExperimentResult Result)> results)
    {
        var cross = directions.Where(d => d[0] != d[^1]).ToList();
        var inModality = directions.Where(d => d[0] == d[^1]).ToList();
        double? CrossMean(string row)
        {
            var v = cross.Select(d => Mean(results, row, d)).ToList();
            return v.Count == 0 || v.Any(x => x is null) ? null : v.Average(x => x!.Value);
        }
        string F(double? v) => v is { } x ? x.ToString("F1", CultureInfo.InvariantCulture) : "—";
        var lines = new List<string>();
        foreach (var d in cross)
            if (Mean(results, "unicode", d) is { } u && Mean(results, "baseline", d) is { } b)
                lines.Add($"| Uni-Code − baseline, {d} | {F(u - b)} points | {(u - b > 0 ? "holds" : "does not hold")} |");
        var order = new[] { "baseline", "cmcm", "dcid-cmcm", "unicode" }.Select(r => (r, m: CrossMean(r))).ToList();
        if (order.All(o => o.m is not null))
        {
            var holds = order.Zip(order.Skip(1)).All(p => p.First.m <= p.Second.m);
            lines.Add($"| Table 1 ordering on the cross-modal mean (baseline ≤ CMCM ≤ DCID+CMCM ≤ Uni-Code) | {string.Join(" / ", order.Select(o => F(o.m)))} | {(holds ? "holds" : "does not hold")} |");
        }
        if (CrossMean("no-club") is { } noClub && CrossMean("no-cpc") is { } noCpc)
            lines.Add($"| Table 2: Cross-CPC matters more than CLUB (w/o CLUB > w/o Cross-CPC, cross-modal mean) | {F(noClub)} vs {F(noCpc)} | {(noClub > noCpc ? "holds" : "does not hold")} |");
        if (CrossMean("unicode") is { } uc && inModality.Select(d => Mean(results, "unicode", d)).ToList() is var ins && ins.Count > 0 && ins.All(x => x is not null))
        {
            var im = ins.Average(x => x!.Value);
            lines.Add($"| Uni-Code cross-modal as a share of in-modality | {F(uc)} / {F(im)} = {(im > 0 ? (100 * uc / im).ToString("F0", CultureInfo.InvariantCulture) + " %" : "—")} | (no claim; the paper's own gap is large) |");
        }
        if (lines.Count == 0) return;
        sb.AppendLine("### The paper's claims on this table");
        sb.AppendLine();
        sb.AppendLine("| claim | numbers | here |");
        sb.AppendLine("|---|---|---|");
        foreach (var l in lines) sb.AppendLine(l);
        sb.AppendLine();
    }
}
