using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Quartz;
using UniCode.Integration.Tests.Infrastructure;
using UniCode.Persistence;

namespace UniCode.Integration.Tests.Persistence;

/// <summary>
/// A Quartz scheduler with the PostgreSQL job store runs on a database that only our migrations
/// prepared. Quartz's default SchemaProvisioning.Validate refuses to start when its tables are
/// missing or wrong, so a start proves the QuartzJobStore migration made the schema Quartz expects.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class QuartzJobStoreTests(ServerFixture servers)
{
    public sealed class Signal
    {
        public TaskCompletionSource<string> Fired { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public sealed class SignalJob(Signal signal) : IJob
    {
        public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
        {
            signal.Fired.TrySetResult(context.JobDetail.Key.Name);
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task Scheduler_persists_and_fires_jobs_in_the_migrated_job_store()
    {
        var db = await servers.DatabaseForClassAsync(typeof(QuartzJobStoreTests));
        await DatabaseMigrator.MigrateAsync(db.ConnectionString, CancellationToken.None);
        var services = new ServiceCollection().AddLogging().AddSingleton<Signal>();
        services.AddQuartz(q =>
        {
            q.UsePersistentStore(s => s.UsePostgres(db.ConnectionString));   // validate only: no ProvisionSchema()
        });
        await using var provider = services.BuildServiceProvider();
        var scheduler = await provider.GetRequiredService<ISchedulerFactory>().GetScheduler();
        await scheduler.Start();
        try
        {
            await scheduler.ScheduleJob(
                JobBuilder.Create<SignalJob>().WithIdentity("nightly-reevaluation").Build(),
                TriggerBuilder.Create().WithIdentity("nightly").WithCronSchedule("0 0 3 * * ?").Build());
            await scheduler.ScheduleJob(
                JobBuilder.Create<SignalJob>().WithIdentity("now").Build(),
                TriggerBuilder.Create().WithIdentity("now").StartNow().Build());

            Assert.Equal("now", await provider.GetRequiredService<Signal>().Fired.Task.WaitAsync(TimeSpan.FromSeconds(30)));
            await using var connection = db.OpenConnection();
            await using var command = new NpgsqlCommand(
                "SELECT t.trigger_name || ' ' || c.cron_expression FROM qrtz_triggers t " +
                "JOIN qrtz_cron_triggers c USING (sched_name, trigger_name, trigger_group) WHERE t.job_name = 'nightly-reevaluation'", connection);
            Assert.Equal("nightly 0 0 3 * * ?", await command.ExecuteScalarAsync());
        }
        finally
        {
            await scheduler.Shutdown(waitForJobsToComplete: true);
        }
    }
}
