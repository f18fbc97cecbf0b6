using System.Globalization;
using System.Text;
using System.Text.Json;
using UniCode.Cli.CommandLine;
using UniCode.Experiments;

namespace UniCode.Cli.Commands;

/// <summary>`unicode run`: one experiment in process, no servers: pre-train, fine-tune on one modality, evaluate on the others.</summary>
public static class RunCommand
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static CommandSpec Spec { get; } = new(
        "run",
        "pre-train a model, train a head on one modality's codes, test it on the others (in process, no servers)",
        [
            .. ExperimentOptions.Common,
            new OptionSpec("method", "baseline, cmcm, dcid-cmcm or unicode", "unicode", Value: "METHOD"),
            new OptionSpec("seed", "random seed (model, data order, heads)", "43", Value: "N"),
            new OptionSpec("checkpoints", "keep checkpoints here (a rerun resumes from them); default: a temporary folder", Value: "DIR"),
            new OptionSpec("json", "write the results as JSON here", Value: "FILE"),
        ],
        Run,
        """
        Prints progress on stderr and a table on stdout; --json writes
          {"method": …, "task": "ave", "seed": …, "metric": "accuracy", "results": {"v2a": …, "a2v": …, "v2v": …, "a2a": …}, …}
        with every number in percent, plus the run's identity (config hash, dataset hash, code version,
        checkpoint sha256) and the codebook usage at the end of pre-training.
        example: unicode run --data synth: --method unicode --task ave --seed 1 --json out/unicode.json
        """);

    private static int Run(ParsedArgs a, CancellationToken ct)
    {
        var spec = ExperimentOptions.Spec(a, ExperimentOptions.ParseMethod(a.Required("method")), a.Long("seed")!.Value)
            with { CheckpointDirectory = a.String("checkpoints") };
        var printer = new ProgressPrinter("");
        var result = Experiment.Run(spec, printer.Report, ct);
        printer.Done();
        Console.WriteLine(Table(result));
        if (a.String("json") is { } path)
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null) Directory.CreateDirectory(dir);
            File.WriteAllText(path, JsonSerializer.Serialize(result, Json));
            Console.Error.WriteLine($"results written to {path}");
        }
        return 0;
    }

    public static string Table(ExperimentResult r)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{r.Label} · task {r.Task} · seed {r.Seed} · {r.Metric} (%) · dataset {r.Dataset}");
        sb.AppendLine();
        sb.AppendLine("| direction | " + string.Join(" | ", r.Results.Keys) + " |");
        sb.AppendLine("|---|" + string.Concat(r.Results.Keys.Select(_ => "---|")));
        sb.AppendLine("| " + r.Metric + " | " + string.Join(" | ", r.Results.Values.Select(v => v.ToString("F1", CultureInfo.InvariantCulture))) + " |");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"codebook: {r.Codebook.Used}/{r.Codebook.Codes} codes used, {r.Codebook.UsedByAll} by every modality · pre-train {r.PretrainSeconds:F0} s, downstream {r.DownstreamSeconds:F0} s");
        sb.AppendLine(CultureInfo.InvariantCulture, $"config {r.ConfigHash[..12]} · data {r.DatasetHash[..12]} · code {r.CodeVersion} · checkpoint {r.CheckpointSha256[..12]}");
        return sb.ToString();
    }
}
