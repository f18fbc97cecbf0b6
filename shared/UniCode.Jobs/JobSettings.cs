using System.Globalization;
using UniCode.Messaging;
using UniCode.Persistence.Artifacts;
using UniCode.Settings;

namespace UniCode.Jobs;

/// <summary>
/// Per-host settings of a job service, from UNICODE_* environment variables. Nothing here changes a
/// job's result (that is fixed by the job message and the code version); these say where and how a
/// host runs its jobs. Job service hosts read them as options (<see cref="SettingsBinding.AddSettings{T}"/>, validated
/// on start).
/// </summary>
public sealed record JobSettings : ISettings<JobSettings>
{
    public const string DeviceVariable = "UNICODE_DEVICE";
    public const string WorkVariable = "UNICODE_WORK";
    public const string ArtifactsVariable = "UNICODE_ARTIFACTS";
    public const string WorkerVariable = "UNICODE_WORKER_NAME";
    public const string KeepFreedMemoryVariable = "UNICODE_KEEP_FREED_MEMORY";
    public const string ProgressSecondsVariable = "UNICODE_PROGRESS_SECONDS";
    public const string CheckpointEveryStepsVariable = "UNICODE_CHECKPOINT_EVERY_STEPS";
    public const string KeepCheckpointsVariable = "UNICODE_KEEP_CHECKPOINTS";
    public const string MaxStartsVariable = "UNICODE_MAX_JOB_STARTS";
    public const string ReportEveryStepsVariable = "UNICODE_REPORT_EVERY_STEPS";
    public const string HeartbeatSecondsVariable = "UNICODE_HEARTBEAT_SECONDS";

    /// <summary>Every variable read by <see cref="FromEnvironment()"/>, for documentation and health output.</summary>
    public static IReadOnlyList<string> Variables { get; } =
    [
        DeviceVariable, WorkVariable, ArtifactsVariable, WorkerVariable, KeepFreedMemoryVariable,
        ProgressSecondsVariable, CheckpointEveryStepsVariable, KeepCheckpointsVariable, MaxStartsVariable, ReportEveryStepsVariable,
        HeartbeatSecondsVariable, WorkerLease.Variable,
    ];

    /// <summary>"auto" (CUDA when available), "cpu", "cuda" or "cuda:N" (UNICODE_DEVICE).</summary>
    public string Device { get; init; } = "auto";

    /// <summary>
    /// Scratch space of running jobs (UNICODE_WORK; default <c>&lt;repo&gt;/.work</c>): pre-training
    /// checkpoints live in <c>pretrain/&lt;JobId&gt;/</c>. Put it on a mount shared by the workers and a job
    /// redelivered to another worker resumes from the checkpoints the first one wrote.
    /// </summary>
    public required string WorkDirectory { get; init; }

    /// <summary>Content-addressed store of finished checkpoints and heads (UNICODE_ARTIFACTS; default <c>&lt;repo&gt;/.artifacts</c>).</summary>
    public required string ArtifactsDirectory { get; init; }

    /// <summary>Names this worker in logs and in runs.device (UNICODE_WORKER_NAME; default host:pid).</summary>
    public string WorkerName { get; init; } = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>Apply <c>NativeAllocator.KeepFreedMemory</c> at start (UNICODE_KEEP_FREED_MEMORY = 1|0; default 1).</summary>
    public bool KeepFreedMemory { get; init; } = true;

    /// <summary>At most one progress event (and one set of metric points) per job per this interval (UNICODE_PROGRESS_SECONDS; default 10).</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Pre-training reads its losses back to the host every this many steps (the loop's only host syncs),
    /// and only these reports reach the throttle (UNICODE_REPORT_EVERY_STEPS; default 10).
    /// </summary>
    public int ReportEverySteps { get; init; } = 10;

    /// <summary>Pre-training also checkpoints every this many steps, besides every epoch (UNICODE_CHECKPOINT_EVERY_STEPS; default 500; 0 = epochs only).</summary>
    public long CheckpointEverySteps { get; init; } = 500;

    /// <summary>Older pre-training checkpoints kept besides the newest while a job runs (UNICODE_KEEP_CHECKPOINTS; default 2).</summary>
    public int KeepCheckpoints { get; init; } = 2;

    /// <summary>
    /// A job delivered this many times without finishing (worker crashes, out-of-memory kills) is failed
    /// instead of started again, so it cannot occupy the workers forever (UNICODE_MAX_JOB_STARTS; default 10).
    /// </summary>
    public int MaxStarts { get; init; } = 10;

