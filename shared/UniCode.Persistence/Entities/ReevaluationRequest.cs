namespace UniCode.Persistence.Entities;

/// <summary>
/// A re-evaluation chain the nightly job submitted for one (checkpoint, suite, evaluation code
/// version) pair (table reevaluation_requests). Key (pair_key, attempt): a pair is submitted once,
/// and again only after its chain failed, was cancelled or rejected (up to a retry limit).
/// </summary>
public sealed class ReevaluationRequest
{
    /// <summary>StepKeys.Compute("reevaluate", suite, [checkpoint], eval code version).</summary>
    public required string PairKey { get; set; }

    /// <summary>1 for the first submission of the pair.</summary>
    public int Attempt { get; set; }

    public required string CheckpointSha256 { get; set; }
    public Checkpoint Checkpoint { get; set; } = null!;

    public required string SuiteName { get; set; }
    public EvaluationSuite Suite { get; set; } = null!;

    public required string EvalCodeVersion { get; set; }

    /// <summary>The submitted chain (deterministic: derived from pair key and attempt). Unique.</summary>
    public Guid ChainId { get; set; }

    public DateTimeOffset RequestedAt { get; set; }
}
