using Microsoft.Extensions.Logging;
using UniCode.Persistence.Artifacts;

namespace UniCode.Jobs;

/// <summary>
/// One kind of long job (pre-training, fine-tuning, evaluation), as the <see cref="JobExecutor"/> drives
/// it. The executor owns the run row, cancellation, progress, failures and publishing; the job only
/// says who a message is, how to repeat a finished run's completion, and how to do the work.
/// </summary>
public interface IJob<in TMessage> where TMessage : class
{
    /// <summary>"pretrain", "finetune" or "evaluate" (runs.kind, JobFailed.JobKind).</summary>
    string Kind { get; }

    /// <summary>The identity fields of <paramref name="message"/> (not validated yet).</summary>
    JobIdentity Identify(TMessage message);

    /// <summary>The progress event of a report (e.g. PretrainProgressed), or null when the kind has none.</summary>
    object? ProgressEvent(JobIdentity job, ProgressPoint point);

    /// <summary>
    /// The run of <paramref name="message"/> already succeeded: returns its completion event to publish
    /// again, or null when its outputs are gone (the job then runs again).
    /// </summary>
    Task<object?> FindCompletionAsync(TMessage message, JobExecution execution, CancellationToken cancellationToken);

    /// <summary>
    /// Does the work and returns the completion event. Compute runs through
    /// <see cref="JobExecution.OnJobThread{T}"/> and observes <see cref="JobExecution.CancellationToken"/>.
    /// Throw <see cref="JobRejectedException"/> (or any ArgumentException) for input that can never work.
    /// </summary>
    Task<object> RunAsync(TMessage message, JobExecution execution);
}

/// <summary>What a running job sees: its identity, token, device, directories and progress reporting.</summary>
public sealed class JobExecution
{
    private ProgressReporter? progress;

    internal JobExecution(string kind, JobIdentity job, JobRuntime runtime, ArtifactStore artifacts, CheckpointLocator checkpoints,
        RunLedger ledger, ILogger logger, CancellationToken cancellationToken)
    {
        Kind = kind;
        Job = job;
        Runtime = runtime;
        Artifacts = artifacts;
        Checkpoints = checkpoints;
        Ledger = ledger;
        Logger = logger;
        CancellationToken = cancellationToken;
        WorkDirectory = Path.Combine(runtime.Settings.WorkDirectory, kind, job.JobId.ToString("N"));
    }

    public string Kind { get; }
    public JobIdentity Job { get; }
    public JobRuntime Runtime { get; }
    public JobSettings Settings => Runtime.Settings;
    public ArtifactStore Artifacts { get; }
    public CheckpointLocator Checkpoints { get; }
    public RunLedger Ledger { get; }
    public ILogger Logger { get; }

    /// <summary>Fires on a CancelJob for this job or when the worker stops; the work stops at its next step.</summary>
    public CancellationToken CancellationToken { get; private set; }

    /// <summary>
    /// This job's scratch directory, <c>UNICODE_WORK/&lt;kind&gt;/&lt;JobId&gt;</c> (not created): the same for every
    /// delivery of the job, on every worker that shares the work mount.
    /// </summary>
    public string WorkDirectory { get; }

    internal void Start(ProgressReporter reporter, CancellationToken token)
    {
        progress = reporter;
        CancellationToken = token;
    }

    /// <summary>Reports progress (any thread). Throttled to one published report per UNICODE_PROGRESS_SECONDS; the last step always passes.</summary>
    public void ReportProgress(ProgressPoint point, bool force = false) => progress?.Report(point, force);

    /// <summary>Runs <paramref name="work"/> synchronously on a thread of its own (<see cref="JobThread"/>).</summary>
    public Task<T> OnJobThread<T>(Func<T> work) => JobThread.Run($"{Kind}-{Job.JobId.ToString("N")[..8]}", work);
}