    /// <summary>
    /// The host publishes a <c>WorkerHeartbeat</c> (itself, its queues, its running job with its progress and start
    /// count) every this interval, idle or busy, independent of the progress throttle (UNICODE_HEARTBEAT_SECONDS;
    /// default 10). The orchestrator's lease (UNICODE_HEARTBEAT_LEASE, default 30 s) must be several of these.
    /// </summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A worker holds each job it runs (runs.worker) for as long as its heartbeat renews the lease; a second delivery of
    /// the job waits while the holder is alive and takes the job over once the holder has been silent for this long
    /// (UNICODE_HEARTBEAT_LEASE, hh:mm:ss; default 30 s: the same variable and value the orchestrator's stall detection
    /// reads). Longer than <see cref="HeartbeatInterval"/>.
    /// </summary>
    public TimeSpan Lease { get; init; } = WorkerLease.Default;

    /// <summary>Reads the UNICODE_* variables of the process; relative defaults are under the repository root above the current directory.</summary>
    public static JobSettings FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable, Directory.GetCurrentDirectory());

    /// <summary>The one binding (<see cref="ISettings{TSelf}"/>): relative defaults are under the repository root above the current directory.</summary>
    static JobSettings ISettings<JobSettings>.FromEnvironment(Func<string, string?> lookup) => FromEnvironment(lookup, Directory.GetCurrentDirectory());

    /// <summary>Reads the variables through <paramref name="lookup"/> (a host's configuration; tests pass a dictionary).</summary>
    /// <exception cref="InvalidOperationException">A variable has a value outside what it accepts; the message names it.</exception>
    public static JobSettings FromEnvironment(Func<string, string?> lookup, string startDirectory)
    {
        string? Get(string name) => lookup(name) is { } v && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;
        var root = ArtifactStore.RepositoryRoot(startDirectory);
        var device = Get(DeviceVariable) ?? "auto";
        var d = device.ToLowerInvariant();
        if (!(d is "auto" or "cpu" or "cuda" || (d.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(d.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out _))))
            throw new InvalidOperationException($"{DeviceVariable} is '{device}'; expected auto, cpu, cuda or cuda:N");
        return new JobSettings
        {
            Device = d,
            WorkDirectory = Path.GetFullPath(Get(WorkVariable) ?? Path.Combine(root, ".work")),
            ArtifactsDirectory = Path.GetFullPath(Get(ArtifactsVariable) ?? Path.Combine(root, ArtifactStore.DefaultDirectoryName)),
            WorkerName = Get(WorkerVariable) ?? $"{Environment.MachineName}:{Environment.ProcessId}",
            KeepFreedMemory = Get(KeepFreedMemoryVariable) switch
            {
                null or "1" or "true" or "yes" => true,
                "0" or "false" or "no" => false,
                var v => throw new InvalidOperationException($"{KeepFreedMemoryVariable} is '{v}'; expected 1 or 0"),
            },
            ProgressInterval = TimeSpan.FromSeconds(Number(Get(ProgressSecondsVariable), ProgressSecondsVariable, 10, 0, "seconds ≥ 0 (0 = every report)")),
            CheckpointEverySteps = (long)Number(Get(CheckpointEveryStepsVariable), CheckpointEveryStepsVariable, 500, 0, "a whole number of steps ≥ 0 (0 = every epoch only)", whole: true),
            KeepCheckpoints = (int)Number(Get(KeepCheckpointsVariable), KeepCheckpointsVariable, 2, 0, "a whole number ≥ 0", whole: true),
            ReportEverySteps = (int)Number(Get(ReportEveryStepsVariable), ReportEveryStepsVariable, 10, 1, "a whole number of steps ≥ 1", whole: true),
            MaxStarts = (int)Number(Get(MaxStartsVariable), MaxStartsVariable, 10, 1, "a whole number ≥ 1", whole: true),
            HeartbeatInterval = TimeSpan.FromSeconds(Number(Get(HeartbeatSecondsVariable), HeartbeatSecondsVariable, 10, 0.1, "seconds ≥ 0.1")),
            Lease = WorkerLease.FromEnvironment(lookup),
        }.Checked();
    }

    /// <summary>The settings, or an error naming both variables when the lease would lapse between two heartbeats.</summary>
    private JobSettings Checked() => Lease > HeartbeatInterval ? this
        : throw new InvalidOperationException($"{WorkerLease.Variable} is {Lease:c}, not longer than {HeartbeatSecondsVariable} = " +
            $"{HeartbeatInterval.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s; expected a lease of several heartbeat intervals (e.g. 3×)");

    private static double Number(string? text, string variable, double fallback, double minimum, string expected, bool whole = false)
    {
        if (text is null) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v) || v < minimum
            || (whole && (v != Math.Floor(v) || v > int.MaxValue)))
            throw new InvalidOperationException($"{variable} is '{text}'; expected {expected}");
        return v;
    }
}
