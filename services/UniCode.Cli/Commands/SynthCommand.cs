using UniCode.Cli.CommandLine;
using UniCode.Data.Synthetic;

namespace UniCode.Cli.Commands;

/// <summary>`unicode synth`: writes the synthetic cross-modal benchmark in the AVE layout.</summary>
public static class SynthCommand
{
    public static CommandSpec Spec { get; } = new(
        "synth",
        "write a synthetic cross-modal generalization dataset in the AVE layout (docs/synthetic-benchmark.md)",
        [
            new OptionSpec("out", "directory to write (audio_feature.h5, visual_feature.h5, labels.h5, *_order.h5, text_feature.h5)", Required: true, Value: "DIR"),
            new OptionSpec("seed", "random seed", Value: "N"),
            new OptionSpec("spec", "more generator settings as key=value pairs, e.g. clips=2000,classes=12,style=3 (see docs/synthetic-benchmark.md)", Value: "SPEC"),
        ],
        Run,
        "Prints the dataset's name (ave:DIR) for --data; the same spec and seed always give the same bytes.");

    private static int Run(ParsedArgs a, CancellationToken ct)
    {
        var text = a.String("spec") ?? "";
        if (a.Long("seed") is { } seed) text = string.IsNullOrEmpty(text) ? $"seed={seed}" : $"{text},seed={seed}";
        SyntheticSpec spec;
        try { spec = SyntheticSpec.Parse(text); }
        catch (Exception e) when (e is FormatException or ArgumentException) { throw new UsageException($"option '--spec': {e.Message}"); }
        var name = SyntheticBenchmark.WriteAve(spec, a.Required("out"));
        Console.Error.WriteLine($"wrote {spec.Clips} clips ({spec}) to {a.Required("out")}");
        Console.WriteLine(name);
        return 0;
    }
}
