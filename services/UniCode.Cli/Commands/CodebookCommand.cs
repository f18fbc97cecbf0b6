using System.Globalization;
using System.Text;
using System.Text.Json;
using UniCode.Cli.CommandLine;
using UniCode.Data;
using UniCode.Experiments;
using UniCode.Experiments.Analysis;
using UniCode.Model.Config;

namespace UniCode.Cli.Commands;

/// <summary>
/// `unicode codebook`: the paper's codebook analyses — which codes each method's modalities share
/// (Fig. 4: codes used > 80% by one modality vs shared) and a codebook-size sweep of Uni-Code's
/// cross-modal accuracy (Fig. 3) — as markdown tables and PNG charts.
/// </summary>
public static class CodebookCommand
{
    public static CommandSpec Spec { get; } = new(
        "codebook",
        "codebook analyses: code sharing per method (paper Fig. 4) and a codebook-size sweep (Fig. 3), as tables and PNGs",
        [
            .. ExperimentOptions.Common.Where(o => o.Name is not ("no-club" or "no-cpc" or "no-mm-ema" or "no-reset" or "no-cmcm" or "codebook-size"))
                .Select(o => o.Name == "data" ? o with { Required = false, Default = "synth:" } : o),
            new OptionSpec("rows", "methods for the sharing analysis (comma-separated: baseline, cmcm, dcid-cmcm, unicode; none to skip)", "baseline,cmcm,dcid-cmcm,unicode", Value: "LIST"),
            new OptionSpec("sizes", "codebook sizes for the sweep (none to skip)", "32,64,128,256,512", Value: "LIST"),
            new OptionSpec("seeds", "seeds of the sweep; the sharing analysis uses the first", "1,2", Value: "LIST"),
            new OptionSpec("out", "folder for codebook.md, shares.png, sweep.png and the runs' JSON", "bench-results/codebook", Value: "DIR"),
            new OptionSpec("threshold", "a code is 'mostly one modality' above this share of its uses", "0.8", Value: "X"),
        ],
        Run,
        """
        Sharing is measured with the frozen pre-trained encoder on the test split: every token of every
        modality is assigned its nearest code, and each used code is classed by where its uses come from.
        example: unicode codebook --data synth: --sizes 64,128,256 --seeds 1,2
        """);

    private static int Run(ParsedArgs a, CancellationToken ct)
    {
        var outDir = a.Required("out");
        Directory.CreateDirectory(outDir);
        var seeds = a.List("seeds").Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToList();
        if (seeds.Count == 0) throw new UsageException("option '--seeds': give at least one seed");
        var threshold = a.Double("threshold")!.Value;
        var template = ExperimentOptions.Spec(a, Method.UniCode, seeds[0]);
        using var dataset = DatasetOpener.Open(template.Dataset);
        using var data = DatasetTensors.Load(dataset, template.Modalities);
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"Dataset `{dataset.Name}` (sha256 {data.ContentHash[..12]}…), preset `{template.Preset}`, modalities `{template.Modalities.Code()}`, task `{template.Task.ToString().ToLowerInvariant()}`.");
        md.AppendLine();

        var rows = a.List("rows").Where(r => r != "none").ToList();
        if (rows.Count > 0)
        {
            var shares = new List<(string Label, CodebookShares Shares)>();
            foreach (var name in rows)
            {
                ct.ThrowIfCancellationRequested();
                var spec = template with { Method = ExperimentOptions.ParseMethod(name) };
                CodebookShares? measured = null;
                var printer = new ProgressPrinter($"[sharing] {name} ");
                var result = Experiment.Run(spec, data, printer.Report, ct,
                    model => measured = CodebookAnalysis.Measure(model, data, "test", threshold: threshold));
                printer.Done();
                File.WriteAllText(Path.Combine(outDir, $"sharing-{name}-seed{spec.Seed}.json"), JsonSerializer.Serialize(result, RunCommand.Json));
                shares.Add((result.Label, measured!));
            }
            md.AppendLine(CultureInfo.InvariantCulture, $"### Code sharing after pre-training (paper Fig. 4), test split, seed {seeds[0]}");
            md.AppendLine();
            md.AppendLine(AnalysisTables.Shares(shares));
            Charts.StackedShares(Path.Combine(outDir, "shares.png"), shares, "codes by where their uses come from");
            md.AppendLine("![code sharing](shares.png)");
            md.AppendLine();
        }

        var sizes = a.List("sizes").Where(s => s != "none").Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList();
        if (sizes.Count > 0)
        {
            var cells = new List<(int CodebookSize, string Direction, IReadOnlyList<double> ValuesOverSeeds)>();
            string metric = "";
            foreach (var size in sizes)
            {
                var perDirection = new Dictionary<string, List<double>>();
                foreach (var seed in seeds)
                {
                    ct.ThrowIfCancellationRequested();
                    var spec = template with { CodebookSize = size, Seed = seed };
                    var printer = new ProgressPrinter($"[sweep] L={size} seed {seed} ");
                    var r = Experiment.Run(spec, data, printer.Report, ct);
                    printer.Done();
                    File.WriteAllText(Path.Combine(outDir, $"sweep-L{size}-seed{seed}.json"), JsonSerializer.Serialize(r, RunCommand.Json));
                    metric = r.Metric;
                    foreach (var (d, v) in r.Results.Where(kv => kv.Key[0] != kv.Key[^1]))
                        (perDirection.TryGetValue(d, out var l) ? l : perDirection[d] = []).Add(v);
                }
                cells.AddRange(perDirection.Select(kv => (size, kv.Key, (IReadOnlyList<double>)kv.Value)));
            }
            md.AppendLine(CultureInfo.InvariantCulture, $"### Codebook size (paper Fig. 3): Uni-Code cross-modal {metric} (%), seeds {string.Join(", ", seeds)}");
            md.AppendLine();
            md.AppendLine(AnalysisTables.Sweep(cells));
            Charts.Sweep(Path.Combine(outDir, "sweep.png"), cells, $"{metric} (%)", "Uni-Code: cross-modal transfer vs codebook size");
            md.AppendLine("![codebook-size sweep](sweep.png)");
        }
        var path = Path.Combine(outDir, "codebook.md");
        File.WriteAllText(path, md.ToString());
        Console.WriteLine(md.ToString());
        Console.Error.WriteLine($"written to {path}");
        return 0;
    }
}
