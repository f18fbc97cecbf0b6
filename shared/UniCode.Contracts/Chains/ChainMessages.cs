namespace UniCode.Contracts.Chains;

/// <summary>
/// Run an experiment chain (preprocess → pre-train → register → fine-tune × N → evaluate × N).
/// Sent by the CLI; consumed by the chain coordinator, which answers with ChainAccepted or ChainRejected.
/// </summary>
/// <param name="ChainId">New chain id, chosen by the sender.</param>
/// <param name="Name">A name for people.</param>
/// <param name="SpecJson">The chain specification as JSON.</param>
/// <param name="Force">Re-run steps whose results already exist instead of reusing them.</param>
/// <param name="SubmittedAt">When the command was sent.</param>
public sealed record SubmitChain(Guid ChainId, string Name, string SpecJson, bool Force, DateTimeOffset SubmittedAt);

/// <summary>The chain is valid and has started. Published by the chain coordinator; consumed by the CLI.</summary>
/// <param name="ChainId">The chain.</param>
/// <param name="StepCount">How many steps it has.</param>
/// <param name="AcceptedAt">When it was accepted.</param>
public sealed record ChainAccepted(Guid ChainId, int StepCount, DateTimeOffset AcceptedAt);

/// <summary>The chain specification is invalid; nothing was started. Published by the chain coordinator; consumed by the CLI.</summary>
/// <param name="ChainId">The chain.</param>
/// <param name="Reason">What is wrong, naming the field.</param>
/// <param name="RejectedAt">When it was rejected.</param>
public sealed record ChainRejected(Guid ChainId, string Reason, DateTimeOffset RejectedAt);

/// <summary>Stop a running chain and cancel its running jobs. Sent by the CLI; consumed by the chain coordinator.</summary>
/// <param name="ChainId">The chain.</param>
/// <param name="Reason">Why.</param>
/// <param name="RequestedAt">When the command was sent.</param>
public sealed record CancelChain(Guid ChainId, string Reason, DateTimeOffset RequestedAt);

/// <summary>Every step of the chain succeeded. Published by the chain coordinator; consumed by the CLI and notifications.</summary>
/// <param name="ChainId">The chain.</param>
/// <param name="CompletedAt">When the last step finished.</param>
public sealed record ChainCompleted(Guid ChainId, DateTimeOffset CompletedAt);

/// <summary>A step failed for good; the chain stopped. Published by the chain coordinator; consumed by the CLI and notifications.</summary>
/// <param name="ChainId">The chain.</param>
/// <param name="FailedStepKey">The step that failed, if a step did.</param>
/// <param name="Reason">The step's error.</param>
/// <param name="FailedAt">When the chain stopped.</param>
public sealed record ChainFailed(Guid ChainId, string? FailedStepKey, string Reason, DateTimeOffset FailedAt);

/// <summary>The chain stopped after a CancelChain. Published by the chain coordinator; consumed by the CLI.</summary>
/// <param name="ChainId">The chain.</param>
/// <param name="Reason">The reason given in CancelChain.</param>
/// <param name="CancelledAt">When its jobs had stopped.</param>
public sealed record ChainCancelled(Guid ChainId, string Reason, DateTimeOffset CancelledAt);
