using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UniCode.Contracts.Common;
using UniCode.Contracts.Evaluation;
using UniCode.Contracts.Finetuning;
using UniCode.Contracts.Pretraining;
using UniCode.Hosting;
using UniCode.Hosting.Health;
using UniCode.Messaging;
using UniCode.Persistence;
using UniCode.Persistence.Artifacts;
using UniCode.Settings;

namespace UniCode.Jobs;

/// <summary>Everything a job service host is configured with.</summary>
/// <param name="Service">"trainer", "finetuning" or "evaluation": names the host, its logs and its cancel queue.</param>
public sealed record JobHostOptions(string Service)
{
    public required RabbitMqSettings RabbitMq { get; init; }
    public required DatabaseSettings Database { get; init; }
    public required JobSettings Jobs { get; init; }

    /// <summary>Apply pending migrations of the results database at start (before the bus starts).</summary>
    public bool MigrateAtStart { get; init; } = true;

    /// <summary>Queues and exchanges delete themselves when unused (tests); production entities are durable.</summary>
    public bool TemporaryEntities { get; init; }

    public LogLevel MinimumLogLevel { get; init; } = LogLevel.Information;

    /// <summary>Reads UNICODE_RABBITMQ_*, UNICODE_PG and the <see cref="JobSettings"/> variables from <paramref name="configuration"/>.</summary>
    /// <exception cref="InvalidOperationException">A variable is missing or malformed; the message names it.</exception>
    public static JobHostOptions FromConfiguration(string service, IConfiguration configuration) => new(service)
    {
        RabbitMq = configuration.RabbitMqSettings(),
        Database = configuration.DatabaseSettings(),
        Jobs = JobSettingsOf(configuration),
    };

    /// <summary>The <see cref="JobSettings"/> variables of <paramref name="configuration"/>; relative defaults are under the repository root above the current directory.</summary>
    public static JobSettings JobSettingsOf(IConfiguration configuration) => configuration.Settings<JobSettings>();
}

/// <summary>Builds the Generic Host of a job service: JSON logs, migrations, the job runtime and the bus.</summary>
public static class JobServiceHost
{
    /// <summary>
    /// A job service's registrations on a <see cref="ServiceHost"/> builder (after the service defaults): the
    /// <see cref="JobHostOptions"/> read from configuration, the job runtime and the bus (<see cref="AddJobService"/>),
    /// and the "work", "artifacts" and "device" health checks.
    /// </summary>
    public static HostApplicationBuilder AddJobService(this HostApplicationBuilder builder, string service,
        Action<IBusRegistrationConfigurator, JobHostOptions> addJobConsumers)
    {
        builder.Services.AddSettings<JobSettings>();
        builder.Services.AddHealthChecks()
            .AddWritableDirectory("work", sp => sp.GetRequiredService<IOptions<JobSettings>>().Value.WorkDirectory)
            .AddWritableDirectory("artifacts", sp => sp.GetRequiredService<IOptions<JobSettings>>().Value.ArtifactsDirectory)
            .AddCheck<DeviceHealthCheck>("device");
        builder.Services.AddJobService(JobHostOptions.FromConfiguration(service, builder.Configuration), addJobConsumers);
        return builder;
    }

