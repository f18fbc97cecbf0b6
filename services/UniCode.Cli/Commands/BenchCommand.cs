using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using UniCode.Cli.CommandLine;
using UniCode.Model;
using UniCode.Model.Config;
using UniCode.Model.Runtime;
using UniCode.Model.Training;
using static TorchSharp.torch;

namespace UniCode.Cli.Commands;

/// <summary>
/// `unicode bench`: ms per pre-training step and peak memory, for the `small` preset and for the
/// reduced setting REFERENCE-PERF.md measured the PyTorch reference on (batch 32 and 80, float32
/// and float64), each case in its own process (peak RSS is per process), under both allocator settings.
/// </summary>
public static class BenchCommand
{
    /// <summary>GFLOP of one reduced pre-training step, counted for the reference (REFERENCE-PERF.md, "The physical limit").</summary>
    private static readonly Dictionary<int, double> ReducedGflop = new() { [32] = 135, [80] = 337 };
    private const double PeakGflopsFloat32 = 435, PeakGflopsFloat64 = 218;

    public sealed record Case(string Name, string Preset, int Batch, Precision Precision);

    public static IReadOnlyList<Case> Cases { get; } =
    [
        new("small-b32-f32", "small", 32, Precision.Float32),
        new("reduced-b32-f32", "reduced", 32, Precision.Float32),
        new("reduced-b80-f32", "reduced", 80, Precision.Float32),
        new("reduced-b32-f64", "reduced", 32, Precision.Float64),
        new("reduced-b80-f64", "reduced", 80, Precision.Float64),
    ];

    public sealed record Measurement(string Case, string Malloc, int Batch, string Precision, int Steps, double MedianMs, double MinMs,
        double SamplesPerSecond, double PeakRssGiB, double? GflopPerStep, double? PeakFraction, long Parameters, int Threads, string Device);

    public static CommandSpec Spec { get; } = new(
        "bench",
        "time pre-training steps (ms/step, peak memory) for the small preset and the reference's reduced setting",
        [
            new OptionSpec("cases", "comma-separated cases: " + string.Join(", ", Cases.Select(c => c.Name)), "all"),
            new OptionSpec("steps", "timed steps per case", "10", Value: "N"),
            new OptionSpec("warmup", "untimed steps first", "3", Value: "N"),
            new OptionSpec("malloc", "glibc allocator: keep (freed memory kept, as trainers run), default (glibc defaults), or both", "both"),
            new OptionSpec("threads", "libtorch threads", "2", Value: "N"),
            new OptionSpec("out", "markdown table written here", "bench-results/bench.md", Value: "FILE"),
            new OptionSpec("json", "also write the measurements as JSON here", Value: "FILE"),
            new OptionSpec("one", "(internal) run one case in this process and print its JSON", Value: "CASE"),
        ],
        Run,
        """
        Inputs are random tensors of the real shapes (audio [B,10,128], video [B,10,7,7,512]), the same
        batch every step, as in ../shared/design/reference-bench. The table's last column is the share of
        the machine's float32 (435 GFLOP/s) or float64 (218 GFLOP/s) peak that the step reaches, using the
        reference's counted FLOPs for the reduced setting. Compare with the reference harness run beside it
        (make bench-reference; see docs/benchmarks.md).
        """);

