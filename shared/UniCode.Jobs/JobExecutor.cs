using System.Globalization;
using MassTransit;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Common;
using UniCode.Messaging;
using UniCode.Persistence.Artifacts;
using UniCode.Persistence.Entities;

namespace UniCode.Jobs;

/// <summary>
/// Runs one delivery of a job message to its end while the consumer awaits, so the RabbitMQ delivery
/// stays unacknowledged for the whole job: a worker that dies hands the job back to the queue, and
/// another worker picks it up (and, for pre-training, resumes from the last checkpoint). The broker's
/// <c>consumer_timeout</c> must therefore exceed the longest job (infra sets 7 days).
/// <list type="bullet">
/// <item>Run row: created (or re-opened) as running; a run that already succeeded only re-publishes its completion.</item>
/// <item>Success: run succeeded, the completion event published (through the consumer's outbox).</item>
/// <item>CancelJob: the job stops at its next step; run cancelled, JobCancelled published, the delivery acknowledged.</item>
/// <item>Worker shutdown: the job stops at its next step; run back to queued, the job put back at the end of its queue (a copy sent before the delivery is acknowledged).</item>
/// <item>Permanent error (bad input, missing files, bugs): run failed, JobFailed published, the delivery
/// acknowledged: never retried, never left to poison the queue.</item>
/// <item>Transient error: rethrown for the bus's retries; after the last one run failed, JobFailed published, the message faults.</item>
/// <item>A delivery started more than UNICODE_MAX_JOB_STARTS times (the worker died each time) fails permanently.</item>
/// <item>Starting (the run row) and finishing (run succeeded) ride out a database restart: a transient failure there
/// is retried in process for the bus's retry window (UNICODE_RETRY_WINDOW_SECONDS), so finished work is never re-run
/// or failed because the database was briefly away.</item>
/// <item>While it runs the job is in <see cref="RunningJobs"/>: the host's heartbeat reports it with its progress and start count,
/// and renews this worker's lease on its run row (runs.worker, runs.lease_renewed_at).</item>
/// <item>A delivery of a job that another live worker runs (a duplicate) waits until that run ends (then it re-publishes a
/// success, or is dropped after a failure or cancellation) or the holder's lease lapses (then it takes the job over and
/// resumes it); a worker whose job was taken over that way stops it (<see cref="StopReason.LeaseLost"/>).</item>
/// </list>
/// </summary>
public sealed class JobExecutor(
    JobRuntime runtime, JobCancellations cancellations, RunLedger ledger, ArtifactStore artifacts, CheckpointLocator checkpoints,
    IBus bus, RabbitMqSettings rabbit, IEnumerable<IJobProgressObserver> observers, RunningJobs runningJobs, TimeProvider time, ILoggerFactory loggers)
{
    private readonly IReadOnlyList<IJobProgressObserver> observers = [runningJobs, .. observers];   // the heartbeat's progress first

    public async Task ConsumeAsync<TMessage>(ConsumeContext<TMessage> context, IJob<TMessage> job) where TMessage : class
    {
        var logger = loggers.CreateLogger("UniCode.Jobs." + job.Kind);
        JobIdentity id;
        try
        {
            id = job.Identify(context.Message);
            Check(id);
        }
        catch (Exception e) when (e is ArgumentException or NullReferenceException)
        {
            // Without a valid job id and step key there is no run row to record the failure in.
            logger.LogError("Rejected a {Kind} message that cannot name a run: {Reason}", job.Kind, e.Message);
            var guess = TryIdentify(job, context.Message);
            await context.Publish(new JobFailed(guess?.JobId ?? Guid.Empty, job.Kind, e.Message, e.GetType().FullName!,
                guess?.ChainId, guess?.StepKey ?? "", time.GetUtcNow()));
            return;
        }

        using var scope = logger.BeginScope(new Dictionary<string, object?>
        {
            ["job_id"] = id.JobId, ["chain_id"] = id.ChainId, ["step_key"] = id.StepKey, ["job_kind"] = job.Kind,
        });
        var execution = new JobExecution(job.Kind, id, runtime, artifacts, checkpoints, ledger, logger, context.CancellationToken);
        using var running = cancellations.Register(id.JobId, id.RequestedAt, context.CancellationToken);
        if (running.Reason == StopReason.WorkerStopping)
        {
            await HandBackAsync(context);
            return;
        }

        RunStart start;
        try
        {
            var claim = await ClaimAsync(job, id, logger);
            if (claim.Start == RunStart.HeldElsewhere)
            {
                claim = await WaitForHolderAsync(context, job, id, claim, running, logger);
                if (claim is null) return;
            }
            start = claim.Start;
        }
        catch (JobRejectedException e)
        {
            logger.LogError("Rejected: {Reason}", e.Message);
            await context.Publish(new JobFailed(id.JobId, job.Kind, e.Message, e.GetType().FullName!, id.ChainId, id.StepKey, time.GetUtcNow()));
            return;
        }
        if (start == RunStart.AlreadySucceeded)
        {
            var again = await job.FindCompletionAsync(context.Message, execution, CancellationToken.None);
            if (again is not null)
            {
                logger.LogInformation("Run {RunId} already succeeded: re-publishing its completion, no new work", id.JobId);
                await context.Publish(again, again.GetType());
                return;
            }
            logger.LogWarning("Run {RunId} succeeded before, but its outputs are gone: running it again", id.JobId);
            await ledger.ReopenAsync(id.JobId, runtime.Where, runtime.Settings.WorkerName, CancellationToken.None);
        }

        var starts = Starts.Increment(execution.WorkDirectory);
        if (starts > runtime.Settings.MaxStarts)
        {
            await FailAsync(context, job, id, logger, new JobRejectedException(
                $"job {id.JobId} was started {starts - 1} times without finishing (the worker died each time?); " +
                $"giving up after {JobSettings.MaxStartsVariable}={runtime.Settings.MaxStarts}"), transient: false);
            Starts.Clear(execution.WorkDirectory);
            return;
        }

        logger.LogInformation("Started {Kind} job {JobId} on {Where} (start {Starts}, retry attempt {Attempt})",
            job.Kind, id.JobId, runtime.Where, starts, context.GetRetryAttempt());
        runningJobs.Add(job.Kind, id, starts, time.GetUtcNow());
        try
        {
            await RunStartedAsync(context, job, id, execution, running, logger);
        }
        finally
        {
            runningJobs.Remove(id.JobId);
        }
    }

    private Task<RunClaim> ClaimAsync<TMessage>(IJob<TMessage> job, JobIdentity id, ILogger logger) where TMessage : class
    {
        var claimant = new RunClaimant(runtime.Settings.WorkerName, runtime.Settings.Lease, runningJobs.Contains);
        return Retry(logger).RunAsync($"open run {id.JobId}", ct => ledger.BeginAsync(job.Kind, id, runtime.Where, claimant, ct), CancellationToken.None);
    }

    /// <summary>
    /// A second delivery of a job that a live worker runs (a duplicate message, a copy handed back): it must not train the job
    /// twice, and it must not be dropped either, because the holder may still die. It waits, re-reading the run row every
    /// heartbeat interval, until the run ends or the holder's lease lapses: returns the claim to go on with (succeeded:
    /// re-publish its completion; started: the holder is gone, take the job over), or null when nothing is left to do
    /// (the holder's run failed or was cancelled; this job was cancelled; this worker stops and handed the delivery back).
    /// </summary>
    private async Task<RunClaim?> WaitForHolderAsync<TMessage>(ConsumeContext<TMessage> context, IJob<TMessage> job, JobIdentity id,
        RunClaim held, RunningJob running, ILogger logger) where TMessage : class
    {
        logger.LogWarning("Job {JobId} is running on worker {Holder} (lease renewed {RenewedAt:O}): this delivery is a duplicate; it waits, " +
            "holding this worker, until that run ends or its lease of {Lease} lapses", id.JobId, held.Holder, held.LeaseRenewedAt, runtime.Settings.Lease);
        var claim = held;
        while (claim.Start == RunStart.HeldElsewhere)
        {
            try
            {
                await Task.Delay(runtime.Settings.HeartbeatInterval, time, running.Token);
            }
            catch (OperationCanceledException) when (running.Reason == StopReason.Cancelled)
            {
                logger.LogInformation("Job {JobId} was cancelled while this duplicate delivery waited: dropped (its holder records the cancellation)", id.JobId);
                return null;
            }
            catch (OperationCanceledException)
            {
                logger.LogInformation("Worker stopping while a duplicate delivery of job {JobId} waited: handed back to the queue", id.JobId);
                await HandBackAsync(context);
                return null;
            }
            var run = await Retry(logger).RunAsync($"read run {id.JobId}", ct => ledger.FindAsync(id.JobId, ct), CancellationToken.None);
            if (run?.Status is RunStatuses.Failed or RunStatuses.Cancelled)
            {
                logger.LogWarning("Job {JobId} ended as {Status} on worker {Holder} while this duplicate delivery waited: dropped, not run again ({Error})",
                    id.JobId, run.Status, run.Worker, run.Error);
                return null;
            }
            claim = await ClaimAsync(job, id, logger);
        }
        if (claim.Start == RunStart.Started)
            logger.LogWarning("Job {JobId} is no longer held by worker {Holder} (its lease of {Lease} lapsed, or it handed the job back): " +
                "this worker takes the job over", id.JobId, held.Holder, runtime.Settings.Lease);
        return claim;
    }

    private async Task RunStartedAsync<TMessage>(ConsumeContext<TMessage> context, IJob<TMessage> job, JobIdentity id, JobExecution execution,
        RunningJob running, ILogger logger) where TMessage : class
    {
        object completion;
        var progress = new ProgressReporter(id, p => job.ProgressEvent(id, p), bus, ledger,
            new ProgressThrottle(runtime.Settings.ProgressInterval, time), observers, logger, running.Token);
        try
        {
            execution.Start(progress, running.Token);
            running.Token.ThrowIfCancellationRequested();
            completion = await job.RunAsync(context.Message, execution);
        }
        catch (Exception e) when (IsCancellation(e) && running.Reason == StopReason.Cancelled)
        {
            await progress.DisposeAsync();
            var reason = running.CancelReason ?? "cancelled";
            logger.LogInformation("Cancelled: {Reason}", reason);
            await ledger.CancelledAsync(id.JobId, reason, CancellationToken.None);
            await context.Publish(new JobCancelled(id.JobId, job.Kind, reason, id.ChainId, id.StepKey, time.GetUtcNow()));
            Starts.Clear(execution.WorkDirectory);
            return;
        }
        catch (Exception e) when (IsCancellation(e) && running.Reason == StopReason.LeaseLost)
        {
            await progress.DisposeAsync();
            logger.LogError("Job {JobId} stopped here: worker {Holder} took it over after this worker's lease lapsed; the run row and the " +
                "completion are the new holder's, this delivery is acknowledged", id.JobId, running.NewHolder);
            return;
        }
        catch (Exception e) when (IsCancellation(e) && running.Reason == StopReason.WorkerStopping)
        {
            await progress.DisposeAsync();
            logger.LogInformation("Worker stopping: job {JobId} interrupted; its delivery goes back to the queue", id.JobId);
            Starts.Decrement(execution.WorkDirectory);   // an orderly stop is not a crash
            await ledger.InterruptedAsync(id.JobId, $"interrupted on {runtime.Where} at {time.GetUtcNow():O} (worker stopping); waiting for redelivery", CancellationToken.None);
            await HandBackAsync(context);
            return;
        }
        catch (Exception e)
        {
            await progress.DisposeAsync();
            var transient = TransientErrors.IsTransient(e);
            if (transient && context.GetRetryAttempt() < rabbit.RetryIntervals.Count)
            {
                logger.LogWarning(e, "Transient failure, the bus retries (attempt {Attempt}): {Reason}", context.GetRetryAttempt(), Reason(e));
                await TryAsync(() => ledger.InterruptedAsync(id.JobId, $"attempt {context.GetRetryAttempt()} failed, retrying: {Reason(e)}", CancellationToken.None), logger);
                throw;
            }
            await FailAsync(context, job, id, logger, e, transient);
            Starts.Clear(execution.WorkDirectory);
            if (transient) throw;
            return;
        }
        await progress.DisposeAsync();
        // The work is done: a database restart now must not re-run it (the bus's retry would) nor fail it.
        await Retry(logger).RunAsync($"record run {id.JobId} as succeeded", ct => ledger.SucceededAsync(id.JobId, ct), CancellationToken.None);
        await context.Publish(completion, completion.GetType());
        Starts.Clear(execution.WorkDirectory);
        logger.LogInformation("Succeeded: published {Event}", completion.GetType().Name);
    }

    /// <summary>
    /// Puts the job back at the end of its queue for another worker. Sent through the consumer's outbox,
    /// so the copy is on the broker before this delivery is acknowledged (at worst a duplicate, which the
    /// run row and the completion records make harmless). Explicit, because how a transport treats a
    /// consumer that throws OperationCanceledException depends on whether the bus itself is stopping yet.
    /// </summary>
    private static async Task HandBackAsync<TMessage>(ConsumeContext<TMessage> context) where TMessage : class
    {
        var queue = await context.GetSendEndpoint(context.ReceiveContext.InputAddress);
        await queue.Send(context.Message, CancellationToken.None);
    }

    private async Task FailAsync<TMessage>(ConsumeContext<TMessage> context, IJob<TMessage> job, JobIdentity id, ILogger logger, Exception e, bool transient)
        where TMessage : class
    {
        var reason = Reason(e);
        logger.LogError(e, "Failed{Retries}: {Reason}", transient ? " after the bus's retries" : " (permanent, not retried)", reason);
        await TryAsync(() => ledger.FailedAsync(id.JobId, reason, CancellationToken.None), logger);
        var failed = new JobFailed(id.JobId, job.Kind, reason, e.GetType().FullName!, id.ChainId, id.StepKey, time.GetUtcNow());
        // The consumer's outbox drops what it published when the consumer throws: a rethrown failure goes out directly.
        if (transient) await bus.Publish(failed);
        else await context.Publish(failed);
    }

    private static void Check(JobIdentity id)
    {
        if (id.JobId == Guid.Empty) throw new ArgumentException("JobId is empty; expected StepKeys.JobId(StepKey)");
        if (!ArtifactStore.IsSha256(id.StepKey)) throw new ArgumentException($"StepKey '{id.StepKey}' is not a sha256: expected 64 lower-case hex digits");
        ArgumentNullException.ThrowIfNull(id.Run, "Run");
        foreach (var (name, value) in new[] { ("Run.ConfigJson", id.Run.ConfigJson), ("Run.ConfigHash", id.Run.ConfigHash), ("Run.CodeVersion", id.Run.CodeVersion), ("Run.DatasetHash", id.Run.DatasetHash) })
            if (value is null) throw new ArgumentException($"{name} is missing");
    }

    private static JobIdentity? TryIdentify<TMessage>(IJob<TMessage> job, TMessage message) where TMessage : class
    {
        try { return job.Identify(message); }
        catch (Exception) { return null; }
    }

    private static bool IsCancellation(Exception e) =>
        e is OperationCanceledException || (e is AggregateException a && a.InnerExceptions.All(IsCancellation));

    /// <summary>The message of <paramref name="e"/> and of its inner exceptions, for runs.error and JobFailed.Reason.</summary>
    public static string Reason(Exception e)
    {
        var parts = new List<string>();
        for (var x = e; x is not null && parts.Count < 4; x = x.InnerException)
            if (parts.Count == 0 || !parts[^1].Contains(x.Message, StringComparison.Ordinal)) parts.Add(x.Message);
        return string.Join(" ← ", parts);
    }

    private TransientRetry Retry(ILogger logger) => new(rabbit, time, logger);

    private static async Task TryAsync(Func<Task> action, ILogger logger)
    {
        try { await action(); }
        catch (Exception e) { logger.LogWarning(e, "Could not update the run row: {Error}", e.Message); }
    }

    /// <summary>How many times a job's delivery was started without ending (a file in its work directory).</summary>
    private static class Starts
    {
        private static string File(string dir) => Path.Combine(dir, "starts");

        public static int Increment(string dir)
        {
            Directory.CreateDirectory(dir);
            var n = Read(dir) + 1;
            System.IO.File.WriteAllText(File(dir), n.ToString(CultureInfo.InvariantCulture));
            return n;
        }

        public static void Decrement(string dir)
        {
            var n = Read(dir);
            if (n > 0) System.IO.File.WriteAllText(File(dir), (n - 1).ToString(CultureInfo.InvariantCulture));
        }

        public static void Clear(string dir)
        {
            if (System.IO.File.Exists(File(dir))) System.IO.File.Delete(File(dir));
            if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
        }

        private static int Read(string dir) =>
            System.IO.File.Exists(File(dir)) && int.TryParse(System.IO.File.ReadAllText(File(dir)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
    }
}