    /// <summary>
    /// A host for <paramref name="options"/>; <paramref name="addJobConsumers"/> registers the service's job
    /// consumers (with <see cref="AddJobConsumer{T}"/>), <paramref name="configureServices"/> adds more
    /// (e.g. test observers).
    /// </summary>
    public static IHost Build(JobHostOptions options, Action<IBusRegistrationConfigurator, JobHostOptions> addJobConsumers,
        Action<IServiceCollection>? configureServices = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [],
            ApplicationName = "unicode-" + options.Service,
            DisableDefaults = true,
        });
        builder.Logging.AddJobServiceJsonConsole(options.MinimumLogLevel);
        builder.Services.AddJobService(options, addJobConsumers);
        configureServices?.Invoke(builder.Services);
        return builder.Build();
    }

    /// <summary>The services of a job host (see <see cref="Build"/>); hosted services start in this order: migrations, runtime, bus.</summary>
    public static IServiceCollection AddJobService(this IServiceCollection services, JobHostOptions options,
        Action<IBusRegistrationConfigurator, JobHostOptions> addJobConsumers)
    {
        services.AddSingleton(options);
        services.AddSingleton(options.Jobs);
        services.AddSingleton(TimeProvider.System);
        services.AddResultsDatabase(options.Database);
        if (options.MigrateAtStart) services.AddResultsDatabaseMigrationAtStartup();
        services.AddSingleton<JobRuntime>();
        services.AddHostedService<JobRuntimeStartup>();
        services.AddSingleton<JobCancellations>();
        services.AddSingleton<RunLedger>();
        services.AddSingleton(new ArtifactStore(options.Jobs.ArtifactsDirectory));
        services.AddSingleton<CheckpointLocator>();
        services.AddSingleton<JobExecutor>();
        services.AddSingleton<RunningJobs>();
        // A stopping worker lets its job reach the next step and hand the delivery back.
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(2));
        services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = true;
            o.StopTimeout = TimeSpan.FromMinutes(2);
        });

        // One job per host at a time: a trainer holds one delivery (prefetch 1) and never a second one that
        // an idle worker could have started.
        var rabbit = options.RabbitMq with { PrefetchCount = 1 };
        var instance = $"{options.Service}-{Sanitize(options.Jobs.WorkerName)}-{Guid.NewGuid().ToString("N")[..8]}";
        services.AddUniCodeBus(rabbit, x =>
        {
            x.AddConsumer<CancelJobConsumer>().Endpoint(e =>
            {
                e.InstanceId = instance;   // a queue per worker: every worker sees every CancelJob
                e.Temporary = true;
            });
            addJobConsumers(x, options);
            if (options.TemporaryEntities)
            {
                // Auto-delete but shared: MassTransit declares a non-durable auto-delete queue exclusive to one
                // connection, and several workers must consume one job queue.
                x.AddConfigureEndpointsCallback((_, _, endpoint) =>
                {
                    if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbitEndpoint)
                    {
                        rabbitEndpoint.AutoDelete = true;
                        rabbitEndpoint.Durable = true;
                    }
                });
            }
        }, (_, cfg) =>
        {
            if (options.TemporaryEntities) AutoDeleteExchanges(cfg);
        });
        // After the bus (hosted services start in order): the worker announces itself, idle or busy.
        services.AddSingleton<WorkerHeartbeatService>();
        services.AddHostedService(sp => sp.GetRequiredService<WorkerHeartbeatService>());
        return services;
    }

    /// <summary>
    /// A job consumer's endpoint: prefetch 1 and one message at a time, so a host runs one job and the
    /// broker hands the next to whichever worker is free.
    /// </summary>
    public static void AddJobConsumer<T>(this IBusRegistrationConfigurator x, JobHostOptions options) where T : class, IConsumer
    {
        x.AddConsumer<T>().Endpoint(e =>
        {
            e.PrefetchCount = 1;
            e.ConcurrentMessageLimit = 1;
        });
        // What the heartbeat announces: the job kind and the queue, named as AddUniCodeBus names it.
        var kind = typeof(T).GetInterfaces()
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IConsumer<>))
            .Select(i => JobQueues.KindOf(i.GetGenericArguments()[0])).FirstOrDefault(k => k is not null);
        if (kind is not null)
            x.AddSingleton(new WorkerQueue(kind, new KebabCaseEndpointNameFormatter(options.RabbitMq.Prefix, false).Consumer<T>()));
    }

    /// <summary>
    /// Declares the exchanges of the job messages auto-delete (tests). Every bus that declares one of
    /// them must do the same: RabbitMQ refuses to redeclare an exchange with other properties.
    /// </summary>
    public static void AutoDeleteExchanges(IRabbitMqBusFactoryConfigurator cfg)
    {
        cfg.Publish<PretrainModel>(p => p.AutoDelete = true);
        cfg.Publish<PretrainProgressed>(p => p.AutoDelete = true);
        cfg.Publish<PretrainCompleted>(p => p.AutoDelete = true);
        cfg.Publish<FinetuneHead>(p => p.AutoDelete = true);
        cfg.Publish<FinetuneProgressed>(p => p.AutoDelete = true);
        cfg.Publish<HeadFinetuned>(p => p.AutoDelete = true);
        cfg.Publish<EvaluateHead>(p => p.AutoDelete = true);
        cfg.Publish<HeadEvaluated>(p => p.AutoDelete = true);
        cfg.Publish<CancelJob>(p => p.AutoDelete = true);
        cfg.Publish<JobFailed>(p => p.AutoDelete = true);
        cfg.Publish<JobCancelled>(p => p.AutoDelete = true);
        cfg.Publish<WorkerHeartbeat>(p => p.AutoDelete = true);
    }

    /// <summary>
    /// Replaces the log providers by the JSON console logger: one JSON object a line, UTC timestamps, and
    /// the scopes (job_id, chain_id, step_key, job_kind) on every line logged inside a job; EF Core quiet
    /// (<see cref="DatabaseLogging.AddQuietDatabaseLogging"/>).
    /// </summary>
    public static ILoggingBuilder AddJobServiceJsonConsole(this ILoggingBuilder logging, LogLevel minimum = LogLevel.Information)
    {
        logging.AddUniCodeJsonConsole();   // the same JSON console as every service (ServiceDefaults)
        return logging.SetMinimumLevel(minimum);
    }

    private static string Sanitize(string name) =>
        new(name.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-').ToArray());
}
