using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using UniCode.Contracts.Common;
using UniCode.Model.Runtime;
using UniCode.Persistence;
using UniCode.Persistence.Entities;
using UniCode.Persistence.Writers;

namespace UniCode.Jobs;

/// <summary>Who a job message says it is: the fields every job command shares.</summary>
public sealed record JobIdentity(Guid JobId, Guid? ChainId, string StepKey, RunIdentity Run, DateTimeOffset RequestedAt);

/// <summary>What <see cref="RunLedger.BeginAsync"/> found.</summary>
public enum RunStart
{
    /// <summary>The run row is new or was not finished: it is now "running" and the job should run.</summary>
    Started,
    /// <summary>The run already succeeded: a duplicate or re-delivered message; re-publish, do no new work.</summary>
    AlreadySucceeded,
}

/// <summary>A job message that cannot be run at all (a permanent error: never retried).</summary>
public sealed class JobRejectedException(string message) : ArgumentException(message);

/// <summary>
/// The runs row of a job (id = JobId, unique step key) and its metric points. Every change re-reads the
/// row; a concurrent writer makes SaveChanges throw DbUpdateConcurrencyException (xmin), which the bus
/// treats as transient and retries.
/// </summary>
public sealed class RunLedger(IDbContextFactory<ResultsDbContext> contexts, TimeProvider time)
{
    /// <summary>
    /// Creates the run row (status running) or, for a row not yet succeeded (queued, failed, cancelled,
    /// interrupted), marks it running again. A succeeded row is left alone.
    /// </summary>
    /// <exception cref="JobRejectedException">The row's kind or step key does not fit the message.</exception>
    public async Task<RunStart> BeginAsync(string kind, JobIdentity job, string device, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using var db = await contexts.CreateDbContextAsync(ct);
            var run = await db.Runs.SingleOrDefaultAsync(r => r.Id == job.JobId || r.StepKey == job.StepKey, ct);
            var now = time.GetUtcNow();
            if (run is null)
            {
                db.Runs.Add(new Run
                {
                    Id = job.JobId,
                    Kind = kind,
                    ChainId = job.ChainId,
                    StepKey = job.StepKey,
                    ConfigJson = AsJson(job.Run.ConfigJson),
                    ConfigHash = job.Run.ConfigHash,
                    Seed = job.Run.Seed,
                    CodeVersion = CodeVersion.Current,
                    CodeDirty = CodeVersion.Dirty,
                    DatasetHash = job.Run.DatasetHash,
                    Device = device,
                    Status = RunStatuses.Running,
                    CreatedAt = now,
                    StartedAt = now,
                });
                try
                {
                    await db.SaveChangesAsync(ct);
                    return RunStart.Started;
                }
                catch (DbUpdateException e) when (attempt == 0 && e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
                {
                    continue;   // inserted concurrently (another delivery, the coordinator): read it
                }
            }
            if (run.Id != job.JobId)
                throw new JobRejectedException($"step key {job.StepKey} belongs to run {run.Id}, but the message's JobId is {job.JobId}: expected JobId = StepKeys.JobId(StepKey)");
            if (run.StepKey != job.StepKey)
                throw new JobRejectedException($"run {run.Id} has step key {run.StepKey}, but the message says {job.StepKey}: a JobId names one step");
            if (run.Kind != kind)
                throw new JobRejectedException($"run {run.Id} is a '{run.Kind}' run, but this is a '{kind}' job");
            if (run.Status == RunStatuses.Succeeded) return RunStart.AlreadySucceeded;
            run.Status = RunStatuses.Running;
            run.Device = device;
            run.Error = null;
            run.StartedAt = now;
            run.FinishedAt = null;
            run.CodeVersion = CodeVersion.Current;
            run.CodeDirty = CodeVersion.Dirty;
            run.ChainId ??= job.ChainId;
            await db.SaveChangesAsync(ct);
            return RunStart.Started;
        }
    }

    /// <summary>A succeeded run whose outputs are gone runs again: status running, started now.</summary>
    public async Task ReopenAsync(Guid runId, string device, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var run = await db.Runs.SingleAsync(r => r.Id == runId, ct);
        (run.Status, run.Device, run.Error, run.StartedAt, run.FinishedAt) = (RunStatuses.Running, device, null, time.GetUtcNow(), null);
        (run.CodeVersion, run.CodeDirty) = (CodeVersion.Current, CodeVersion.Dirty);
        await db.SaveChangesAsync(ct);
    }

    /// <summary>status succeeded, finished now.</summary>
    public Task SucceededAsync(Guid runId, CancellationToken ct) => FinishAsync(runId, RunStatuses.Succeeded, null, ct);

    /// <summary>status failed with the error, finished now.</summary>
    public Task FailedAsync(Guid runId, string error, CancellationToken ct) => FinishAsync(runId, RunStatuses.Failed, error, ct);

    /// <summary>status cancelled with the reason, finished now.</summary>
    public Task CancelledAsync(Guid runId, string reason, CancellationToken ct) => FinishAsync(runId, RunStatuses.Cancelled, reason, ct);

    /// <summary>Back to queued (the delivery returns to the queue), with a note of why.</summary>
    public Task InterruptedAsync(Guid runId, string note, CancellationToken ct) => FinishAsync(runId, RunStatuses.Queued, note, ct, finished: false);

    private async Task FinishAsync(Guid runId, string status, string? error, CancellationToken ct, bool finished = true)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var run = await db.Runs.SingleOrDefaultAsync(r => r.Id == runId, ct)
            ?? throw new InvalidOperationException($"run {runId} has no row: BeginAsync must come first");
        run.Status = status;
        run.Error = error;
        run.FinishedAt = finished ? time.GetUtcNow() : null;
        await db.SaveChangesAsync(ct);
    }

    /// <summary>
    /// Writes one report's metrics at <paramref name="step"/> through <see cref="MetricPointsWriter"/>: a key already there
    /// (a resumed job repeating a step) takes the new value; the same value again changes nothing.
    /// </summary>
    public async Task AddMetricsAsync(Guid runId, long step, IReadOnlyList<MetricValue> metrics, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        await MetricPointsWriter.WriteAsync(db, runId, step, metrics.Select(m => (m.Name, m.Value)), time.GetUtcNow(), ct);
    }

    /// <summary>The metric points of a run at its last recorded step (for re-publishing a completion).</summary>
    public async Task<(long Step, IReadOnlyList<MetricValue> Metrics)?> LastMetricsAsync(Guid runId, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var points = db.MetricPoints.AsNoTracking().Where(m => m.RunId == runId);
        if (!await points.AnyAsync(ct)) return null;
        var step = await points.MaxAsync(m => m.Step, ct);
        var metrics = await points.Where(m => m.Step == step).OrderBy(m => m.Key).Select(m => new MetricValue(m.Key, m.Value)).ToListAsync(ct);
        return (step, metrics);
    }

    /// <summary>The run row, read-only (null when there is none).</summary>
    public async Task<Run?> FindAsync(Guid runId, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Runs.AsNoTracking().SingleOrDefaultAsync(r => r.Id == runId, ct);
    }

    /// <summary>runs.config_json is jsonb: a message whose config is not JSON is stored as a JSON string of its text.</summary>
    private static string AsJson(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return text;
        }
        catch (JsonException)
        {
            return JsonSerializer.Serialize(text);
        }
    }
}
