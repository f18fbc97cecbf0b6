using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Common;

namespace UniCode.Jobs;

/// <summary>
/// The jobs running on this host, as the heartbeat reports them: identity, start count, the latest progress
/// (every report, before the throttle). The executor adds a job when it starts and removes it when it ends.
/// </summary>
public sealed class RunningJobs : IJobProgressObserver
{
    private sealed class Entry(string kind, JobIdentity job, int starts, DateTimeOffset startedAt)
    {
        public readonly string Kind = kind;
        public readonly JobIdentity Job = job;
        public readonly int Starts = starts;
        public readonly DateTimeOffset StartedAt = startedAt;
        public (long Step, long Total)? Progress;
    }

    private readonly ConcurrentDictionary<Guid, Entry> jobs = new();

    /// <summary>Fires when a job starts, so the next heartbeat goes out at once (the step turns running without waiting an interval).</summary>
    public event Action? Started;

    public void Add(string kind, JobIdentity job, int starts, DateTimeOffset startedAt)
    {
        jobs[job.JobId] = new Entry(kind, job, starts, startedAt);
        Started?.Invoke();
    }

    public void Progress(Guid jobId, long step, long total)
    {
        if (jobs.TryGetValue(jobId, out var e)) e.Progress = (step, total);
    }

    public void Remove(Guid jobId) => jobs.TryRemove(jobId, out _);

    /// <summary>Whether job <paramref name="jobId"/> runs on this host now.</summary>
    public bool Contains(Guid jobId) => jobs.ContainsKey(jobId);

    void IJobProgressObserver.OnProgress(JobIdentity job, ProgressPoint point, CancellationToken token) => Progress(job.JobId, point.Step, point.TotalSteps);

    public IReadOnlyList<JobHeartbeat> Snapshot() =>
        jobs.Values.Select(e => new JobHeartbeat(e.Job.JobId, e.Kind, e.Job.ChainId, e.Job.StepKey, e.Progress?.Step, e.Progress?.Total, e.Starts, e.StartedAt))
            .OrderBy(j => j.JobId).ToList();
}

/// <summary>
/// Publishes a <see cref="WorkerHeartbeat"/> every <see cref="JobSettings.HeartbeatInterval"/> (and at once when a job
/// starts), idle or busy, straight to the bus: the worker, the queues it consumes, its running jobs with their progress
/// and start counts. Independent of the progress throttle, so a job whose progress is rare (an evaluation, a long
/// epoch) still holds its lease. A failed publish (broker restarting) is logged and tried again at the next beat.
/// Each beat also renews this worker's lease on the run rows of its running jobs (<see cref="RunLedger.RenewLeasesAsync"/>);
/// a job whose run another worker holds by now (this one could not renew in time) is stopped (<see cref="StopReason.LeaseLost"/>).
/// </summary>
public sealed class WorkerHeartbeatService(
    JobHostOptions options, IEnumerable<WorkerQueue> queues, RunningJobs running, RunLedger ledger, JobCancellations cancellations,
    IBus bus, TimeProvider time, ILogger<WorkerHeartbeatService> logger)
    : BackgroundService
{
    private readonly IReadOnlyList<WorkerQueue> served = queues.Distinct().ToList();   // registered by JobServiceHost.AddJobConsumer
    private readonly SemaphoreSlim wake = new(0);

    /// <summary>Heartbeats published since start (tests).</summary>
    public long Sent => Interlocked.Read(ref sent);
    private long sent;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (served.Count == 0) return;   // a host without job consumers is no worker
        void Wake() => wake.Release();
        running.Started += Wake;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await BeatAsync(stoppingToken);
                try
                {
                    using var interval = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    var delay = Task.Delay(options.Jobs.HeartbeatInterval, time, interval.Token);
                    var woken = wake.WaitAsync(interval.Token);
                    await Task.WhenAny(delay, woken);
                    await interval.CancelAsync();
                    while (wake.CurrentCount > 0) await wake.WaitAsync(CancellationToken.None);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
            }
        }
        finally
        {
            running.Started -= Wake;
        }
    }

    /// <summary>Publishes one heartbeat now and renews the leases; false when the publish failed (logged).</summary>
    public async Task<bool> BeatAsync(CancellationToken ct)
    {
        var jobs = running.Snapshot();
        await RenewLeasesAsync(jobs.Select(j => j.JobId).ToList(), ct);
        var beat = new WorkerHeartbeat(options.Jobs.WorkerName, options.Service, served, jobs, time.GetUtcNow());
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(Math.Max(5, options.Jobs.HeartbeatInterval.TotalSeconds)));
            await bus.Publish(beat, timeout.Token);
            Interlocked.Increment(ref sent);
            return true;
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning("Heartbeat of worker {Worker} not published (tried again in {Interval}): {Error}",
                options.Jobs.WorkerName, options.Jobs.HeartbeatInterval, e.GetBaseException().Message);
            return false;
        }
    }

    private async Task RenewLeasesAsync(IReadOnlyList<Guid> jobs, CancellationToken ct)
    {
        if (jobs.Count == 0) return;
        try
        {
            var lost = await ledger.RenewLeasesAsync(options.Jobs.WorkerName, jobs, ct);
            foreach (var (jobId, holder) in lost)
                if (cancellations.LoseLease(jobId, holder))
                    logger.LogError("Job {JobId}: worker {Holder} holds its run now (this worker, {Worker}, could not renew its lease within " +
                        "{Lease}); stopping it here so that it does not run twice", jobId, holder, options.Jobs.WorkerName, options.Jobs.Lease);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning("Worker {Worker} could not renew its leases on {Jobs} running jobs (tried again in {Interval}; they lapse after {Lease}): {Error}",
                options.Jobs.WorkerName, jobs.Count, options.Jobs.HeartbeatInterval, options.Jobs.Lease, e.GetBaseException().Message);
        }
    }
}
