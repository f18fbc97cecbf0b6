using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;

namespace UniCode.Jobs;

/// <summary>Why a job's cancellation token fired.</summary>
public enum StopReason
{
    /// <summary>Still running.</summary>
    None,
    /// <summary>A CancelJob for this job: the job ends as cancelled.</summary>
    Cancelled,
    /// <summary>The worker is shutting down: the delivery goes back to the queue and the job resumes elsewhere.</summary>
    WorkerStopping,
    /// <summary>
    /// Another worker holds the job now (this one's heartbeat could not renew its lease in time, and a second delivery took
    /// the job over): stop, and leave the run row and the completion to the new holder.
    /// </summary>
    LeaseLost,
}

/// <summary>
/// The cancellation tokens of the jobs running on this host. A job's token fires on a CancelJob for its
/// id or when the host stops; <see cref="RunningJob.Reason"/> says which. A CancelJob for a job that is
/// not (yet) running here is remembered for <see cref="RememberFor"/>: a delivery of that job requested
/// before the cancellation then starts cancelled (the job was still queued when it was cancelled).
/// </summary>
public sealed class JobCancellations(IHostApplicationLifetime lifetime, TimeProvider time)
{
    /// <summary>How long a CancelJob for a job not running here is kept.</summary>
    public static readonly TimeSpan RememberFor = TimeSpan.FromDays(1);
    private const int RememberAtMost = 10_000;

    private readonly ConcurrentDictionary<Guid, RunningJob> running = new();
    private readonly ConcurrentDictionary<Guid, (string Reason, DateTimeOffset RequestedAt, DateTimeOffset Seen)> pending = new();

    /// <summary>Job ids running on this host now.</summary>
    public IReadOnlyCollection<Guid> Running => running.Keys.ToList();

    /// <summary>
    /// Starts tracking a job. Its token fires on a CancelJob, on host shutdown and when
    /// <paramref name="deliveryToken"/> (the bus's) fires. Dispose the result when the job ends.
    /// </summary>
    /// <param name="requestedAt">When the job was requested; an earlier-remembered cancellation requested after it applies at once.</param>
    public RunningJob Register(Guid jobId, DateTimeOffset requestedAt, CancellationToken deliveryToken)
    {
        var job = new RunningJob(this, jobId, lifetime.ApplicationStopping, deliveryToken);
        if (!running.TryAdd(jobId, job))
        {
            job.Dispose();
            throw new InvalidOperationException($"job {jobId} is already running on this worker");
        }
        if (pending.TryRemove(jobId, out var earlier) && earlier.RequestedAt >= requestedAt)
            job.Cancel(earlier.Reason);
        return job;
    }

    /// <summary>Cancels job <paramref name="jobId"/> if it runs here (true), else remembers the request (false).</summary>
    public bool Cancel(Guid jobId, string reason, DateTimeOffset requestedAt)
    {
        if (running.TryGetValue(jobId, out var job))
        {
            job.Cancel(reason);
            return true;
        }
        var now = time.GetUtcNow();
        pending[jobId] = (reason, requestedAt, now);
        if (pending.Count > RememberAtMost || pending.Count % 100 == 0)
        {
            foreach (var (id, entry) in pending)
                if (now - entry.Seen > RememberFor) pending.TryRemove(id, out _);
            foreach (var (id, _) in pending.OrderBy(p => p.Value.Seen).Take(Math.Max(0, pending.Count - RememberAtMost)).ToList())
                pending.TryRemove(id, out _);
        }
        return false;
    }

    /// <summary>Stops job <paramref name="jobId"/> if it runs here because <paramref name="holder"/> holds its run now (true when it ran here).</summary>
    public bool LoseLease(Guid jobId, string holder)
    {
        if (!running.TryGetValue(jobId, out var job)) return false;
        job.LoseLease(holder);
        return true;
    }

    internal void Remove(Guid jobId, RunningJob job) => running.TryRemove(new KeyValuePair<Guid, RunningJob>(jobId, job));
}

/// <summary>A job registered with <see cref="JobCancellations"/>: its token and why it fired.</summary>
public sealed class RunningJob : IDisposable
{
    private readonly JobCancellations owner;
    private readonly CancellationTokenSource cancel = new();
    private readonly CancellationTokenSource linked;
    private readonly CancellationToken stopping;
    private readonly CancellationToken delivery;
    private string? cancelReason;
    private string? newHolder;

    internal RunningJob(JobCancellations owner, Guid jobId, CancellationToken stopping, CancellationToken delivery)
    {
        this.owner = owner;
        JobId = jobId;
        this.stopping = stopping;
        this.delivery = delivery;
        linked = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token, stopping, delivery);
    }

    public Guid JobId { get; }

    /// <summary>Fires on a CancelJob for the job, on host shutdown, or when the bus gives the delivery up.</summary>
    public CancellationToken Token => linked.Token;

    /// <summary>Why <see cref="Token"/> fired. A CancelJob wins over a lost lease, and both over a shutdown that happens at the same time.</summary>
    public StopReason Reason =>
        cancel.IsCancellationRequested ? (Volatile.Read(ref cancelReason) is null && NewHolder is not null ? StopReason.LeaseLost : StopReason.Cancelled)
        : stopping.IsCancellationRequested || delivery.IsCancellationRequested ? StopReason.WorkerStopping
        : StopReason.None;

    /// <summary>The worker that took the job over, when <see cref="Reason"/> is <see cref="StopReason.LeaseLost"/>.</summary>
    public string? NewHolder => Volatile.Read(ref newHolder);

    /// <summary>The reason given by the CancelJob, when <see cref="Reason"/> is <see cref="StopReason.Cancelled"/>.</summary>
    public string? CancelReason => Volatile.Read(ref cancelReason);

    internal void LoseLease(string holder)
    {
        Interlocked.CompareExchange(ref newHolder, holder, null);
        try { cancel.Cancel(); }
        catch (ObjectDisposedException) { /* the job ended meanwhile */ }
    }

    internal void Cancel(string reason)
    {
        Interlocked.CompareExchange(ref cancelReason, reason, null);
        try { cancel.Cancel(); }
        catch (ObjectDisposedException) { /* the job ended meanwhile */ }
    }

    public void Dispose()
    {
        owner.Remove(JobId, this);
        linked.Dispose();
        cancel.Dispose();
    }
}
