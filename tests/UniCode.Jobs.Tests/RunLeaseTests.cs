using Microsoft.EntityFrameworkCore;
using UniCode.Contracts.Common;
using UniCode.Contracts.Pretraining;
using UniCode.Jobs.Tests.Infrastructure;
using UniCode.Persistence;
using UniCode.Persistence.Entities;
using TrainerProgram = UniCode.Trainer.Program;

namespace UniCode.Jobs.Tests;

/// <summary>
/// A job runs on one worker at a time: the worker that starts it holds its run row (runs.worker) while its heartbeat renews
/// the lease (runs.lease_renewed_at); another delivery of the job waits, and takes it over only once the lease lapsed.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class RunLeaseTests(ServerFixture servers)
{
    private sealed class Contexts(string connectionString) : IDbContextFactory<ResultsDbContext>
    {
        public ResultsDbContext CreateDbContext() => ResultsDbContextOptions.CreateContext(connectionString);
    }

    private static readonly DateTimeOffset T0 = new(2026, 12, 8, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    private static JobIdentity Identity(PretrainModel m) => new(m.JobId, m.ChainId, m.StepKey, m.Run, m.RequestedAt);

    [Fact]
    public async Task A_running_run_is_held_by_its_worker_until_its_lease_lapses_and_the_old_holder_learns_it_lost_it()
    {
        await using var world = await JobWorld.StartAsync(servers, GetType());
        await DatabaseMigrator.MigrateAsync(world.ConnectionString, CancellationToken.None);   // no host here migrates it
        var time = new ManualClock(T0);
        var ledger = new RunLedger(new Contexts(world.ConnectionString), time);
        var job = Identity(JobWorld.Pretrain(JobWorld.TinyConfig(), "lease-ledger"));
        var onA = new HashSet<Guid>();
        var onB = new HashSet<Guid>();
        var a = new RunClaimant("worker-a", Lease, onA.Contains);
        var b = new RunClaimant("worker-b", Lease, onB.Contains);
        async Task<Run> Row()
        {
            await using var db = world.Db();
            return await db.Runs.AsNoTracking().SingleAsync(r => r.Id == job.JobId);
        }

        Assert.Equal(new RunClaim(RunStart.Started), await ledger.BeginAsync("pretrain", job, "cpu @ a", a, CancellationToken.None));
        onA.Add(job.JobId);
        var row = await Row();
        Assert.Equal((RunStatuses.Running, "worker-a", T0), (row.Status, row.Worker, row.LeaseRenewedAt));

        // Another worker, 10 s later: a duplicate, held by worker-a.
        time.Now = T0.AddSeconds(10);
        Assert.Equal(new RunClaim(RunStart.HeldElsewhere, "worker-a", T0), await ledger.BeginAsync("pretrain", job, "cpu @ b", b, CancellationToken.None));

        // worker-a's heartbeat at 20 s renews the lease: at 45 s (25 s after it) the run is still held.
        time.Now = T0.AddSeconds(20);
        Assert.Empty(await ledger.RenewLeasesAsync("worker-a", [job.JobId], CancellationToken.None));
        Assert.Equal(T0.AddSeconds(20), (await Row()).LeaseRenewedAt);
        time.Now = T0.AddSeconds(45);
        Assert.Equal(new RunClaim(RunStart.HeldElsewhere, "worker-a", T0.AddSeconds(20)), await ledger.BeginAsync("pretrain", job, "cpu @ b", b, CancellationToken.None));

        // worker-a falls silent: 31 s after its last renewal worker-b takes the run over ...
        time.Now = T0.AddSeconds(51);
        Assert.Equal(new RunClaim(RunStart.Started), await ledger.BeginAsync("pretrain", job, "cpu @ b", b, CancellationToken.None));
        onB.Add(job.JobId);
        row = await Row();
        Assert.Equal((RunStatuses.Running, "worker-b", T0.AddSeconds(51), "cpu @ b"), (row.Status, row.Worker, row.LeaseRenewedAt, row.Device));

        // ... and worker-a's next renewal leaves the row alone and names the new holder.
        time.Now = T0.AddSeconds(52);
        Assert.Equal(new Dictionary<Guid, string> { [job.JobId] = "worker-b" }, await ledger.RenewLeasesAsync("worker-a", [job.JobId], CancellationToken.None));
        Assert.Equal(("worker-b", T0.AddSeconds(51)), ((await Row()).Worker, (await Row()).LeaseRenewedAt));

        // A second delivery to the holder itself while it runs there is a duplicate too; a worker of the same name that
        // does not run it (restarted with a fixed UNICODE_WORKER_NAME) is the holder's earlier life and takes it at once.
        Assert.Equal(new RunClaim(RunStart.HeldElsewhere, "worker-b", T0.AddSeconds(51)), await ledger.BeginAsync("pretrain", job, "cpu @ b", b, CancellationToken.None));
        onB.Clear();
        time.Now = T0.AddSeconds(53);
        Assert.Equal(new RunClaim(RunStart.Started), await ledger.BeginAsync("pretrain", job, "cpu @ b2", b, CancellationToken.None));

        // A finished run is no one's: a later delivery only re-publishes.
        await ledger.SucceededAsync(job.JobId, CancellationToken.None);
        Assert.Empty(await ledger.RenewLeasesAsync("worker-a", [job.JobId], CancellationToken.None));
        Assert.Equal(new RunClaim(RunStart.AlreadySucceeded), await ledger.BeginAsync("pretrain", job, "cpu @ a", a, CancellationToken.None));
    }

    [Fact]
    public async Task The_same_job_delivered_to_two_workers_at_once_is_trained_once_and_the_duplicate_republishes_its_completion()
    {
        await using var world = await JobWorld.StartAsync(servers, GetType());
        // Step 2 of the first run waits 2 s, so the second delivery surely arrives while the job runs.
        var paused = 0;
        var hook = new ProgressHook((_, p, token) =>
        {
            if (p.Step == 2 && Interlocked.Exchange(ref paused, 1) == 0) token.WaitHandle.WaitOne(TimeSpan.FromSeconds(2));
        });
        await world.StartHostAsync("trainer", "trainer-a", TrainerProgram.AddConsumers, hook);
        await world.StartHostAsync("trainer", "trainer-b", TrainerProgram.AddConsumers, hook);
        var job = JobWorld.Pretrain(JobWorld.TinyConfig(epochs: 3), "lease-duplicate");

        await world.Bus.Publish(job);
        await world.Bus.Publish(job);
        var completions = await world.Events.WaitForAsync<PretrainCompleted>(c => c.JobId == job.JobId, count: 2);

        // Trained once: every step reported once, both completions name the one checkpoint.
        Assert.Equal([1L, 2, 3, 4, 5, 6], world.Events.All<PretrainProgressed>(p => p.JobId == job.JobId).Select(p => p.Step).Order());
        Assert.Equal(completions[0].CheckpointSha256, completions[1].CheckpointSha256);
        Assert.Equal(completions[0].Metrics, completions[1].Metrics);
        Assert.Contains(new MetricValue("resumed_from_step", 0), completions[0].Metrics);
        await using var db = world.Db();
        var run = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == job.JobId);
        Assert.Equal(RunStatuses.Succeeded, run.Status);
        Assert.Contains(run.Worker, new[] { "trainer-a", "trainer-b" });
        Assert.Equal($"cpu @ {run.Worker}", run.Device);
        Assert.Empty(world.Events.All<JobFailed>(f => f.JobId == job.JobId));
    }

    [Fact]
    public async Task A_worker_whose_run_was_taken_over_stops_it_silently_and_a_delivery_after_the_new_holders_lease_lapsed_finishes_it()
    {
        await using var world = await JobWorld.StartAsync(servers, GetType());
        var paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopped = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pausedOnce = 0;
        var hook = new ProgressHook((_, point, token) =>
        {
            if (point.Step != 3 || Interlocked.Exchange(ref pausedOnce, 1) != 0) return;   // after the checkpoint of step 2
            paused.SetResult();
            stopped.SetResult(token.WaitHandle.WaitOne(JobWorld.Wait));   // true: the job's token fired
        });
        await world.StartHostAsync("trainer", "trainer-a", TrainerProgram.AddConsumers, _ => { }, s => s with { Lease = TimeSpan.FromSeconds(2) }, hook);
        var job = JobWorld.Pretrain(JobWorld.TinyConfig(epochs: 3), "lease-lost");
        await world.Bus.Publish(job);
        await paused.Task.WaitAsync(JobWorld.Wait);

        // Another worker ("ghost") took the run over, as it would after trainer-a's renewals failed for a whole lease.
        await using (var db = world.Db())
            await db.Runs.Where(r => r.Id == job.JobId).ExecuteUpdateAsync(u => u.SetProperty(r => r.Worker, "ghost").SetProperty(r => r.LeaseRenewedAt, DateTimeOffset.UtcNow));

        // trainer-a's next heartbeat (every 200 ms) sees it and stops the job, leaving the row and the completion to the ghost.
        Assert.True(await stopped.Task.WaitAsync(JobWorld.Wait), "the job's token did not fire after another worker took its run over");
        await Task.Delay(1000);
        Assert.Empty(world.Events.All<PretrainCompleted>(c => c.JobId == job.JobId));
        Assert.Empty(world.Events.All<JobFailed>(f => f.JobId == job.JobId));
        Assert.Empty(world.Events.All<JobCancelled>(c => c.JobId == job.JobId));
        await using (var db = world.Db())
        {
            var row = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == job.JobId);
            Assert.Equal((RunStatuses.Running, "ghost"), (row.Status, row.Worker));
        }

        // The ghost dies: a delivery of the job waits out its 2 s lease on trainer-a, takes the job over and finishes it
        // from the checkpoint trainer-a wrote at step 2.
        await world.Bus.Publish(job);
        var completed = (await world.Events.WaitForAsync<PretrainCompleted>(c => c.JobId == job.JobId)).Single();
        Assert.Equal(6L, completed.Step);
        Assert.Contains(new MetricValue("resumed_from_step", 2), completed.Metrics);
        await using (var db = world.Db())
        {
            var row = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == job.JobId);
            Assert.Equal((RunStatuses.Succeeded, "trainer-a"), (row.Status, row.Worker));
        }
    }
}
