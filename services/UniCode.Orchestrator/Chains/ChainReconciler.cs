using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using UniCode.Persistence;
using UniCode.Persistence.Entities;

namespace UniCode.Orchestrator.Chains;

/// <summary>
/// Every <see cref="OrchestratorOptions.ReconcileTick"/>: finds chains with a step stuck in
/// "dispatched" (or a registration waiting), a running or stalled step whose job's lease expired (no heartbeat for
/// <see cref="OrchestratorOptions.HeartbeatLease"/>), and cancellations nobody confirmed, and lets
/// <see cref="ChainEngine.ReconcileAsync"/> repair each chain in its own unit of work. This closes
/// the gaps no transaction can: a command lost by a broker, an event consumed before the step that
/// waits for it was committed, a worker that died without a word.
/// </summary>
public sealed class ChainReconciler(
    IDbContextFactory<ResultsDbContext> contextFactory,
    ChainStore store,
    ChainEngine engine,
    OrchestratorOptions options,
    TimeProvider clock,
    ILogger<ChainReconciler> logger) : BackgroundService
{
    /// <summary>Rows of workers not heard from for this long are deleted.</summary>
    public static readonly TimeSpan WorkerRetention = TimeSpan.FromDays(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.ReconcileTick, clock);
        do
        {
            try
            {
                await ReconcileOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Reconciliation pass failed; trying again in {Interval}", options.ReconcileInterval);
            }
        } while (await WaitAsync(timer, stoppingToken));
    }

    /// <summary>One pass; returns the ids of the chains it looked at.</summary>
    public async Task<IReadOnlyList<Guid>> ReconcileOnceAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var dispatchedBefore = now - options.DispatchTimeout;
        var cancelledBefore = now - options.CancelTimeout;
        var silentSince = now - options.LeaseExpiry;   // the next pass is at most a tick away: stalled within the lease
        List<Guid> chainIds;
        await using (var db = await contextFactory.CreateDbContextAsync(cancellationToken))
        {
            var stuck = await db.ChainSteps.AsNoTracking()
                .Where(s => s.Status == ChainStepStatuses.Dispatched && s.Chain.Status == ChainStatuses.Running
                            && (s.DispatchedAt <= dispatchedBefore
                                || (s.Kind == ChainStepKinds.Register && db.Checkpoints.Any(c => c.Sha256 == s.CheckpointSha256))))
                .Select(s => s.ChainId).Distinct().OrderBy(id => id).Take(100).ToListAsync(cancellationToken);
            // A lease runs from the step's last sign of life: its last heartbeat, its start, its (re-)dispatch.
            var expired = await db.ChainSteps.AsNoTracking()
                .Where(s => (s.Status == ChainStepStatuses.Running || s.Status == ChainStepStatuses.Stalled) && s.Chain.Status == ChainStatuses.Running
                            && s.CommandType != null
                            && (s.LastHeartbeatAt == null || s.LastHeartbeatAt <= silentSince)
                            && (s.StartedAt == null || s.StartedAt <= silentSince)
                            && (s.DispatchedAt == null || s.DispatchedAt <= silentSince))
                .Select(s => s.ChainId).Distinct().OrderBy(id => id).Take(100).ToListAsync(cancellationToken);
            var cancelling = await db.Chains.AsNoTracking()
                .Where(c => c.Status == ChainStatuses.Cancelling && c.CancelRequestedAt <= cancelledBefore)
                .OrderBy(c => c.CancelRequestedAt).Select(c => c.Id).Take(100).ToListAsync(cancellationToken);
            chainIds = stuck.Concat(expired).Concat(cancelling).Distinct().ToList();
            // Workers not heard from for a day are gone (a restarted worker is a new host:pid).
            var forgotten = now - WorkerRetention;
            await db.Workers.Where(w => w.LastSeenAt < forgotten).ExecuteDeleteAsync(cancellationToken);
        }
        foreach (var chainId in chainIds)
        {
            using var scope = logger.BeginScope(new Dictionary<string, object?> { ["chain_id"] = chainId });
            await store.RunAsync(null, null, db => engine.ReconcileAsync(db, chainId, cancellationToken), cancellationToken);
        }
        return chainIds;
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