    private static int Run(ParsedArgs a, CancellationToken ct)
    {
        var steps = a.Int("steps")!.Value;
        var warmup = a.Int("warmup")!.Value;
        var threads = a.Int("threads")!.Value;
        if (steps < 1) throw new UsageException($"option '--steps' = {steps}: expected at least 1");
        if (a.String("one") is { } one)
        {
            var c = Cases.FirstOrDefault(x => x.Name == one) ?? throw new UsageException($"unknown case '{one}'");
            var malloc = a.Required("malloc");
            if (malloc == "keep") NativeAllocator.KeepFreedMemory();
            else if (malloc != "default") throw new UsageException($"option '--malloc' = '{malloc}': expected keep or default with --one");
            Console.WriteLine(JsonSerializer.Serialize(Measure(c, malloc, steps, warmup, threads)));
            return 0;
        }

        var selected = a.String("cases") is "all" or null
            ? Cases
            : a.List("cases").Select(n => Cases.FirstOrDefault(c => c.Name == n) ?? throw new UsageException($"option '--cases': unknown case '{n}'")).ToList();
        var mallocs = a.String("malloc") switch
        {
            "both" => new[] { "keep", "default" },
            "keep" => ["keep"],
            "default" => ["default"],
            var m => throw new UsageException($"option '--malloc' = '{m}': expected keep, default or both"),
        };
        var results = new List<Measurement>();
        foreach (var c in selected)
        {
            foreach (var malloc in mallocs)
            {
                ct.ThrowIfCancellationRequested();
                Console.Error.WriteLine($"bench: {c.Name} malloc={malloc} ({warmup}+{steps} steps) …");
                var m = RunChild(c, malloc, steps, warmup, threads);
                Console.Error.WriteLine($"bench: {c.Name} malloc={malloc}: median {m.MedianMs:F0} ms/step, peak RSS {m.PeakRssGiB:F2} GiB");
                results.Add(m);
            }
        }
        var table = Table(results, steps, warmup);
        var outPath = a.Required("out");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outPath))!);
        File.WriteAllText(outPath, table);
        if (a.String("json") is { } json) File.WriteAllText(json, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine(table);
        Console.Error.WriteLine($"bench: table written to {outPath}");
        return 0;
    }

    private static Measurement RunChild(Case c, string malloc, int steps, int warmup, int threads)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find the unicode executable to start a benchmark process");
        var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        if (self.EndsWith("dotnet", StringComparison.Ordinal)) psi.ArgumentList.Add(typeof(BenchCommand).Assembly.Location);
        foreach (var arg in new[] { "bench", "--one", c.Name, "--malloc", malloc, "--steps", $"{steps}", "--warmup", $"{warmup}", "--threads", $"{threads}" })
            psi.ArgumentList.Add(arg);
        // Allocator settings via the environment would also reach the child's .NET runtime; the child
        // applies them itself (mallopt) so that both settings differ only in libtorch's buffers.
        psi.Environment.Remove("MALLOC_MMAP_THRESHOLD_");
        psi.Environment.Remove("MALLOC_TRIM_THRESHOLD_");
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start a benchmark process");
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"benchmark case {c.Name} (malloc {malloc}) failed with exit code {p.ExitCode}");
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
        return JsonSerializer.Deserialize<Measurement>(line) ?? throw new InvalidOperationException($"benchmark case {c.Name} printed no result");
    }

    /// <summary>Times <paramref name="steps"/> pre-training steps after <paramref name="warmup"/>, in this process.</summary>
    public static Measurement Measure(Case c, string malloc, int steps, int warmup, int threads)
    {
        set_num_threads(threads);
        var config = UniCodeConfig.Preset(c.Preset) with { BatchSize = c.Batch, Precision = c.Precision, Modalities = ModalitySet.AudioVisual };
        var device = DeviceSelector.Select("auto");
        using var trainer = new Pretrainer(config, device);
        var dtype = trainer.Model.DType;
        var gen = new Generator(43, device);
        using var audio = randn([c.Batch, config.Segments, config.AudioInputDim], dtype: dtype, device: device, generator: gen);
        using var video = randn([c.Batch, config.Segments, config.VideoGrid, config.VideoGrid, config.VideoInputDim], dtype: dtype, device: device, generator: gen);
        var batch = new PretrainBatch(audio, video, null);
        var times = new List<double>();
        for (var i = 0; i < warmup + steps; i++)
        {
            var sw = Stopwatch.StartNew();
            var r = trainer.TrainStep(batch);
            // The loss vector is read back each step so that the time covers all queued device work.
            _ = r.Values.cpu().data<double>()[0];
            r.Values.Dispose();
            if (i >= warmup) times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        var median = times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
        double? gflop = c.Preset == "reduced" && ReducedGflop.TryGetValue(c.Batch, out var g) ? g : null;
        var peak = c.Precision == Precision.Float64 ? PeakGflopsFloat64 : PeakGflopsFloat32;
        long parameters = trainer.Model.parameters().Sum(p => p.numel());
        return new Measurement(c.Name, malloc, c.Batch, c.Precision.ToString().ToLowerInvariant(), steps, median, times[0],
            c.Batch / (median / 1000), PeakRssGiB(), gflop, gflop / (median / 1000) / peak, parameters, get_num_threads(), device.ToString());
    }

    /// <summary>The process's peak resident set (VmHWM) in GiB.</summary>
    public static double PeakRssGiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
            var kb = long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            return kb / 1024.0 / 1024.0;
        }
        return double.NaN;
    }

    private static string Table(IReadOnlyList<Measurement> results, int steps, int warmup)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"UniCode pre-training step, AV model, {warmup} warm-up + {steps} timed steps, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, code {CodeVersion.Current}");
        sb.AppendLine();
        sb.AppendLine("| case | malloc | batch | dtype | params | median ms/step | min ms | samples/s | peak RSS GiB | GFLOP/step | share of peak |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var m in results)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {m.Case} | {m.Malloc} | {m.Batch} | {m.Precision} | {m.Parameters / 1e6:F2} M | {m.MedianMs:F0} | {m.MinMs:F0} | {m.SamplesPerSecond:F1} | {m.PeakRssGiB:F2} | {(m.GflopPerStep is { } g ? g.ToString("F0", CultureInfo.InvariantCulture) : "n/a")} | {(m.PeakFraction is { } f ? (100 * f).ToString("F0", CultureInfo.InvariantCulture) + "%" : "n/a")} |");
        }
        return sb.ToString();
    }
}
