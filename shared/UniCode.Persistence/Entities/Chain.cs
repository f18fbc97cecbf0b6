namespace UniCode.Persistence.Entities;

/// <summary>
/// One experiment chain as the chain coordinator tracks it (table chains). Every change to one of
/// its steps also touches this row, so <see cref="Version"/> (xmin) serialises decisions about the
/// whole chain ("was that the last step?") between concurrent consumers: the loser of a race retries.
/// </summary>
public sealed class Chain
{
    /// <summary>= SubmitChain.ChainId.</summary>
    public Guid Id { get; set; }

    public required string Name { get; set; }

    /// <summary>One of <see cref="ChainStatuses.All"/>.</summary>
    public required string Status { get; set; }

    /// <summary>Re-run steps whose results exist instead of reusing them.</summary>
    public bool Force { get; set; }

    /// <summary>The specification as submitted (text, not jsonb: a rejected spec need not be JSON).</summary>
    public required string SpecJson { get; set; }

    /// <summary>The resolved plan (jsonb): configs, hashes, code versions; null when rejected.</summary>
    public string? PlanJson { get; set; }

    /// <summary>How many steps the plan has (pre-train, register, fine-tune and evaluate, all seeds).</summary>
    public int StepCount { get; set; }

    /// <summary>Why it was rejected, failed or cancelled.</summary>
    public string? Reason { get; set; }

    /// <summary>The step key of the step that failed the chain.</summary>
    public string? FailedStepKey { get; set; }

    public DateTimeOffset SubmittedAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? CancelRequestedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>Optimistic concurrency token: PostgreSQL's xmin system column.</summary>
    public uint Version { get; set; }

    public List<ChainStep> Steps { get; set; } = [];
}

/// <summary>Values of chains.status.</summary>
public static class ChainStatuses
{
    public const string Running = "running";
    /// <summary>CancelChain arrived; waiting for the running jobs to stop.</summary>
    public const string Cancelling = "cancelling";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    /// <summary>The specification was invalid; nothing ran.</summary>
    public const string Rejected = "rejected";

    public static IReadOnlyList<string> All { get; } = [Running, Cancelling, Succeeded, Failed, Cancelled, Rejected];

    /// <summary>Statuses in which the chain will not change any more.</summary>
    public static IReadOnlyList<string> Final { get; } = [Succeeded, Failed, Cancelled, Rejected];
}
