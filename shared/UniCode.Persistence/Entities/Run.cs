using UniCode.Core;

namespace UniCode.Persistence.Entities;

/// <summary>
/// One execution of a job step (table runs). Its id is the job id, and its step key is unique, so
/// a step submitted twice maps to one row. Updated by several writers (coordinator, worker, results
/// writer): <see cref="Version"/> (PostgreSQL xmin) makes a stale update fail instead of overwriting.
/// </summary>
public sealed class Run
{
    /// <summary>= the JobId of the job messages.</summary>
    public Guid Id { get; set; }

    /// <summary>One of <see cref="RunKinds.All"/>.</summary>
    public required string Kind { get; set; }

    public Guid? ChainId { get; set; }

    /// <summary>sha256 of step kind + canonical config + input hashes + code version. Unique.</summary>
    public required string StepKey { get; set; }

    /// <summary>Canonical config JSON (jsonb).</summary>
    public required string ConfigJson { get; set; }

    public required string ConfigHash { get; set; }

    public long Seed { get; set; }

    /// <summary>git commit the run executed.</summary>
    public required string CodeVersion { get; set; }

    /// <summary>The working tree had uncommitted changes: the commit alone does not reproduce the run.</summary>
    public bool CodeDirty { get; set; }

    public required string DatasetHash { get; set; }

    /// <summary>Where it ran, e.g. "cpu" or "cuda:0 (NVIDIA H100)"; empty until started.</summary>
    public string Device { get; set; } = "";

    /// <summary>One of <see cref="RunStatuses.All"/>.</summary>
    public required string Status { get; set; }

    /// <summary>The error of a failed run.</summary>
    public string? Error { get; set; }

    /// <summary>
    /// The worker (its UNICODE_WORKER_NAME) that last started the run. While the run is running it holds the run: another
    /// delivery of the same job waits instead of training it a second time, until the run ends or the holder's lease
    /// lapses (<see cref="LeaseRenewedAt"/> older than UNICODE_HEARTBEAT_LEASE). Null for runs no worker started.
    /// </summary>
    public string? Worker { get; set; }

    /// <summary>When <see cref="Worker"/> last said it still runs this job (its heartbeat renews it).</summary>
    public DateTimeOffset? LeaseRenewedAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>Optimistic concurrency token: PostgreSQL's xmin system column (not a real column).</summary>
    public uint Version { get; set; }

    public List<Checkpoint> Checkpoints { get; set; } = [];
    public List<MetricPoint> Metrics { get; set; } = [];
}

/// <summary>Values of runs.kind.</summary>
public static class RunKinds
{
    public const string Pretrain = JobKinds.Pretrain;
    public const string Finetune = JobKinds.Finetune;
    public const string Evaluate = JobKinds.Evaluate;

    public static IReadOnlyList<string> All { get; } = JobKinds.All;
}

/// <summary>Values of runs.status.</summary>
public static class RunStatuses
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static IReadOnlyList<string> All { get; } = [Queued, Running, Succeeded, Failed, Cancelled];
}
