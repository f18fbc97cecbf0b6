using UniCode.Core;

namespace UniCode.Persistence.Entities;

/// <summary>
/// One step of a chain (table chain_steps): a pre-training, a checkpoint registration, a fine-tuning
/// or an evaluation. <see cref="StepKey"/> is unique within its chain; the same key in another
/// chain is the same work, which is why a succeeded step is reused by later chains instead of re-run.
/// </summary>
public sealed class ChainStep
{
    public Guid Id { get; set; }

    public Guid ChainId { get; set; }
    public Chain Chain { get; set; } = null!;

    /// <summary>The step this one was created from (its input), or null for the first steps.</summary>
    public Guid? ParentStepId { get; set; }

    /// <summary>One of <see cref="ChainStepKinds.All"/>.</summary>
    public required string Kind { get; set; }

    /// <summary>For people, e.g. "finetune ave video seed=43".</summary>
    public required string Label { get; set; }

    /// <summary>sha256 of kind, canonical config, input hashes and code version (StepKeys.Compute).</summary>
    public required string StepKey { get; set; }

    /// <summary>= StepKeys.JobId(StepKey): the job (and run) id the step's command carries.</summary>
    public Guid JobId { get; set; }

    /// <summary>One of <see cref="ChainStepStatuses.All"/>.</summary>
    public required string Status { get; set; }

    /// <summary>How many times the command was dispatched (re-dispatches by the reconciler included).</summary>
    public int Attempts { get; set; }

    /// <summary>
    /// How many times the job was started again after it was lost: re-dispatches of a stalled step by the reconciler,
    /// or deliveries a worker reports beyond the first (its start count, when a worker died and the broker handed the
    /// job to another). Bounded by the chain's max restarts (<c>--max-restarts</c>, else the orchestrator's).
    /// </summary>
    public int Restarts { get; set; }

    /// <summary>When the orchestrator last received a heartbeat for the step's job (its clock); the lease runs from here.</summary>
    public DateTimeOffset? LastHeartbeatAt { get; set; }

    /// <summary>The worker that sent the last heartbeat for the step's job (UNICODE_WORKER_NAME).</summary>
    public string? Worker { get; set; }

    /// <summary>Why the step failed, was cancelled, skipped or attached to another chain's job.</summary>
    public string? Reason { get; set; }

    /// <summary>
    /// The result: the checkpoint sha256 (pretrain, register), the head sha256 (finetune) or the
    /// evaluation run id (evaluate).
    /// </summary>
    public string? ResultRef { get; set; }

    /// <summary>Details of the result (jsonb): checkpoint uri, metrics.</summary>
    public string? ResultJson { get; set; }

    /// <summary>Where a skipped step's result came from: "chain_steps:&lt;id&gt;", "runs:&lt;id&gt;", "checkpoints:&lt;sha&gt;", "downstream_results:&lt;run id&gt;".</summary>
    public string? ReusedFrom { get; set; }

    public long? Seed { get; set; }
    public string? Task { get; set; }
    public string? SourceModality { get; set; }
    public string? TargetModality { get; set; }

    /// <summary>The pre-trained checkpoint of the step's lineage (register, finetune, evaluate).</summary>
    public string? CheckpointSha256 { get; set; }

    /// <summary>The fine-tuned head an evaluation scores.</summary>
    public string? HeadSha256 { get; set; }

    /// <summary>Full .NET type name of the job command (null for register, which sends none).</summary>
    public string? CommandType { get; set; }

    /// <summary>The job command (jsonb), re-sent as it is when the step is re-dispatched.</summary>
    public string? CommandJson { get; set; }

    public long? ProgressStep { get; set; }
    public long? ProgressTotal { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? DispatchedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>Optimistic concurrency token: PostgreSQL's xmin system column.</summary>
    public uint Version { get; set; }
}

/// <summary>Values of chain_steps.kind.</summary>
public static class ChainStepKinds
{
    public const string Pretrain = JobKinds.Pretrain;
    /// <summary>Waits for the registry's CheckpointRegistered; sends no command.</summary>
    public const string Register = "register";
    public const string Finetune = JobKinds.Finetune;
    public const string Evaluate = JobKinds.Evaluate;

    public static IReadOnlyList<string> All { get; } = [Pretrain, Register, Finetune, Evaluate];
}

/// <summary>Values of chain_steps.status.</summary>
public static class ChainStepStatuses
{
    /// <summary>Created, not yet dispatched (only inside a transaction, or while its chain cannot go on).</summary>
    public const string Pending = "pending";
    /// <summary>Its command is in the outbox (or it waits for another chain's job with the same key).</summary>
    public const string Dispatched = "dispatched";
    /// <summary>The worker reported progress or a heartbeat.</summary>
    public const string Running = "running";
    /// <summary>
    /// Its job's lease expired (no heartbeat for <c>UNICODE_HEARTBEAT_LEASE</c>): the worker died or the job was lost.
    /// Still active: a heartbeat makes it running again, a completion ends it, the reconciler re-dispatches it when a
    /// worker for its queue is idle. The reason says which worker went silent and whether any is alive.
    /// </summary>
    public const string Stalled = "stalled";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    /// <summary>Not run: the result of the same step key already existed and was reused.</summary>
    public const string Skipped = "skipped";

    public static IReadOnlyList<string> All { get; } = [Pending, Dispatched, Running, Stalled, Succeeded, Failed, Cancelled, Skipped];

    /// <summary>Statuses of a step whose job may still answer.</summary>
    public static IReadOnlyList<string> Active { get; } = [Dispatched, Running, Stalled];

    public static bool IsActive(string status) => status is Dispatched or Running or Stalled;

    public static bool IsDone(string status) => status is Succeeded or Skipped;

    public static bool IsFinal(string status) => status is Succeeded or Skipped or Failed or Cancelled;
}
