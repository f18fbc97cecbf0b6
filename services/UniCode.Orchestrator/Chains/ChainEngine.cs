using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Chains;
using UniCode.Contracts.Common;
using UniCode.Contracts.Evaluation;
using UniCode.Contracts.Finetuning;
using UniCode.Contracts.Pretraining;
using UniCode.Contracts.Registry;
using UniCode.Messaging;
using UniCode.Persistence;
using UniCode.Persistence.Entities;
using UniCode.Persistence.Outbox;

namespace UniCode.Orchestrator.Chains;

/// <summary>
/// The chain process manager. Each method is one decision made inside a <see cref="ChainStore"/>
/// unit of work: it reads the chain and its steps, changes them, and writes the messages the change
/// implies to the outbox. Nothing is published directly, so a crash after a commit loses nothing.
/// <para>
/// A chain grows as results arrive: the pre-training and registration steps (or, for a
/// re-evaluation, the fine-tunings) exist from the start; fine-tunings are added when the
/// checkpoint's sha256 is known, evaluations when the head's is, because step keys hash real inputs.
/// Job events are matched to steps by job id, not by chain id: chains that need the same step share
/// one job, and its result advances all of them.
/// </para>
/// Invariant: every change to a step also touches its chain row (<see cref="Touch"/>), so two
/// consumers deciding about one chain at once conflict on the chain's xmin and one of them re-runs.
/// </summary>
public sealed class ChainEngine(ChainSpecParser parser, OrchestratorOptions options, RabbitMqSettings bus, TimeProvider clock, ILogger<ChainEngine> logger)
{
    private static readonly JsonSerializerOptions ResultJson = new(JsonSerializerDefaults.Web);

    private sealed record ChainState(Chain Chain, ChainPlan? Plan);

    /// <summary>How a job event ends a step.</summary>
    private sealed record Outcome(string Status, string? ResultRef, string? ResultJson, string? Reason);

    // ------------------------------------------------------------------ commands

