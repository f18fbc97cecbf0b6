using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Quartz;
using UniCode.Messaging;
using UniCode.Orchestrator.Chains;
using UniCode.Orchestrator.Consumers;
using UniCode.Orchestrator.Reevaluation;
using UniCode.Persistence;
using UniCode.Persistence.Outbox;

namespace UniCode.Orchestrator.Hosting;

/// <summary>Everything the orchestrator host needs; Program.cs reads it from the environment, tests build it.</summary>
/// <param name="Database">The results database (UNICODE_PG).</param>
/// <param name="RabbitMq">The broker (UNICODE_RABBITMQ_*).</param>
/// <param name="Options">The coordinator's settings.</param>
public sealed record OrchestratorHostSettings(DatabaseSettings Database, RabbitMqSettings RabbitMq, OrchestratorOptions Options)
{
    public OutboxOptions Outbox { get; init; } = new();

    /// <summary>Apply pending migrations when the host starts (first hosted service).</summary>
    public bool MigrateAtStartup { get; init; } = true;

    /// <summary>Run the outbox dispatcher (tests turn it off to leave committed rows unpublished).</summary>
    public bool RunOutboxDispatcher { get; init; } = true;

    public bool RunReconciler { get; init; } = true;

    /// <summary>Run the Quartz scheduler with the re-evaluation job.</summary>
    public bool RunScheduler { get; init; } = true;

    /// <summary>Extra consumers on the same bus (tests add fake workers here).</summary>
    public Action<IBusRegistrationConfigurator>? ConfigureConsumers { get; init; }

    /// <summary>Extra broker-level settings (tests make queues and exchanges auto-delete).</summary>
    public Action<IBusRegistrationContext, IRabbitMqBusFactoryConfigurator>? ConfigureBus { get; init; }
}

public static class OrchestratorServiceCollectionExtensions
{
    /// <summary>
    /// The orchestrator: results database (+ migration at start), bus with the chain consumers,
    /// outbox dispatcher, reconciler, and the Quartz scheduler (PostgreSQL job store, clustered) with
    /// the nightly re-evaluation. Hosted services start in this order: migration, bus, dispatcher,
    /// reconciler, scheduler (and stop in reverse).
    /// </summary>
    public static IServiceCollection AddOrchestrator(this IServiceCollection services, OrchestratorHostSettings settings)
    {
        var options = settings.Options.Validate();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddResultsDatabase(settings.Database);
        if (settings.MigrateAtStartup) services.AddResultsDatabaseMigrationAtStartup();

        services.AddSingleton<ChainSpecParser>();
        services.AddSingleton<ChainEngine>();
        services.AddSingleton<ChainStore>();
        services.AddSingleton<ReevaluationPlanner>();

        // Queue names say whose queues they are ("orchestrator-chain-event"); other services consume
        // the same events on queues of their own.
        var prefix = string.IsNullOrEmpty(settings.RabbitMq.Prefix) ? "" : settings.RabbitMq.Prefix + "-";
        services.AddUniCodeBus(settings.RabbitMq, x =>
        {
            x.AddConsumer<ChainCommandConsumer>().Endpoint(e => e.Name = prefix + "orchestrator-chain-command");
            x.AddConsumer<ChainEventConsumer>().Endpoint(e => e.Name = prefix + "orchestrator-chain-event");
            x.AddConsumer<JobProgressConsumer>().Endpoint(e => e.Name = prefix + "orchestrator-job-progress");
            x.AddConsumer<WorkerHeartbeatConsumer>().Endpoint(e => e.Name = prefix + "orchestrator-worker-heartbeat");
            if (settings.RunScheduler)
                x.AddConsumer<TriggerReevaluationConsumer>().Endpoint(e => e.Name = prefix + "orchestrator-trigger-reevaluation");
            settings.ConfigureConsumers?.Invoke(x);
        }, settings.ConfigureBus);
        // The dispatcher must not publish into a bus that is still connecting.
        services.Configure<MassTransitHostOptions>(o =>
        {
            o.WaitUntilStarted = true;
            o.StartTimeout = TimeSpan.FromSeconds(60);
            o.StopTimeout = TimeSpan.FromSeconds(30);
        });

        // Registered even when not run, so a test can start it late (a crash between commit and publish).
        services.AddOutboxDispatcher<MassTransitOutboxPublisher>(settings.Outbox, settings.RunOutboxDispatcher);

        services.AddSingleton<ChainReconciler>();
        if (settings.RunReconciler) services.AddHostedService(sp => sp.GetRequiredService<ChainReconciler>());

        if (settings.RunScheduler) AddScheduler(services, settings);
        return services;
    }

    private static void AddScheduler(IServiceCollection services, OrchestratorHostSettings settings)
    {
        var options = settings.Options;
        services.AddQuartz(options.SchedulerName, q =>
        {
            // The qrtz_ tables come from the QuartzJobStore migration: no ProvisionSchema(), Quartz
            // only validates them. Clustered: every orchestrator instance shares the schedule, and
            // a trigger fires on one of them.
            q.UsePersistentStore(s =>
            {
                s.UsePostgres(settings.Database.ConnectionString);
                s.UseClustering(c =>
                {
                    c.CheckinInterval = TimeSpan.FromSeconds(10);
                    c.CheckinMisfireThreshold = TimeSpan.FromSeconds(20);
                });
            });
            q.AddJob<ReevaluateCheckpointsJob>(j => j.WithIdentity(ReevaluateCheckpointsJob.Key).StoreDurably()
                .WithDescription("Submit a re-evaluation chain for every (checkpoint, evaluation suite, eval code version) without results"));
            q.AddTrigger(t => t.ForJob(ReevaluateCheckpointsJob.Key).WithIdentity(ReevaluateCheckpointsJob.NightlyTrigger)
                .WithCronSchedule(options.ReevaluationCron, c => c.InTimeZone(TimeZoneInfo.Utc).WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed)));
        });
        services.AddQuartzHostedService(options.SchedulerName, o => o.WaitForJobsToComplete = true);
    }
}
