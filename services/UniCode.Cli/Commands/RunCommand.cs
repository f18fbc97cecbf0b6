using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using UniCode.Cli.CommandLine;
using UniCode.Cli.Commands.Results;
using UniCode.Cli.Recording;
using UniCode.Data;
using UniCode.Experiments;
using UniCode.Model.Runtime;

namespace UniCode.Cli.Commands;

/// <summary>`unicode run`: one experiment in process, no servers: pre-train, fine-tune on one modality, evaluate on the others.</summary>
public static class RunCommand
{
    /// <summary>The --json form: snake_case fields, enums (modalities) by lower-case name; numbers are still read back from older files.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static CommandSpec Spec { get; } = new(
        "run",
        "pre-train a model, train a head on one modality's codes, test it on the others (in process, no servers)",
        [
            .. ExperimentOptions.Common,
            new OptionSpec("method", "baseline, cmcm, dcid-cmcm or unicode", "unicode", Value: "METHOD"),
            new OptionSpec("seed", "random seed (model, data order, heads)", "43", Value: "N"),
            new OptionSpec("checkpoints", "keep checkpoints here (a rerun resumes from them); default: a temporary folder", Value: "DIR"),
            new OptionSpec("json", "write the results as JSON here", Value: "FILE"),
            new OptionSpec("record", "also record the run in the results database (UNICODE_PG or --connection): dataset, runs, checkpoint, results", Flag: true),
            ResultsDatabase.ConnectionOption,
        ],
        Run,
        """
        Prints progress on stderr and a table on stdout; --json writes
          {"method": …, "task": "ave", "seed": …, "metric": "accuracy", "results": {"v2a": …, "a2v": …, "v2v": …, "a2a": …}, …}
        with every number in percent, plus the run's identity (config hash, dataset hash, code version,
        checkpoint sha256) and the codebook usage at the end of pre-training.
        --record writes the run into the results database, so `unicode results` / `compare` and the SQL views
        see it; recording the same result again adds nothing. Without --checkpoints the checkpoint file is
        not kept, and its row's uri says so ("none:step-….ckpt").
        example: unicode run --data synth: --method unicode --task ave --seed 1 --json out/unicode.json
        """);

    private static int Run(ParsedArgs a, CancellationToken ct)
    {
        var spec = ExperimentOptions.Spec(a, ExperimentOptions.ParseMethod(a.Required("method")), a.Long("seed")!.Value)
            with { CheckpointDirectory = a.String("checkpoints") };
        // Recording: check the database before a long run, and keep the checkpoint until its facts are read.
        using var database = a.Flag("record") ? ResultsDatabase.Open(a) : null;
        var recorder = database is null ? null : new ExperimentRecorder(database.Connection);
        recorder?.CheckSchema();
        var temporary = recorder is not null && spec.CheckpointDirectory is null ? Directory.CreateTempSubdirectory("unicode-run-").FullName : null;
        if (temporary is not null) spec = spec with { CheckpointDirectory = temporary };
        try
        {
            var printer = new ProgressPrinter("");
            using var dataset = DatasetOpener.Open(spec.Dataset);
            using var data = DatasetTensors.Load(dataset, spec.Modalities,
                (done, total) => printer.Report(new ExperimentProgress("load", $"read {done}/{total} clips of {spec.Dataset}", (double)done / total)));
            var result = Experiment.Run(spec, data, printer.Report, ct);
            printer.Done();
            Console.WriteLine(Table(result));
            WarnIfNotLearned(result);
            WriteJson(a, result);
            if (recorder is not null)
            {
                var facts = CheckpointFacts.Find(spec.CheckpointDirectory!, result.CheckpointSha256, kept: temporary is null);
                var outcome = recorder.Record(new ExperimentRecord(spec, result, dataset.Name, dataset.Count, DeviceSelector.Select(spec.Device).ToString(), facts));
                Console.Error.WriteLine(outcome.Summary(database!.Describe));
            }
        }
        finally
        {
            if (temporary is not null) Directory.Delete(temporary, recursive: true);
        }
        return 0;
    }

    /// <summary>A run that learned nothing says so on stderr, every problem on its own line.</summary>
    public static void WarnIfNotLearned(ExperimentResult result)
    {
        foreach (var w in result.Learning.Warnings)
            Console.Error.WriteLine($"warning: {result.Label} seed {result.Seed}: {w} — {LearningReport.NotAScore}");
        foreach (var w in result.Learning.Cautions)
            Console.Error.WriteLine($"warning: {result.Label} seed {result.Seed}: {w}");
    }

    private static void WriteJson(ParsedArgs a, ExperimentResult result)
    {
        if (a.String("json") is { } path)
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null) Directory.CreateDirectory(dir);
            File.WriteAllText(path, JsonSerializer.Serialize(result, Json));
            Console.Error.WriteLine($"results written to {path}");
        }
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
        var l = r.Learning;
        if (l.Probes.Count > 0)
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"raw-feature probe (ceiling): {string.Join(", ", l.Probes.Select(p => $"{p.Direction} {p.Value:F1}"))} · chance {l.Chance:F1}");
        if (l.BeforeQuantisation.Count > 0)
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"head on semantic features before quantisation: {string.Join(", ", l.BeforeQuantisation.Select(p => $"{p.Direction} {p.Value:F1}"))}");
        if (l.VideoAttention is { } va)
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"video pooler's attention on the event's grid cells ({va.Segments} event seconds of {va.Split}): {va.Share:F1} % (looking everywhere alike: {va.Uniform:F1} %)");
        if (l.CellProbes is { Count: > 0 })
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"raw-feature probe on every video grid cell (max over cells and seconds): {string.Join(", ", l.CellProbes.Select(p => $"{p.Direction} {p.Value:F1}"))}");
        if (l.CodeContent is { Count: > 0 })
        {
            static string Pct(double? v) => v is { } x ? x.ToString("F1", CultureInfo.InvariantCulture) : "–";
            var same = l.CodeContent.Where(c => c.Fitted == c.Scored).ToList();
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"what the codes carry on {l.Split} (code → label lookup fitted on train): event vs background {string.Join(", ", same.Select(c => $"{c.Direction} {Pct(c.EventBalancedAccuracy)}"))} (chance 50) · " +
                $"class on event seconds {string.Join(", ", l.CodeContent.Select(c => $"{c.Direction} {Pct(c.ClassAccuracy)}"))} (no codes: {Pct(same[0].ClassBaseline)})");
        }
        if (l.CrossModalTerms is { Count: > 0 } terms)
        {
            var each = string.Join(", ", terms.Select(t => string.Create(CultureInfo.InvariantCulture,
                $"{t.Term} {t.Train:F3} / {t.HeldOut:F3} / {t.Shuffled:F3} (carried over {(t.CarriedOver is { } c ? c.ToString("F2", CultureInfo.InvariantCulture) : "–")})")));
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"cross-modal terms on training / held-out ({l.Split}) / held-out shuffled clips ({terms[0].Clips} a batch): {each}");
        }
        if (l.CrossModalCurve is { Count: > 0 } curve)
            foreach (var term in curve.GroupBy(p => p.Term))
            {
                var points = string.Join(" · ", term.Select(p => string.Create(CultureInfo.InvariantCulture,
                    $"{p.Step}: {p.Train:F2} / {p.HeldOut:F2} / {p.Shuffled:F2} ({(p.CarriedOver is { } c ? c.ToString("F2", CultureInfo.InvariantCulture) : "–")})")));
                sb.AppendLine(CultureInfo.InvariantCulture, $"{term.Key} during pre-training, step: training / held-out / shuffled (carried over): {points}");
            }
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"learned: {(l.Learned ? "yes" : "NO")} · codes on {l.Split}: {string.Join(", ", l.Codes.Select(c => $"{c.Modality.ToString().ToLowerInvariant()} perplexity {c.Perplexity:F1}, {c.DistinctCodeSets} code sets / {c.Clips} clips"))}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"config {r.ConfigHash[..12]} · data {r.DatasetHash[..12]} · code {r.CodeVersion} · {r.Threads} threads · checkpoint {r.CheckpointSha256[..12]}");
        return sb.ToString();
    }
}
