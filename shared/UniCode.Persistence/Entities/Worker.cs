namespace UniCode.Persistence.Entities;

/// <summary>
/// A job service worker as the orchestrator last heard of it (table workers; one row per worker and job kind it
/// serves). Written only by the orchestrator, from the workers' heartbeats: a worker announces itself every
/// <c>UNICODE_HEARTBEAT_SECONDS</c>, idle or busy, so "is any worker alive for this queue?" is a query, and a step
/// whose job went silent can say whether anyone could take it again.
/// </summary>
public sealed class Worker
{
    /// <summary>UNICODE_WORKER_NAME of the worker (default host:pid).</summary>
    public required string Name { get; set; }

    /// <summary>The job kind it consumes: "pretrain", "finetune" or "evaluate".</summary>
    public required string JobKind { get; set; }

    /// <summary>The service, e.g. "trainer".</summary>
    public required string Service { get; set; }

    /// <summary>The queue it consumes the kind from, e.g. "pretrain-model".</summary>
    public required string Queue { get; set; }

    /// <summary>The job it runs now, or null when idle.</summary>
    public Guid? RunningJobId { get; set; }

    public DateTimeOffset FirstSeenAt { get; set; }

    /// <summary>When the orchestrator last received its heartbeat (the orchestrator's clock).</summary>
    public DateTimeOffset LastSeenAt { get; set; }
}
