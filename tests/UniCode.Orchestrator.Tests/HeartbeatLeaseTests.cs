using System.Net.Sockets;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using UniCode.Contracts.Chains;
using UniCode.Contracts.Common;
using UniCode.Contracts.Pretraining;
using UniCode.Messaging;
using UniCode.Orchestrator.Chains;
using UniCode.Orchestrator.Tests.Support;
using UniCode.Persistence;
using UniCode.Persistence.Entities;
using Xunit.Abstractions;
using static UniCode.Orchestrator.Tests.Support.OrchestratorTestHost;

namespace UniCode.Orchestrator.Tests;

/// <summary>
/// Heartbeats, leases, stalled steps, re-dispatch, restarts and the max-restarts bound (issue 10, item 2), and
/// consumers that ride out a database outage (item 1). The lease decisions are driven by a clock the test moves
/// (the engine alone, no bus); the completion-after-stall and outage cases run through the real broker.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class HeartbeatLeaseTests(ServerFixture servers, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private const string Queue = "pretrain-model";
    private TestDatabase _db = null!;

    public async Task InitializeAsync()
    {
        _db = await servers.DatabaseForClassAsync(typeof(HeartbeatLeaseTests));
        await DatabaseMigrator.MigrateAsync(_db.ConnectionString, CancellationToken.None);
        await using var db = ResultsDbContextOptions.CreateContext(_db.ConnectionString);
        await db.Workers.ExecuteDeleteAsync();   // each test starts with no worker known
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>The engine, its store and reconciler on a clock the test moves; no bus.</summary>
    private sealed class Engine(OrchestratorTestHost host, ManualClock clock) : IAsyncDisposable
    {
        public OrchestratorTestHost Host { get; } = host;
        public ManualClock Clock { get; } = clock;
        private ChainStore Store => Host.Services.GetRequiredService<ChainStore>();
        private ChainEngine Chains => Host.Services.GetRequiredService<ChainEngine>();

        public async Task<ChainStep> SubmitAsync(ChainSpec spec)
        {
            var submit = Submit(spec);
            await Store.RunAsync(null, null, db => Chains.SubmitAsync(db, submit, CancellationToken.None), CancellationToken.None);
            var pretrain = (await Host.StepsAsync(submit.ChainId)).Single();
            Assert.Equal((ChainStepKinds.Pretrain, ChainStepStatuses.Dispatched), (pretrain.Kind, pretrain.Status));
            return pretrain;
        }

        /// <summary>A trainer's heartbeat, idle (no job) or running <paramref name="jobs"/>.</summary>
        public Task BeatAsync(string worker, params JobHeartbeat[] jobs) =>
            Store.RunAsync(null, null, db => Chains.OnHeartbeatAsync(db,
                new WorkerHeartbeat(worker, "trainer", [new WorkerQueue("pretrain", Queue)], jobs, Clock.Now), CancellationToken.None), CancellationToken.None);

        public Task ReconcileAsync() => Host.Services.GetRequiredService<ChainReconciler>().ReconcileOnceAsync(CancellationToken.None);

        public async Task<ChainStep> StepAsync(Guid stepId)
        {
            await using var db = Host.Db();
            return await db.ChainSteps.AsNoTracking().SingleAsync(s => s.Id == stepId);
        }

        public async Task<Chain> ChainAsync(Guid chainId)
        {
            await using var db = Host.Db();
            return await db.Chains.AsNoTracking().SingleAsync(c => c.Id == chainId);
        }

        /// <summary>The outbox rows of <typeparamref name="T"/> that name <paramref name="jobId"/>.</summary>
        public async Task<int> OutboxCountAsync<T>(Guid jobId)
        {
            await using var db = Host.Db();
            var name = typeof(T).FullName!;
            var id = jobId.ToString();
            var bodies = await db.OutboxMessages.Where(m => m.MessageType.StartsWith(name)).Select(m => m.Body).ToListAsync();
            return bodies.Count(b => b.Contains(id, StringComparison.Ordinal));
        }

        public ValueTask DisposeAsync() => Host.DisposeAsync();
    }

    private async Task<Engine> EngineAsync(int maxRestarts = 2)
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var host = await CreateAsync(servers, _db, output,
            s => s with { Options = s.Options with { HeartbeatLease = Lease, MaxRestarts = maxRestarts } },
            start: false, configureServices: s => s.AddSingleton<TimeProvider>(clock));
        Assert.Same(clock, host.Services.GetRequiredService<TimeProvider>());
        return new Engine(host, clock);
    }

    private static JobHeartbeat Job(ChainStep step, int starts = 1, long? at = null) =>
        new(step.JobId, "pretrain", step.ChainId, step.StepKey, at, at is null ? null : 100, starts, DateTimeOffset.UtcNow);

    [Fact]
    public async Task A_running_step_whose_lease_expires_is_stalled_naming_the_silent_worker_and_a_heartbeat_brings_it_back()
    {
        await using var e = await EngineAsync();
        var step = await e.SubmitAsync(Spec(NewDataset()));
        var t0 = e.Clock.Now;
        await e.BeatAsync("trainer-a", Job(step, at: 5));
        var running = await e.StepAsync(step.Id);
        Assert.Equal((ChainStepStatuses.Running, "trainer-a", 5L, 100L, 0), (running.Status, running.Worker, running.ProgressStep, running.ProgressTotal, running.Restarts));
        Assert.True((running.LastHeartbeatAt!.Value - t0).Duration() < TimeSpan.FromMilliseconds(1));

        // The reconciler passes every tick (a sixth of the lease, 5 s): a lease counts as expired one tick before its end,
        // so the pass that sees it comes within the lease (a dead worker's step stalled by 30 s, not 35).
        var tick = Lease / 6;
        e.Clock.Advance(Lease - tick - TimeSpan.FromSeconds(1));   // 24 s: nothing happens
        await e.ReconcileAsync();
        Assert.Equal(ChainStepStatuses.Running, (await e.StepAsync(step.Id)).Status);

        e.Clock.Advance(TimeSpan.FromSeconds(2));            // 26 s: the trainer was killed; nobody took its place
        await e.ReconcileAsync();
        var stalled = await e.StepAsync(step.Id);
        Assert.Equal(ChainStepStatuses.Stalled, stalled.Status);
        Assert.Equal($"no heartbeat from worker trainer-a since {t0:u}; no worker alive for queue {Queue}", stalled.Reason);
        Assert.Equal((0, 1), (stalled.Restarts, stalled.Attempts));
        Assert.Equal(1, await e.OutboxCountAsync<PretrainModel>(step.JobId));    // nobody could take it: not re-sent
        Assert.Equal(ChainStatuses.Running, (await e.ChainAsync(step.ChainId)).Status);   // stalled is not final

        // Another pass changes nothing while the situation is the same.
        e.Clock.Advance(TimeSpan.FromSeconds(10));
        await e.ReconcileAsync();
        Assert.Equal((ChainStepStatuses.Stalled, stalled.Reason, stalled.Version), ((await e.StepAsync(step.Id)).Status, (await e.StepAsync(step.Id)).Reason, (await e.StepAsync(step.Id)).Version));

        // A new trainer takes the redelivered job (its second start): running again, the restart counted.
        await e.BeatAsync("trainer-b", Job(step, starts: 2, at: 40));
        var back = await e.StepAsync(step.Id);
        Assert.Equal((ChainStepStatuses.Running, "trainer-b", 40L, 1), (back.Status, back.Worker, back.ProgressStep, back.Restarts));
        Assert.StartsWith("running again on worker trainer-b", back.Reason);
        Assert.Equal(ChainStatuses.Running, (await e.ChainAsync(step.ChainId)).Status);
    }

    [Fact]
    public async Task A_silent_job_waits_while_the_workers_are_busy_and_is_re_dispatched_with_the_same_job_id_when_one_is_idle()
    {
        await using var e = await EngineAsync();
        var step = await e.SubmitAsync(Spec(NewDataset()));
        var t0 = e.Clock.Now;
        await e.BeatAsync("trainer-a", Job(step));
        var other = Guid.NewGuid();

        // A second trainer is alive but busy with another job: the lost job cannot be taken, so it is not re-sent.
        e.Clock.Advance(Lease + TimeSpan.FromSeconds(1));
        await e.BeatAsync("trainer-busy", new JobHeartbeat(other, "pretrain", null, new string('a', 64), 1, 10, 1, DateTimeOffset.UtcNow));
        await e.ReconcileAsync();
        var waiting = await e.StepAsync(step.Id);
        Assert.Equal((ChainStepStatuses.Stalled, 0, 1), (waiting.Status, waiting.Restarts, waiting.Attempts));
        Assert.Equal($"no heartbeat from worker trainer-a since {t0:u}; 1 worker(s) alive for queue {Queue}, all busy: the job waits for one", waiting.Reason);

        // The busy trainer finishes and is idle: the job was lost (an idle worker would have taken it), so it is sent again.
        e.Clock.Advance(TimeSpan.FromSeconds(5));
        await e.BeatAsync("trainer-busy");
        await e.ReconcileAsync();
        var redispatched = await e.StepAsync(step.Id);
        Assert.Equal((ChainStepStatuses.Stalled, 1, 2), (redispatched.Status, redispatched.Restarts, redispatched.Attempts));
        Assert.Equal($"no heartbeat from worker trainer-a since {t0:u}; 1 worker(s) alive for queue {Queue} (1 idle), re-dispatching (restart 1 of at most 2)", redispatched.Reason);
        Assert.Equal(2, await e.OutboxCountAsync<PretrainModel>(step.JobId));   // the same job id, a new message
        Assert.True((redispatched.DispatchedAt!.Value - e.Clock.Now).Duration() < TimeSpan.FromMilliseconds(1));

        // Within a lease of the re-dispatch nothing more is sent; the idle trainer then takes it (start 2 on the shared work dir).
        e.Clock.Advance(TimeSpan.FromSeconds(10));
        await e.BeatAsync("trainer-busy");
        await e.ReconcileAsync();
        Assert.Equal(2, await e.OutboxCountAsync<PretrainModel>(step.JobId));
        await e.BeatAsync("trainer-busy", Job(step, starts: 2, at: 1));
        var taken = await e.StepAsync(step.Id);
        Assert.Equal((ChainStepStatuses.Running, "trainer-busy", 1), (taken.Status, taken.Worker, taken.Restarts));   // the same restart, not counted twice

        await using var db = e.Host.Db();
        var worker = await db.Workers.AsNoTracking().SingleAsync(w => w.Name == "trainer-busy");
        Assert.Equal(("pretrain", Queue, "trainer", (Guid?)step.JobId), (worker.JobKind, worker.Queue, worker.Service, worker.RunningJobId));
    }

    [Fact]
    public async Task A_job_lost_more_often_than_max_restarts_fails_its_step_and_chain_with_the_reason()
    {
        await using var e = await EngineAsync(maxRestarts: 3);

        // The chain's own bound (spec.maxRestarts = 1), through re-dispatches: a worker is idle each time, the job never beats.
        var step = await e.SubmitAsync(Spec(NewDataset()) with { MaxRestarts = 1 });
        var t0 = e.Clock.Now;
        await e.BeatAsync("trainer-a", Job(step));
        e.Clock.Advance(Lease + TimeSpan.FromSeconds(1));
        await e.BeatAsync("trainer-idle");
        await e.ReconcileAsync();
        Assert.Equal((ChainStepStatuses.Stalled, 1), ((await e.StepAsync(step.Id)).Status, (await e.StepAsync(step.Id)).Restarts));
        e.Clock.Advance(Lease + TimeSpan.FromSeconds(1));
        await e.BeatAsync("trainer-idle");
        await e.ReconcileAsync();

        var failed = await e.StepAsync(step.Id);
        var reason = $"pretrain seed=43: job {step.JobId} lost again after 1 restart(s) (no heartbeat from worker trainer-a since {t0:u}; " +
                     $"1 idle worker(s) alive for queue {Queue}): more than max restarts 1; a poison job";
        Assert.Equal((ChainStepStatuses.Failed, reason, 1), (failed.Status, failed.Reason, failed.Restarts));
        var chain = await e.ChainAsync(step.ChainId);
        Assert.Equal((ChainStatuses.Failed, reason, step.StepKey), (chain.Status, chain.Reason, chain.FailedStepKey));
        Assert.Equal(2, await e.OutboxCountAsync<PretrainModel>(step.JobId));     // one dispatch, one restart, no third
        Assert.Equal(1, await e.OutboxCountAsync<CancelJob>(step.JobId));         // a worker still holding it stops
        Assert.Equal(1, await e.OutboxCountAsync<ChainFailed>(step.ChainId));

        // The coordinator's bound (3), through the start count a worker reports: its fifth start is its fourth restart.
        var poison = await e.SubmitAsync(Spec(NewDataset()));
        await e.BeatAsync("trainer-c", Job(poison, starts: 5));
        var poisoned = await e.StepAsync(poison.Id);
        var why = $"pretrain seed=43: job {poison.JobId} was started 5 times without finishing (its worker died each time; last on worker trainer-c): " +
                  "more than max restarts 3; a poison job";
        Assert.Equal((ChainStepStatuses.Failed, why, 4), (poisoned.Status, poisoned.Reason, poisoned.Restarts));
        Assert.Equal((ChainStatuses.Failed, why), ((await e.ChainAsync(poison.ChainId)).Status, (await e.ChainAsync(poison.ChainId)).Reason));
        Assert.Equal(1, await e.OutboxCountAsync<CancelJob>(poison.JobId));

        // At the bound itself (the fourth start is the third restart) the job goes on.
        var last = await e.SubmitAsync(Spec(NewDataset()));
        await e.BeatAsync("trainer-d", Job(last, starts: 4));
        Assert.Equal((ChainStepStatuses.Running, 3), ((await e.StepAsync(last.Id)).Status, (await e.StepAsync(last.Id)).Restarts));
    }

    [Fact]
    public async Task Cancelling_a_chain_with_a_stalled_step_asks_its_job_to_stop_and_ends_cancelled()
    {
        await using var e = await EngineAsync();
        var step = await e.SubmitAsync(Spec(NewDataset()));
        await e.BeatAsync("trainer-a", Job(step));
        e.Clock.Advance(Lease + TimeSpan.FromSeconds(1));
        await e.ReconcileAsync();
        Assert.Equal(ChainStepStatuses.Stalled, (await e.StepAsync(step.Id)).Status);

        var store = e.Host.Services.GetRequiredService<ChainStore>();
        var engine = e.Host.Services.GetRequiredService<ChainEngine>();
        await store.RunAsync(null, null, db => engine.CancelAsync(db, new CancelChain(step.ChainId, "operator", e.Clock.Now), CancellationToken.None), CancellationToken.None);
        Assert.Equal(ChainStatuses.Cancelling, (await e.ChainAsync(step.ChainId)).Status);   // stalled is active: its job may still answer
        Assert.Equal(1, await e.OutboxCountAsync<CancelJob>(step.JobId));
        await store.RunAsync(null, null, db => engine.OnJobCancelledAsync(db,
            new JobCancelled(step.JobId, "pretrain", "operator", step.ChainId, step.StepKey, e.Clock.Now), CancellationToken.None), CancellationToken.None);
        Assert.Equal((ChainStatuses.Cancelled, ChainStepStatuses.Cancelled), ((await e.ChainAsync(step.ChainId)).Status, (await e.StepAsync(step.Id)).Status));
    }

    [Fact]
    public async Task A_completion_that_arrives_after_the_step_stalled_still_completes_the_chain()
    {
        // Through the broker, with a 1 s lease: the trainer takes the job, beats once and goes silent (its completion
        // sat in an error queue while the database was away); the completion then arrives after all.
        await using var host = await CreateAsync(servers, _db, output, s => s with
        {
            Options = s.Options with { HeartbeatLease = TimeSpan.FromSeconds(1), ReconcileInterval = TimeSpan.FromMilliseconds(200) },
        });
        host.World.Pretrain = _ => Act.Ignore;
        var submit = Submit(Spec(NewDataset()));
        await host.Bus.Publish(submit);
        await host.EventuallyAsync(_ => Task.FromResult(host.World.Commands<PretrainModel>().Count(p => p.ChainId == submit.ChainId)), n => n == 1);
        var command = host.World.Commands<PretrainModel>().Single(p => p.ChainId == submit.ChainId);

        await host.Bus.Publish(new WorkerHeartbeat("trainer-x", "trainer", [new WorkerQueue("pretrain", Queue)],
            [new JobHeartbeat(command.JobId, "pretrain", submit.ChainId, command.StepKey, 3, 100, 1, DateTimeOffset.UtcNow)], DateTimeOffset.UtcNow));
        var stalled = await host.EventuallyAsync(db => db.ChainSteps.AsNoTracking().SingleAsync(s => s.JobId == command.JobId && s.ChainId == submit.ChainId),
            s => s.Status == ChainStepStatuses.Stalled);
        Assert.StartsWith("no heartbeat from worker trainer-x since ", stalled.Reason);
        Assert.EndsWith($"; no worker alive for queue {Queue}", stalled.Reason);
        Assert.Equal(("trainer-x", 3L), (stalled.Worker, stalled.ProgressStep));

        await host.Bus.Publish(new PretrainCompleted(command.JobId, submit.ChainId, command.StepKey, FakeWorld.CheckpointSha(command.StepKey),
            $"file:///artifacts/{command.JobId:N}.ckpt", 100, 1, [new MetricValue("loss", 0.5)], DateTimeOffset.UtcNow));
        await host.Events.WaitForAsync<ChainCompleted>(c => c.ChainId == submit.ChainId);
        var steps = await host.StepsAsync(submit.ChainId);
        var pretrain = steps.Single(s => s.Kind == ChainStepKinds.Pretrain);
        Assert.Equal((ChainStepStatuses.Succeeded, FakeWorld.CheckpointSha(command.StepKey), 0), (pretrain.Status, pretrain.ResultRef, pretrain.Restarts));
        Assert.All(steps, s => Assert.True(ChainStepStatuses.IsDone(s.Status), $"{s.Label}: {s.Status}"));
        Assert.Single(host.World.Commands<PretrainModel>(), p => p.ChainId == submit.ChainId);   // no worker was alive: never re-sent
    }

    /// <summary>Every context it creates fails to connect while <see cref="Down"/> is set, like a PostgreSQL that is restarting.</summary>
    private sealed class OutageFactory(string connectionString) : IDbContextFactory<ResultsDbContext>
    {
        public volatile bool Down;
        private int refused;
        public int Refused => Volatile.Read(ref refused);

        public ResultsDbContext CreateDbContext()
        {
            if (Down)
            {
                Interlocked.Increment(ref refused);
                throw new Npgsql.NpgsqlException("Failed to connect to 127.0.0.1:5432 (simulated restart)", new SocketException((int)SocketError.ConnectionRefused));
            }
            return ResultsDbContextOptions.CreateContext(connectionString);
        }
    }

    [Fact]
    public async Task The_event_consumers_ride_out_a_database_outage_within_the_retry_window()
    {
        // The bus retries a transient failure for its window (default 3 minutes: RabbitMqSettings.DefaultRetryWindow);
        // here an 8 s window and a 3 s outage, during which the completion of a pre-training arrives.
        var outage = new OutageFactory(_db.ConnectionString);
        await using var host = await CreateAsync(servers, _db, output,
            s => s with { RabbitMq = s.RabbitMq with { RetryIntervals = RabbitMqSettings.Backoff(TimeSpan.FromSeconds(8)) } },
            configureServices: s => s.AddSingleton<IDbContextFactory<ResultsDbContext>>(outage));
        Assert.Same(outage, host.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>());
        host.World.Pretrain = _ => Act.Ignore;
        var submit = Submit(Spec(NewDataset()));
        await host.Bus.Publish(submit);
        await host.EventuallyAsync(_ => Task.FromResult(host.World.Commands<PretrainModel>().Count(p => p.ChainId == submit.ChainId)), n => n == 1);
        var command = host.World.Commands<PretrainModel>().Single(p => p.ChainId == submit.ChainId);

        outage.Down = true;
        var completed = NewId.NextGuid();
        await host.Bus.Publish(new PretrainCompleted(command.JobId, submit.ChainId, command.StepKey, FakeWorld.CheckpointSha(command.StepKey),
            "file:///c.ckpt", 100, 1, [], DateTimeOffset.UtcNow), c => c.MessageId = completed);
        // A heartbeat that meets the outage is dropped at once (the next one renews the lease), not retried and dead-lettered.
        var beat = NewId.NextGuid();
        await host.Bus.Publish(new WorkerHeartbeat("trainer-o", "trainer", [new WorkerQueue("pretrain", Queue)], [], DateTimeOffset.UtcNow), c => c.MessageId = beat);
        await host.Consumed.WaitAsync("-worker-heartbeat", beat, 1);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.True(outage.Refused > 0, "the consumer did not meet the outage");
        Assert.Equal(ChainStepStatuses.Dispatched, (await host.StepsAsync(submit.ChainId)).Single().Status);
        outage.Down = false;

        await host.Events.WaitForAsync<ChainCompleted>(c => c.ChainId == submit.ChainId);
        Assert.Equal(1, host.Consumed.Count("-chain-event", completed));   // handled once, by a retry, not dead-lettered
        await using (var db = host.Db())
            Assert.False(await db.Workers.AnyAsync(w => w.Name == "trainer-o"));   // the dropped heartbeat
        Assert.True(RabbitMqSettings.DefaultRetryWindow >= TimeSpan.FromSeconds(30));
    }
}
