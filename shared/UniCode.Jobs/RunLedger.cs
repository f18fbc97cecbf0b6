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
    /// <summary>
    /// The run is running on a live worker (another one whose lease has not lapsed, or this very worker): this delivery is
    /// a duplicate and must not train the job a second time.
    /// </summary>
    HeldElsewhere,
}

/// <summary>What <see cref="RunLedger.BeginAsync"/> found; for <see cref="RunStart.HeldElsewhere"/>, who holds the run and since when.</summary>
public sealed record RunClaim(RunStart Start, string? Holder = null, DateTimeOffset? LeaseRenewedAt = null);

/// <summary>
/// Who asks to run a job: the worker's name, the lease after which a silent holder counts as dead
/// (UNICODE_HEARTBEAT_LEASE), and whether the job already runs in this process (a second delivery to the same worker).
/// </summary>
public sealed record RunClaimant(string Worker, TimeSpan Lease, Func<Guid, bool> RunningHere);

/// <summary>A job message that cannot be run at all (a permanent error: never retried).</summary>
public sealed class JobRejectedException(string message) : ArgumentException(message);

/// <summary>
/// The runs row of a job (id = JobId, unique step key) and its metric points. Every change re-reads the
/// row; a concurrent writer makes SaveChanges throw DbUpdateConcurrencyException (xmin): the status changes re-read
/// and re-apply a few times themselves (the heartbeat's lease renewal is such a writer), and what is left is transient
/// for the bus. A running run is held by its worker (runs.worker) for as long as the worker's heartbeat renews
/// runs.lease_renewed_at within the lease.
/// </summary>
public sealed class RunLedger(IDbContextFactory<ResultsDbContext> contexts, TimeProvider time)
{
    /// <summary>
    /// Creates the run row (status running, held by the claimant) or, for a row not yet succeeded (queued, failed, cancelled,
    /// interrupted, or running on a worker whose lease lapsed), marks it running again under the claimant. A succeeded row
    /// is left alone, and so is a row running on a live holder (<see cref="RunStart.HeldElsewhere"/>).
    /// </summary>
    /// <exception cref="JobRejectedException">The row's kind or step key does not fit the message.</exception>
    public async Task<RunClaim> BeginAsync(string kind, JobIdentity job, string device, RunClaimant claimant, CancellationToken ct)
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
                    Worker = claimant.Worker,
                    LeaseRenewedAt = now,
                    CreatedAt = now,
                    StartedAt = now,
                });
                try
                {
                    await db.SaveChangesAsync(ct);
                    return new RunClaim(RunStart.Started);
                }
                catch (DbUpdateException e) when (attempt < ConflictAttempts && e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
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
            if (run.Status == RunStatuses.Succeeded) return new RunClaim(RunStart.AlreadySucceeded);
            if (IsHeld(run, claimant, now)) return new RunClaim(RunStart.HeldElsewhere, run.Worker, run.LeaseRenewedAt);
            run.Status = RunStatuses.Running;
            run.Device = device;
            run.Error = null;
            run.StartedAt = now;
            run.FinishedAt = null;
            run.CodeVersion = CodeVersion.Current;
            run.CodeDirty = CodeVersion.Dirty;
            run.ChainId ??= job.ChainId;
            run.Worker = claimant.Worker;
            run.LeaseRenewedAt = now;
            try
            {
                await db.SaveChangesAsync(ct);
                return new RunClaim(RunStart.Started);
            }
            catch (DbUpdateConcurrencyException) when (attempt < ConflictAttempts)
            {
                continue;   // another worker claimed it, or a heartbeat renewed it, between the read and the write: read again
            }
        }
    }

    /// <summary>
    /// A running row is held by its worker: by this process when the job runs here, by another worker while its lease has
    /// not lapsed. A row of this worker's name that does not run here is its own earlier life (a restart with a fixed name).
    /// </summary>
    private static bool IsHeld(Run run, RunClaimant claimant, DateTimeOffset now) =>
        run.Status == RunStatuses.Running && run.Worker is { } holder
        && (holder == claimant.Worker ? claimant.RunningHere(run.Id) : run.LeaseRenewedAt is { } renewed && now - renewed < claimant.Lease);

    /// <summary>
    /// The heartbeat of <paramref name="worker"/>: renews its lease on the running runs among <paramref name="runIds"/> it still
    /// holds. Returns the runs among them that another worker holds by now (it took them over after this one's lease
    /// lapsed), with that worker's name; those are not touched.
    /// </summary>
    public async Task<IReadOnlyDictionary<Guid, string>> RenewLeasesAsync(string worker, IReadOnlyCollection<Guid> runIds, CancellationToken ct)
    {
        if (runIds.Count == 0) return new Dictionary<Guid, string>();
        var ids = runIds.ToArray();
        var now = time.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(ct);
        await db.Runs.Where(r => ids.Contains(r.Id) && r.Worker == worker && r.Status == RunStatuses.Running)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.LeaseRenewedAt, now), ct);
        return await db.Runs.AsNoTracking()
            .Where(r => ids.Contains(r.Id) && r.Status == RunStatuses.Running && r.Worker != null && r.Worker != worker)
            .ToDictionaryAsync(r => r.Id, r => r.Worker!, ct);
    }

    /// <summary>A succeeded run whose outputs are gone runs again: status running, started now, held by <paramref name="worker"/>.</summary>
    public async Task ReopenAsync(Guid runId, string device, string worker, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var run = await db.Runs.SingleAsync(r => r.Id == runId, ct);
        var now = time.GetUtcNow();
        (run.Status, run.Device, run.Error, run.StartedAt, run.FinishedAt) = (RunStatuses.Running, device, null, now, null);
        (run.CodeVersion, run.CodeDirty, run.Worker, run.LeaseRenewedAt) = (CodeVersion.Current, CodeVersion.Dirty, worker, now);
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
        for (var attempt = 0; ; attempt++)
        {
            await using var db = await contexts.CreateDbContextAsync(ct);
            var run = await db.Runs.SingleOrDefaultAsync(r => r.Id == runId, ct)
                ?? throw new InvalidOperationException($"run {runId} has no row: BeginAsync must come first");
            run.Status = status;
            run.Error = error;
            run.FinishedAt = finished ? time.GetUtcNow() : null;
            try
            {
                await db.SaveChangesAsync(ct);
                return;
            }
            catch (DbUpdateConcurrencyException) when (attempt < ConflictAttempts)
            {
                // the heartbeat renewed the lease between the read and the write: read again
            }
        }
    }

    /// <summary>How many times a status change re-reads the row after a concurrent write before the conflict reaches the caller.</summary>
    private const int ConflictAttempts = 5;

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
