namespace UniCode.Contracts.Common;

// Conventions for every contract in UniCode.Contracts (MassTransit routes by full type name, so
// a type's namespace and name are part of the wire format: rename only with a new type):
// - Commands are verb-noun (PretrainModel), events are past tense (PretrainCompleted).
// - A job message carries JobId (deterministic: derived from StepKey, so a re-submitted step hits
//   the same job and the same run row), an optional ChainId, the StepKey, and a RunIdentity.
// - Hashes are lower-case hex sha256. Datasets are named "KIND:PATH" with KIND one of
//   ave, vggsound, avvp, npy, synth. Timestamps are DateTimeOffset in UTC.
// - Job kinds (JobFailed.JobKind, runs.kind): "preprocess", "pretrain", "finetune", "evaluate".
// - Modalities are "audio", "video", "text".

/// <summary>
/// What makes a run reproducible. Carried by every job command and stored on the run row.
/// Sent inside job commands by the chain coordinator (or the CLI); read by the workers that run the job.
/// </summary>
/// <param name="ConfigJson">The step's configuration as canonical JSON (keys sorted, no whitespace).</param>
/// <param name="ConfigHash">sha256 of the UTF-8 bytes of <paramref name="ConfigJson"/>.</param>
/// <param name="Seed">The random seed of the step.</param>
/// <param name="CodeVersion">git commit of the code the step must run with.</param>
/// <param name="DatasetHash">Content hash of the step's input dataset.</param>
public sealed record RunIdentity(string ConfigJson, string ConfigHash, long Seed, string CodeVersion, string DatasetHash);

/// <summary>One named scalar, e.g. a loss at a step or an accuracy of an evaluation.</summary>
public sealed record MetricValue(string Name, double Value);

/// <summary>
/// A job gave up (its retries are spent or the error is permanent).
/// Published by any worker (preprocessing, trainer, evaluation); consumed by the chain coordinator
/// and the results writer (marks the run failed).
/// </summary>
/// <param name="JobId">The failed job (= the run id).</param>
/// <param name="JobKind">"preprocess", "pretrain", "finetune" or "evaluate".</param>
/// <param name="Reason">The error message, for people.</param>
/// <param name="ExceptionType">Full .NET type name of the exception, for routing and statistics.</param>
/// <param name="ChainId">The chain the job belongs to, when it was started by one.</param>
/// <param name="StepKey">The step key of the job.</param>
/// <param name="FailedAt">When the worker gave up.</param>
public sealed record JobFailed(
    Guid JobId, string JobKind, string Reason, string ExceptionType,
    Guid? ChainId, string StepKey, DateTimeOffset FailedAt);

/// <summary>
/// A job stopped because it was cancelled (a CancelChain, or a person).
/// Published by the worker that ran it; consumed by the chain coordinator and the results writer.
/// </summary>
/// <param name="JobId">The cancelled job (= the run id).</param>
/// <param name="JobKind">"preprocess", "pretrain", "finetune" or "evaluate".</param>
/// <param name="Reason">Why it was cancelled.</param>
/// <param name="ChainId">The chain the job belongs to, when it was started by one.</param>
/// <param name="StepKey">The step key of the job.</param>
/// <param name="CancelledAt">When the worker stopped.</param>
public sealed record JobCancelled(
    Guid JobId, string JobKind, string Reason,
    Guid? ChainId, string StepKey, DateTimeOffset CancelledAt);

/// <summary>
/// Stop a job: a worker running (or about to run) <paramref name="JobId"/> stops it and answers with
/// <see cref="JobCancelled"/>; every other worker ignores it. Published (not sent), because the
/// publisher does not know which worker holds the job.
/// Published by the chain coordinator (after a CancelChain) or the CLI; consumed by every worker.
/// </summary>
/// <param name="JobId">The job to stop (= the run id).</param>
/// <param name="Reason">Why, for people; carried into JobCancelled.Reason.</param>
/// <param name="ChainId">The chain that asked, if a chain did.</param>
/// <param name="RequestedAt">When the cancellation was requested.</param>
public sealed record CancelJob(Guid JobId, string Reason, Guid? ChainId, DateTimeOffset RequestedAt);

/// <summary>
/// A job service worker says it is alive, every <c>UNICODE_HEARTBEAT_SECONDS</c> (10 s by default) whether it runs a
/// job or not, independent of the progress throttle. The orchestrator keeps the last one per worker and job kind (table
/// workers) and, for each job in <paramref name="Jobs"/>, renews the lease of the steps waiting for it: a step whose
/// job sends none for a lease period is marked stalled.
/// Published by the trainer, fine-tuning and evaluation hosts; consumed by the chain coordinator.
/// </summary>
/// <param name="Worker">UNICODE_WORKER_NAME of the worker (default host:pid).</param>
/// <param name="Service">"trainer", "finetuning" or "evaluation".</param>
/// <param name="Queues">What it consumes: one entry per job kind, with its queue name.</param>
/// <param name="Jobs">The jobs it runs now (empty when idle; a host runs one job per queue at most).</param>
/// <param name="SentAt">When the worker sent it (the orchestrator's lease uses its own clock).</param>
public sealed record WorkerHeartbeat(
    string Worker, string Service, IReadOnlyList<WorkerQueue> Queues, IReadOnlyList<JobHeartbeat> Jobs, DateTimeOffset SentAt);

/// <summary>A job kind a worker consumes and the queue it consumes it from.</summary>
/// <param name="JobKind">"pretrain", "finetune" or "evaluate".</param>
/// <param name="Queue">The queue name, e.g. "pretrain-model" (with the bus prefix, if any).</param>
public sealed record WorkerQueue(string JobKind, string Queue);

/// <summary>One running job in a <see cref="WorkerHeartbeat"/>.</summary>
/// <param name="JobId">The job (= the run id).</param>
/// <param name="JobKind">"pretrain", "finetune" or "evaluate".</param>
/// <param name="ChainId">The chain that dispatched it, if any.</param>
/// <param name="StepKey">Its step key.</param>
/// <param name="Step">Units done at its last progress report (null before the first).</param>
/// <param name="TotalSteps">Units planned (null before the first report).</param>
/// <param name="Starts">How many deliveries of the job were started without finishing, this one included (1 on a first start).</param>
/// <param name="StartedAt">When this delivery started on the worker.</param>
public sealed record JobHeartbeat(
    Guid JobId, string JobKind, Guid? ChainId, string StepKey, long? Step, long? TotalSteps, int Starts, DateTimeOffset StartedAt);