    /// <summary>
    /// Validates and starts a chain. A chain id seen before changes nothing (the same chain
    /// re-submitted); an invalid spec is stored as rejected with its reason and answered with ChainRejected.
    /// </summary>
    public async Task SubmitAsync(ResultsDbContext db, SubmitChain message, CancellationToken ct)
    {
        if (await db.Chains.AnyAsync(c => c.Id == message.ChainId, ct))
        {
            logger.LogInformation("Chain {ChainId} exists already; SubmitChain ignored", message.ChainId);
            return;
        }
        var now = clock.GetUtcNow();
        var chain = new Chain
        {
            Id = message.ChainId,
            Name = message.Name,
            Status = ChainStatuses.Running,
            Force = message.Force,
            SpecJson = message.SpecJson,
            SubmittedAt = message.SubmittedAt,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Chains.Add(chain);

        var parsed = await parser.ParseAsync(db, message.SpecJson, ct);
        if (parsed.Error is { } reason)
        {
            (chain.Status, chain.Reason, chain.FinishedAt) = (ChainStatuses.Rejected, reason, now);
            db.AddToOutbox(new ChainRejected(chain.Id, reason, now), now);
            logger.LogWarning("Chain {ChainId} rejected: {Reason}", chain.Id, reason);
            return;
        }

        var plan = parsed.Plan!;
        (chain.PlanJson, chain.StepCount) = (plan.ToJson(), plan.StepCount);
        foreach (var lineage in plan.Lineages)
        {
            var first = plan.IsReevaluation
                ? StepFactory.Finetunes(chain, plan, null, lineage.Seed, plan.Checkpoint!, now)
                : [StepFactory.Pretrain(chain, plan, lineage, now)];
            foreach (var step in first) AddStep(db, chain, step);
        }
        db.AddToOutbox(new ChainAccepted(chain.Id, plan.StepCount, now), now);
        logger.LogInformation("Chain {ChainId} '{Name}' accepted with {StepCount} steps{Force}", chain.Id, chain.Name, plan.StepCount, chain.Force ? " (force)" : "");
        await AdvanceAsync(db, new ChainState(chain, plan), ct);
    }

    /// <summary>
    /// Stops a running chain: pending steps are cancelled, running jobs get a CancelJob (unless
    /// another running chain still needs the same job), and the chain ends cancelled once no job of
    /// it is left running. Cancelling a finished chain changes nothing.
    /// </summary>
    public async Task CancelAsync(ResultsDbContext db, CancelChain message, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var state = await LoadAsync(db, message.ChainId, ct);
        if (state is null)
        {
            // Cancelled before its SubmitChain arrived: keep the id, so the late submission is ignored.
            db.Chains.Add(new Chain
            {
                Id = message.ChainId, Name = "", Status = ChainStatuses.Cancelled, SpecJson = "",
                Reason = message.Reason, SubmittedAt = message.RequestedAt, CreatedAt = now, UpdatedAt = now,
                CancelRequestedAt = now, FinishedAt = now,
            });
            db.AddToOutbox(new ChainCancelled(message.ChainId, message.Reason, now), now);
            logger.LogWarning("Chain {ChainId} cancelled before it was submitted", message.ChainId);
            return;
        }
        var chain = state.Chain;
        if (chain.Status != ChainStatuses.Running)
        {
            logger.LogInformation("Chain {ChainId} is {Status}; CancelChain ignored", chain.Id, chain.Status);
            return;
        }
        (chain.Status, chain.Reason, chain.CancelRequestedAt) = (ChainStatuses.Cancelling, message.Reason, now);
        foreach (var step in chain.Steps.Where(s => s.Status == ChainStepStatuses.Pending))
            End(step, ChainStepStatuses.Cancelled, "the chain was cancelled before the step started", now);
        foreach (var step in chain.Steps.Where(s => ChainStepStatuses.IsActive(s.Status)).ToList())
        {
            if (step.CommandType is null)
            {
                End(step, ChainStepStatuses.Cancelled, "the chain was cancelled (registration is the registry's work: nothing to stop)", now);
                continue;
            }
            var sharedWith = await db.ChainSteps.AsNoTracking()
                .Where(s => s.JobId == step.JobId && s.ChainId != chain.Id
                            && (s.Status == ChainStepStatuses.Dispatched || s.Status == ChainStepStatuses.Running || s.Status == ChainStepStatuses.Stalled)
                            && s.Chain.Status == ChainStatuses.Running)
                .Select(s => (Guid?)s.ChainId).FirstOrDefaultAsync(ct);
            if (sharedWith is { } other)
            {
                End(step, ChainStepStatuses.Cancelled, $"the chain was cancelled; job {step.JobId} keeps running for chain {other}", now);
                continue;
            }
            step.Reason = "cancellation requested";
            step.UpdatedAt = now;
            db.AddToOutbox(new CancelJob(step.JobId, message.Reason, chain.Id, now), now);
            using (logger.BeginScope(new Dictionary<string, object?> { ["job_id"] = step.JobId }))
                logger.LogInformation("Cancelling job {JobId} ({Label}) of chain {ChainId}", step.JobId, step.Label, chain.Id);
        }
        await AdvanceAsync(db, state, ct);
    }

    // ------------------------------------------------------------------ job events

    public Task OnPretrainCompletedAsync(ResultsDbContext db, PretrainCompleted e, CancellationToken ct) =>
        EndStepsAsync(db, ActiveSteps(db).Where(s => s.JobId == e.JobId && s.Kind == ChainStepKinds.Pretrain),
            new Outcome(ChainStepStatuses.Succeeded, e.CheckpointSha256,
                Json(new { uri = e.CheckpointUri, step = e.Step, epoch = e.Epoch, metrics = Metrics(e.Metrics) }), null),
            JobLock(e.JobId), $"PretrainCompleted of job {e.JobId}", ct);

    public Task OnCheckpointRegisteredAsync(ResultsDbContext db, CheckpointRegistered e, CancellationToken ct) =>
        EndStepsAsync(db, ActiveSteps(db).Where(s => s.Kind == ChainStepKinds.Register && s.CheckpointSha256 == e.Checkpoint.Sha256),
            new Outcome(ChainStepStatuses.Succeeded, e.Checkpoint.Sha256, Json(new { uri = e.Checkpoint.Uri, runId = e.Checkpoint.RunId }), null),
            CheckpointLock(e.Checkpoint.Sha256), $"CheckpointRegistered of {e.Checkpoint.Sha256}", ct);

    public Task OnHeadFinetunedAsync(ResultsDbContext db, HeadFinetuned e, CancellationToken ct) =>
        EndStepsAsync(db, ActiveSteps(db).Where(s => s.JobId == e.JobId && s.Kind == ChainStepKinds.Finetune),
            new Outcome(ChainStepStatuses.Succeeded, e.HeadSha256, Json(new { uri = e.HeadUri, metrics = Metrics(e.Metrics) }), null),
            JobLock(e.JobId), $"HeadFinetuned of job {e.JobId}", ct);

    public Task OnHeadEvaluatedAsync(ResultsDbContext db, HeadEvaluated e, CancellationToken ct) =>
        EndStepsAsync(db, ActiveSteps(db).Where(s => s.JobId == e.JobId && s.Kind == ChainStepKinds.Evaluate),
            new Outcome(ChainStepStatuses.Succeeded, e.JobId.ToString(),
                Json(new { metrics = Metrics(e.Metrics), evalCodeVersion = e.EvalCodeVersion, datasetHash = e.DatasetHash }), null),
            JobLock(e.JobId), $"HeadEvaluated of job {e.JobId}", ct);

    public Task OnJobFailedAsync(ResultsDbContext db, JobFailed e, CancellationToken ct) =>
        EndStepsAsync(db, ActiveSteps(db).Where(s => s.JobId == e.JobId),
            new Outcome(ChainStepStatuses.Failed, null, null, e.Reason), JobLock(e.JobId), $"JobFailed of job {e.JobId}", ct);

    public Task OnJobCancelledAsync(ResultsDbContext db, JobCancelled e, CancellationToken ct) =>
        EndStepsAsync(db, ActiveSteps(db).Where(s => s.JobId == e.JobId),
            new Outcome(ChainStepStatuses.Cancelled, null, null, e.Reason), JobLock(e.JobId), $"JobCancelled of job {e.JobId}", ct);

    /// <summary>A progress report: the step is running. Touches only the steps (progress says nothing about the chain).</summary>
    public async Task OnProgressAsync(ResultsDbContext db, Guid jobId, long step, long totalSteps, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        foreach (var s in await ActiveSteps(db).Where(s => s.JobId == jobId).ToListAsync(ct))
        {
            if (s.Status is ChainStepStatuses.Dispatched or ChainStepStatuses.Stalled)
            {
                if (s.Status == ChainStepStatuses.Stalled) s.Reason = $"running again (progress at {now:u}) after it stalled";
                s.Status = ChainStepStatuses.Running;
                s.StartedAt ??= now;
            }
            if (s.ProgressStep is null || step >= s.ProgressStep)   // reports may arrive out of order
                (s.ProgressStep, s.ProgressTotal) = (step, totalSteps);
            s.LastHeartbeatAt = now;   // progress is a sign of life too
            s.UpdatedAt = now;
        }
    }

    /// <summary>
    /// A worker's heartbeat: its row in workers (one per job kind it serves) is renewed, and every active step of a
    /// job it runs is running, with its lease renewed from now, the worker's name, its progress, and its restart count
    /// (the worker's start count less one, when that is more). A stalled step comes back to running. A job restarted
    /// more often than the chain's max restarts fails its step and chain as a poison job.
    /// </summary>
    public async Task OnHeartbeatAsync(ResultsDbContext db, WorkerHeartbeat beat, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var rows = await db.Workers.Where(w => w.Name == beat.Worker).ToListAsync(ct);
        foreach (var queue in beat.Queues.DistinctBy(q => q.JobKind))
        {
            var row = rows.SingleOrDefault(w => w.JobKind == queue.JobKind);
            if (row is null)
            {
                row = new Worker { Name = beat.Worker, JobKind = queue.JobKind, Service = beat.Service, Queue = queue.Queue, FirstSeenAt = now };
                db.Workers.Add(row);
                logger.LogInformation("Worker {Worker} ({Service}) is alive for queue {Queue}", beat.Worker, beat.Service, queue.Queue);
            }
            (row.Service, row.Queue, row.LastSeenAt) = (beat.Service, queue.Queue, now);
            row.RunningJobId = beat.Jobs.FirstOrDefault(j => j.JobKind == queue.JobKind)?.JobId;
        }

        foreach (var job in beat.Jobs)
        {
            var steps = await ActiveSteps(db).Where(s => s.JobId == job.JobId).ToListAsync(ct);
            ChainStep? poisoned = null;
            foreach (var s in steps)
            {
                if (s.Status != ChainStepStatuses.Running)
                {
                    using var scope = logger.BeginScope(new Dictionary<string, object?> { ["chain_id"] = s.ChainId, ["job_id"] = s.JobId });
                    if (s.Status == ChainStepStatuses.Stalled)
                    {
                        s.Reason = $"running again on worker {beat.Worker} (heartbeat at {now:u}) after it stalled";
                        logger.LogInformation("{Label}: heartbeat from worker {Worker}; running again after it stalled", s.Label, beat.Worker);
                    }
                    s.Status = ChainStepStatuses.Running;
                    s.StartedAt ??= now;
                }
                (s.LastHeartbeatAt, s.Worker, s.UpdatedAt) = (now, beat.Worker, now);
                if (job.Step is { } p && (s.ProgressStep is null || p >= s.ProgressStep)) (s.ProgressStep, s.ProgressTotal) = (p, job.TotalSteps);
                if (job.Starts - 1 > s.Restarts)
                {
                    s.Restarts = job.Starts - 1;
                    poisoned ??= s;
                }
            }
            if (poisoned is not null) await FailPoisonJobsAsync(db, job.JobId, beat.Worker, now, ct);
        }
    }

    /// <summary>Fails the steps of <paramref name="jobId"/> restarted more often than their chain allows (see <see cref="MaxRestartsOf"/>).</summary>
    private async Task FailPoisonJobsAsync(ResultsDbContext db, Guid jobId, string worker, DateTimeOffset now, CancellationToken ct)
    {
        await LockAsync(db, JobLock(jobId), ct);
        foreach (var chainId in (await ActiveSteps(db).Where(s => s.JobId == jobId).Select(s => s.ChainId).ToListAsync(ct)).Distinct().Order())
        {
            var state = (await LoadAsync(db, chainId, ct))!;
            if (state.Chain.Status != ChainStatuses.Running) continue;
            var step = state.Chain.Steps.Single(s => s.JobId == jobId);
            var max = MaxRestartsOf(state);
            if (step.Restarts <= max) continue;
            var reason = $"{step.Label}: job {jobId} was started {step.Restarts + 1} times without finishing (its worker died each time; last on worker {worker}): " +
                         $"more than max restarts {max}; a poison job";
            End(step, ChainStepStatuses.Failed, reason, now);
            FailChain(db, state.Chain, step, reason, now);
            db.AddToOutbox(new CancelJob(jobId, reason, chainId, now), now);   // the worker running it now stops it
            await AdvanceAsync(db, state, ct);
        }
    }

    private int MaxRestartsOf(ChainState state) => state.Plan?.MaxRestarts ?? options.MaxRestarts;

    // ------------------------------------------------------------------ reconciliation

    /// <summary>
    /// Repairs one chain: a waiting registration whose checkpoint the registry has recorded
    /// succeeds; a step dispatched longer than <see cref="OrchestratorOptions.DispatchTimeout"/> takes
    /// a result that exists by now (its event was lost, or another chain's job finished it) or is
    /// dispatched again, until <see cref="OrchestratorOptions.MaxDispatchAttempts"/> fails the chain;
    /// a cancellation unconfirmed after <see cref="OrchestratorOptions.CancelTimeout"/> ends cancelled.
    /// </summary>
    public async Task ReconcileAsync(ResultsDbContext db, Guid chainId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var state = await LoadAsync(db, chainId, ct);
        if (state is null) return;
        var chain = state.Chain;
        if (chain.Status == ChainStatuses.Cancelling && chain.CancelRequestedAt <= now - options.CancelTimeout)
        {
            foreach (var step in chain.Steps.Where(s => ChainStepStatuses.IsActive(s.Status)))
                End(step, ChainStepStatuses.Cancelled, $"no JobCancelled within {options.CancelTimeout}; marked cancelled", now);
            await AdvanceAsync(db, state, ct);
            return;
        }
        if (chain.Status != ChainStatuses.Running) return;

        foreach (var step in chain.Steps.Where(s => s.Status == ChainStepStatuses.Dispatched).ToList())
        {
            var timedOut = step.DispatchedAt <= now - options.DispatchTimeout;
            if (!timedOut && step.Kind != ChainStepKinds.Register) continue;
            if (await FinishedElsewhereAsync(db, state, step, ct) is { } found)
            {
                End(step, ChainStepStatuses.Succeeded, found.Reason, now);
                (step.ResultRef, step.ResultJson, step.ReusedFrom) = (found.ResultRef, found.ResultJson, found.ReusedFrom);
                logger.LogInformation("Reconciler: {Label} of chain {ChainId} takes its result from {ReusedFrom}", step.Label, chain.Id, found.ReusedFrom);
                continue;
            }
            if (!timedOut) continue;
            if (step.Attempts >= options.MaxDispatchAttempts)
            {
                var reason = $"{step.Label}: no answer after {step.Attempts} dispatch(es), waiting {options.DispatchTimeout} each";
                End(step, ChainStepStatuses.Failed, reason, now);
                FailChain(db, chain, step, reason, now);
                break;
            }
            using (logger.BeginScope(new Dictionary<string, object?> { ["job_id"] = step.JobId }))
                logger.LogWarning("Reconciler: {Label} of chain {ChainId} dispatched at {DispatchedAt} has no answer; dispatching again (attempt {Attempt})",
                    step.Label, chain.Id, step.DispatchedAt, step.Attempts + 1);
            Dispatch(db, step, now);
        }
        if (chain.Status == ChainStatuses.Running) await ExpireLeasesAsync(db, state, now, ct);
        await AdvanceAsync(db, state, ct);
    }

    /// <summary>
    /// The leases of a chain's running and stalled steps: a step whose job sent no heartbeat for
    /// <see cref="OrchestratorOptions.HeartbeatLease"/> (counted from its last heartbeat, start or dispatch; expired after
    /// <see cref="OrchestratorOptions.LeaseExpiry"/>, so that the reconciler's pass comes within the lease) takes a
    /// result that exists by now, or is stalled with a reason naming the silent worker and the workers alive for its
    /// queue. When one of those is idle the job was lost (its delivery is in no queue a worker reads), so the step is
    /// re-dispatched with the same job id (a restart; a worker whose run already succeeded only re-publishes the
    /// completion) until the chain's max restarts fail it as a poison job.
    /// </summary>
    private async Task ExpireLeasesAsync(ResultsDbContext db, ChainState state, DateTimeOffset now, CancellationToken ct)
    {
        var chain = state.Chain;
        var before = now - options.LeaseExpiry;
        var candidates = chain.Steps.Where(s => s.Status is ChainStepStatuses.Running or ChainStepStatuses.Stalled && s.CommandType is not null
            && Latest(s.LastHeartbeatAt, s.StartedAt, s.DispatchedAt) is { } seen && seen <= before).ToList();
        if (candidates.Count == 0) return;
        var alive = await db.Workers.AsNoTracking().Where(w => w.LastSeenAt > before).ToListAsync(ct);
        foreach (var step in candidates)
        {
            using var scope = logger.BeginScope(new Dictionary<string, object?> { ["job_id"] = step.JobId });
            if (await FinishedElsewhereAsync(db, state, step, ct) is { } found)
            {
                End(step, ChainStepStatuses.Succeeded, found.Reason, now);
                (step.ResultRef, step.ResultJson, step.ReusedFrom) = (found.ResultRef, found.ResultJson, found.ReusedFrom);
                logger.LogInformation("Reconciler: {Label} of chain {ChainId} went silent; takes its result from {ReusedFrom}", step.Label, chain.Id, found.ReusedFrom);
                continue;
            }
            var forKind = alive.Where(w => w.JobKind == step.Kind).ToList();
            var idle = forKind.Count(w => w.RunningJobId is null);
            var queue = forKind.Select(w => w.Queue).FirstOrDefault()
                ?? await db.Workers.AsNoTracking().Where(w => w.JobKind == step.Kind).OrderByDescending(w => w.LastSeenAt).Select(w => w.Queue).FirstOrDefaultAsync(ct)
                ?? JobQueues.For(step.Kind, bus.Prefix);
            var silent = step.LastHeartbeatAt ?? step.StartedAt ?? step.DispatchedAt!.Value;
            var who = step.Worker is { } w ? $"no heartbeat from worker {w} since {silent:u}" : $"no heartbeat since {silent:u}";
            if (idle == 0)
            {
                var reason = forKind.Count == 0
                    ? $"{who}; no worker alive for queue {queue}"
                    : $"{who}; {forKind.Count} worker(s) alive for queue {queue}, all busy: the job waits for one";
                if (step.Status != ChainStepStatuses.Stalled || step.Reason != reason)
                {
                    (step.Status, step.Reason, step.UpdatedAt) = (ChainStepStatuses.Stalled, reason, now);
                    logger.LogWarning("Reconciler: {Label} of chain {ChainId} stalled: {Reason}", step.Label, chain.Id, reason);
                }
                continue;
            }
            var max = MaxRestartsOf(state);
            if (step.Restarts >= max)
            {
                var failed = $"{step.Label}: job {step.JobId} lost again after {step.Restarts} restart(s) ({who}; {idle} idle worker(s) alive for queue {queue}): " +
                             $"more than max restarts {max}; a poison job";
                End(step, ChainStepStatuses.Failed, failed, now);
                FailChain(db, chain, step, failed, now);
                db.AddToOutbox(new CancelJob(step.JobId, failed, chain.Id, now), now);
                return;
            }
            Dispatch(db, step, now);
            step.Restarts++;
            (step.Status, step.Reason) = (ChainStepStatuses.Stalled, $"{who}; {forKind.Count} worker(s) alive for queue {queue} ({idle} idle), re-dispatching (restart {step.Restarts} of at most {max})");
            logger.LogWarning("Reconciler: {Label} of chain {ChainId}: {Reason}", step.Label, chain.Id, step.Reason);
        }
    }

    private static DateTimeOffset? Latest(params DateTimeOffset?[] times) => times.Where(t => t.HasValue).Max();

    // ------------------------------------------------------------------ the state machine

    private IQueryable<ChainStep> ActiveSteps(ResultsDbContext db) =>
        db.ChainSteps.Where(s => s.Status == ChainStepStatuses.Dispatched || s.Status == ChainStepStatuses.Running || s.Status == ChainStepStatuses.Stalled);

    private async Task EndStepsAsync(ResultsDbContext db, IQueryable<ChainStep> waiting, Outcome outcome, string lockKey, string what, CancellationToken ct)
    {
        await LockAsync(db, lockKey, ct);
        var steps = await waiting.ToListAsync(ct);
        if (steps.Count == 0)
        {
            // A duplicate with a new message id, an event for a step already reconciled, or work
            // nobody asked the coordinator for: the natural keys make it a no-op.
            logger.LogInformation("{What}: no step waits for it; nothing to do", what);
            return;
        }
        var now = clock.GetUtcNow();
        foreach (var chainId in steps.Select(s => s.ChainId).Distinct().Order())
        {
            var state = (await LoadAsync(db, chainId, ct))!;   // same tracked step instances (identity map)
            using var scope = logger.BeginScope(new Dictionary<string, object?> { ["chain_id"] = chainId });
            foreach (var step in steps.Where(s => s.ChainId == chainId))
            {
                End(step, outcome.Status, outcome.Reason, now);
                (step.ResultRef, step.ResultJson) = (outcome.ResultRef, outcome.ResultJson);
                logger.LogInformation("{Label} {Status} ({What})", step.Label, step.Status, what);
                if (state.Chain.Status != ChainStatuses.Running) continue;
                if (outcome.Status == ChainStepStatuses.Failed)
                    FailChain(db, state.Chain, step, outcome.Reason!, now);
                else if (outcome.Status == ChainStepStatuses.Cancelled)
                    FailChain(db, state.Chain, step, $"{step.Label}: job {step.JobId} was cancelled: {outcome.Reason}", now);
            }
            await AdvanceAsync(db, state, ct);
        }
    }

    /// <summary>
    /// Moves a chain forward as far as it can go now: starts pending steps, adds the steps whose
    /// inputs just became known, and ends the chain when nothing is left to wait for.
    /// </summary>
    private async Task AdvanceAsync(ResultsDbContext db, ChainState state, CancellationToken ct)
    {
        var (chain, plan) = state;
        var now = clock.GetUtcNow();
        if (chain.Status == ChainStatuses.Running)
        {
            bool progressed;
            do
            {
                progressed = false;
                foreach (var step in chain.Steps.Where(s => s.Status == ChainStepStatuses.Pending).OrderBy(s => s.Label, StringComparer.Ordinal).ToList())
                {
                    await StartAsync(db, state, step, ct);
                    progressed = true;
                }
                foreach (var step in chain.Steps.Where(s => ChainStepStatuses.IsDone(s.Status)).ToList())
                    foreach (var child in Children(chain, plan!, step, now))
                        if (chain.Steps.All(s => s.StepKey != child.StepKey))
                        {
                            AddStep(db, chain, child);
                            progressed = true;
                        }
            } while (progressed);

            if (chain.Steps.All(s => ChainStepStatuses.IsFinal(s.Status)))
            {
                (chain.Status, chain.FinishedAt) = (ChainStatuses.Succeeded, now);
                db.AddToOutbox(new ChainCompleted(chain.Id, now), now);
                logger.LogInformation("Chain {ChainId} completed: {Run} step(s) run, {Skipped} reused",
                    chain.Id, chain.Steps.Count(s => s.Status == ChainStepStatuses.Succeeded), chain.Steps.Count(s => s.Status == ChainStepStatuses.Skipped));
            }
        }
        else if (chain.Status == ChainStatuses.Cancelling && !chain.Steps.Any(s => ChainStepStatuses.IsActive(s.Status)))
        {
            (chain.Status, chain.FinishedAt) = (ChainStatuses.Cancelled, now);
            db.AddToOutbox(new ChainCancelled(chain.Id, chain.Reason ?? "", now), now);
            logger.LogInformation("Chain {ChainId} cancelled: {Reason}", chain.Id, chain.Reason);
        }
        Touch(db, chain, now);
    }

    /// <summary>The steps whose input <paramref name="step"/>'s result is (none for an evaluation).</summary>
    private static IEnumerable<ChainStep> Children(Chain chain, ChainPlan plan, ChainStep step, DateTimeOffset now) => step.Kind switch
    {
        ChainStepKinds.Pretrain => [StepFactory.Register(chain, plan, step, step.ResultRef!, now)],
        ChainStepKinds.Register => StepFactory.Finetunes(chain, plan, step, step.Seed!.Value, step.CheckpointSha256!, now),
        ChainStepKinds.Finetune => StepFactory.Evaluations(chain, plan, step, step.ResultRef!, now),
        _ => [],
    };

    /// <summary>Reuses an existing result, joins another chain's job with the same key, or dispatches.</summary>
    private async Task StartAsync(ResultsDbContext db, ChainState state, ChainStep step, CancellationToken ct)
    {
        var (chain, plan) = state;
        var now = clock.GetUtcNow();
        await LockAsync(db, step.Kind == ChainStepKinds.Register ? CheckpointLock(step.CheckpointSha256!) : JobLock(step.JobId), ct);
        // Registration is never forced: the registry keeps one row per sha256 and may not announce it twice.
        if (!chain.Force || step.Kind == ChainStepKinds.Register)
        {
            if (await StepCache.FindAsync(db, step, plan!.EvalCodeVersion, ct) is { } hit)
            {
                End(step, ChainStepStatuses.Skipped, hit.Reason, now);
                (step.ResultRef, step.ResultJson, step.ReusedFrom) = (hit.ResultRef, hit.ResultJson, hit.ReusedFrom);
                logger.LogInformation("{Label} of chain {ChainId} skipped: {Reason}", step.Label, chain.Id, hit.Reason);
                return;
            }
        }
        var running = await db.ChainSteps.AsNoTracking()
            .Where(s => s.JobId == step.JobId && s.Id != step.Id
                        && (s.Status == ChainStepStatuses.Dispatched || s.Status == ChainStepStatuses.Running || s.Status == ChainStepStatuses.Stalled)
                        && s.Chain.Status != ChainStatuses.Cancelling && s.Chain.Status != ChainStatuses.Cancelled)
            .OrderBy(s => s.DispatchedAt)
            .Select(s => new { s.ChainId, s.Status, s.StartedAt, s.LastHeartbeatAt, s.Worker })
            .FirstOrDefaultAsync(ct);
        if (running is not null)
        {
            (step.Status, step.DispatchedAt, step.StartedAt, step.UpdatedAt) = (running.Status, now, running.StartedAt, now);
            (step.LastHeartbeatAt, step.Worker) = (running.LastHeartbeatAt, running.Worker);
            step.Reason = $"attached to job {step.JobId}, already dispatched by chain {running.ChainId}";
            logger.LogInformation("{Label} of chain {ChainId} attached to job {JobId} of chain {Other}", step.Label, chain.Id, step.JobId, running.ChainId);
            return;
        }
        Dispatch(db, step, now);
    }

    /// <summary>Puts the step's command in the outbox (again, when re-dispatching): the job id stays the same.</summary>
    private void Dispatch(ResultsDbContext db, ChainStep step, DateTimeOffset now)
    {
        (step.Status, step.DispatchedAt, step.UpdatedAt) = (ChainStepStatuses.Dispatched, now, now);
        step.Attempts++;
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["chain_id"] = step.ChainId, ["job_id"] = step.JobId });
        if (step.CommandType is null)
        {
            step.Reason = "waiting for the registry's CheckpointRegistered";
            logger.LogInformation("{Label} waits for checkpoint {Sha256} to be registered", step.Label, step.CheckpointSha256);
            return;
        }
        db.AddToOutbox(step.CommandType, step.CommandJson!, now);
        logger.LogInformation("{Label} dispatched as job {JobId} (attempt {Attempt})", step.Label, step.JobId, step.Attempts);
    }

    /// <summary>A result that exists now for a step that waited too long (see <see cref="ReconcileAsync"/>).</summary>
    private static async Task<CachedResult?> FinishedElsewhereAsync(ResultsDbContext db, ChainState state, ChainStep step, CancellationToken ct)
    {
        var done = await db.ChainSteps.AsNoTracking()
            .Where(s => s.JobId == step.JobId && s.Id != step.Id && s.Status == ChainStepStatuses.Succeeded && s.FinishedAt >= step.CreatedAt)
            .OrderByDescending(s => s.FinishedAt)
            .Select(s => new { s.Id, s.ChainId, s.ResultRef, s.ResultJson })
            .FirstOrDefaultAsync(ct);
        if (done is not null)
            return new CachedResult(done.ResultRef!, done.ResultJson, $"chain_steps:{done.Id}", $"job {step.JobId} finished for chain {done.ChainId} while this step waited");
        // Forced steps must not take an old result; registrations always may.
        return !state.Chain.Force || step.Kind == ChainStepKinds.Register
            ? await StepCache.FindAsync(db, step, state.Plan!.EvalCodeVersion, ct)
            : null;
    }

    private static string JobLock(Guid jobId) => $"job:{jobId}";

    private static string CheckpointLock(string sha256) => $"checkpoint:{sha256}";

    /// <summary>
    /// Serialises, per job (or per checkpoint registration), "does a waiting step exist?" against
    /// "create a waiting step": a transaction-scoped advisory lock taken before either question. Without
    /// it an event could be handled between another transaction's look at the results tables and its
    /// commit of the step that waits for that very event, which would then wait for the reconciler.
    /// With it the later transaction sees the earlier one's commit (and the registry's row).
    /// </summary>
    private static async Task LockAsync(ResultsDbContext db, string key, CancellationToken ct)
    {
        var id = BinaryPrimitives.ReadInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        await db.Database.ExecuteSqlInterpolatedAsync($"SELECT pg_advisory_xact_lock({id})", ct);
    }

    private void FailChain(ResultsDbContext db, Chain chain, ChainStep step, string reason, DateTimeOffset now)
    {
        (chain.Status, chain.Reason, chain.FailedStepKey, chain.FinishedAt) = (ChainStatuses.Failed, reason, step.StepKey, now);
        foreach (var pending in chain.Steps.Where(s => s.Status == ChainStepStatuses.Pending))
            End(pending, ChainStepStatuses.Cancelled, "the chain failed before the step started", now);
        db.AddToOutbox(new ChainFailed(chain.Id, step.StepKey, reason, now), now);
        logger.LogWarning("Chain {ChainId} failed at {Label}: {Reason}", chain.Id, step.Label, reason);
    }

    private static void End(ChainStep step, string status, string? reason, DateTimeOffset now)
    {
        (step.Status, step.Reason, step.UpdatedAt) = (status, reason, now);
        step.FinishedAt = now;
    }

    private static void AddStep(ResultsDbContext db, Chain chain, ChainStep step)
    {
        db.ChainSteps.Add(step);
        if (!chain.Steps.Contains(step)) chain.Steps.Add(step);
    }

    /// <summary>Marks the chain row modified even when no column changed, so its xmin is checked and bumped.</summary>
    private static void Touch(ResultsDbContext db, Chain chain, DateTimeOffset now)
    {
        chain.UpdatedAt = now;
        var entry = db.Entry(chain);
        if (entry.State == EntityState.Unchanged) entry.Property(c => c.UpdatedAt).IsModified = true;
    }

    private static async Task<ChainState?> LoadAsync(ResultsDbContext db, Guid chainId, CancellationToken ct)
    {
        var chain = await db.Chains.Include(c => c.Steps).SingleOrDefaultAsync(c => c.Id == chainId, ct);
        return chain is null ? null : new ChainState(chain, chain.PlanJson is null ? null : ChainPlan.FromJson(chain.PlanJson));
    }

    private static Dictionary<string, double> Metrics(IReadOnlyList<MetricValue> metrics) =>
        metrics.GroupBy(m => m.Name).ToDictionary(g => g.Key, g => g.Last().Value);

    private static string Json(object value) => JsonSerializer.Serialize(value, ResultJson);
}
