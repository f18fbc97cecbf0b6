using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using UniCode.Contracts.Common;
using UniCode.Contracts.Pretraining;
using UniCode.Jobs.Tests.Infrastructure;
using UniCode.Messaging;
using UniCode.Persistence;
using UniCode.Persistence.Entities;
using TrainerProgram = UniCode.Trainer.Program;

namespace UniCode.Jobs.Tests;

/// <summary>
/// Heartbeats of the job service hosts and finishing a job across a database outage (issue 10, items 1 and 2), on the
/// real broker and database with the tiny pre-training model.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class HeartbeatAndRetryTests(ServerFixture servers)
{
    /// <summary>
    /// The results database through an interceptor that makes the first <paramref name="failures"/> writes of a run
    /// as succeeded fail as a restarting database would (transient), and counts the writes that (re)start a run.
    /// </summary>
    private sealed class FlakySuccessWrites(string connectionString, int failures) : SaveChangesInterceptor, IDbContextFactory<ResultsDbContext>
    {
        private int left = failures;
        private int thrown;
        private int starts;
        public int Thrown => Volatile.Read(ref thrown);
        public int RunStartWrites => Volatile.Read(ref starts);

        public ResultsDbContext CreateDbContext()
        {
            var builder = new DbContextOptionsBuilder<ResultsDbContext>();
            ResultsDbContextOptions.Configure(builder, connectionString);
            builder.AddInterceptors(this);
            return new ResultsDbContext(builder.Options);
        }

        public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            var runs = eventData.Context!.ChangeTracker.Entries<Run>().Where(r => r.State is EntityState.Added or EntityState.Modified).ToList();
            if (runs.Any(r => r.Entity.Status == RunStatuses.Running)) Interlocked.Increment(ref starts);
            if (runs.Any(r => r.Entity.Status == RunStatuses.Succeeded) && Interlocked.Decrement(ref left) >= 0)
            {
                Interlocked.Increment(ref thrown);
                throw new TimeoutException("simulated: the database is restarting");
            }
            return base.SavingChangesAsync(eventData, result, cancellationToken);
        }
    }

    [Fact]
    public async Task A_finished_job_whose_success_write_fails_transiently_retries_the_write_not_the_job()
    {
        await using var world = await JobWorld.StartAsync(servers, GetType());
        var flaky = new FlakySuccessWrites(world.ConnectionString, failures: 2);   // the test workers retry 3 times
        await world.StartHostAsync("trainer", "trainer-flaky", TrainerProgram.AddConsumers,
            s => s.AddSingleton<IDbContextFactory<ResultsDbContext>>(flaky), s => s);
        var job = JobWorld.Pretrain(JobWorld.TinyConfig(epochs: 1), "flaky-success");

        await world.Bus.Publish(job);
        await world.Events.WaitForAsync<PretrainCompleted>(c => c.JobId == job.JobId);
        await Task.Delay(500);   // anything that would follow (a second completion, a JobFailed) has time to arrive

        Assert.Equal(2, flaky.Thrown);                 // the outage was met twice...
        Assert.Equal(1, flaky.RunStartWrites);         // ...and the job started once: the write was retried, not the message
        Assert.Single(world.Events.All<PretrainCompleted>(c => c.JobId == job.JobId));
        Assert.Empty(world.Events.All<JobFailed>(f => f.JobId == job.JobId));
        await using var db = world.Db();
        var run = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == job.JobId);
        Assert.Equal((RunStatuses.Succeeded, (string?)null), (run.Status, run.Error));
    }

    [Fact]
    public async Task A_worker_announces_itself_idle_and_reports_its_running_job_with_progress_and_start_count_between_throttled_events()
    {
        await using var world = await JobWorld.StartAsync(servers, GetType());
        var atStep3 = new ManualResetEventSlim();
        var release = new ManualResetEventSlim();
        var hook = new ProgressHook((_, point, _) =>
        {
            if (point.Step != 3) return;
            atStep3.Set();
            release.Wait(TimeSpan.FromSeconds(60));   // hold the job thread: the heartbeat must still go out
        });
        // Progress events at most once an hour: only the first and the last step pass the throttle.
        await world.StartHostAsync("trainer", "trainer-beat", TrainerProgram.AddConsumers, _ => { }, s => s with { ProgressInterval = TimeSpan.FromHours(1) }, hook);
        var queue = JobQueues.For("pretrain", world.Rabbit.Prefix);

        var idle = (await world.Events.WaitForAsync<WorkerHeartbeat>(h => h.Worker == "trainer-beat"))[0];
        Assert.Equal(("trainer", 0), (idle.Service, idle.Jobs.Count));
        Assert.Equal([new WorkerQueue("pretrain", queue)], idle.Queues);   // the queue the trainer really consumes, as the orchestrator names it
        Assert.EndsWith("pretrain-model", queue);

        var job = JobWorld.Pretrain(JobWorld.TinyConfig(epochs: 2), "heartbeat");   // 4 steps
        await world.Bus.Publish(job);
        Assert.True(atStep3.Wait(TimeSpan.FromSeconds(90)), "the job did not reach step 3");
        try
        {
            var beat = (await world.Events.WaitForAsync<WorkerHeartbeat>(h => h.Worker == "trainer-beat" && h.Jobs.Any(j => j.JobId == job.JobId && j.Step == 3)))[0];
            var running = Assert.Single(beat.Jobs);
            Assert.Equal(("pretrain", job.ChainId, job.StepKey, 3L, 4L, 1), (running.JobKind, running.ChainId, running.StepKey, running.Step, running.TotalSteps, running.Starts));
            Assert.DoesNotContain(world.Events.All<PretrainProgressed>(p => p.JobId == job.JobId), p => p.Step == 3);   // throttled: only the heartbeat says so
        }
        finally
        {
            release.Set();
        }
        await world.Events.WaitForAsync<PretrainCompleted>(c => c.JobId == job.JobId);
        var done = world.Events.All<PretrainCompleted>(c => c.JobId == job.JobId).Count;
        // Idle again afterwards: a heartbeat without the job.
        var count = world.Events.All<WorkerHeartbeat>(h => h.Worker == "trainer-beat").Count;
        var after = await world.Events.WaitForAsync<WorkerHeartbeat>(h => h.Worker == "trainer-beat", count: count + 2);
        Assert.Empty(after[^1].Jobs);
        Assert.Equal(1, done);
    }
}
