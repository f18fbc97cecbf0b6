using UniCode.Hosting;
using UniCode.Messaging;
using UniCode.Persistence;
using UniCode.Persistence.Artifacts;
using UniCode.Registry;

// unicode-registry: `dotnet run --project services/UniCode.Registry` runs the service,
// `… -- health` checks PostgreSQL, RabbitMQ and the artifact store and prints one JSON line.
// Configuration (environment): UNICODE_PG, UNICODE_RABBITMQ_HOST/PORT/VHOST/USER/PASS, UNICODE_ARTIFACTS,
// UNICODE_BUS_PREFIX (optional).
return await ServiceProgram.RunAsync("registry", args,
    [
        HealthChecks.Postgres(DatabaseSettings.FromEnvironment),
        HealthChecks.RabbitMq(RabbitMqSettings.FromEnvironment),
        HealthChecks.ArtifactDirectory(() => ArtifactStore.FromEnvironment()),
    ],
    builder =>
    {
        // Hosted services start in registration order: migrate before the bus starts consuming.
        builder.Services.AddResultsDatabase(DatabaseSettings.FromEnvironment());
        builder.Services.AddResultsDatabaseMigrationAtStartup();
        builder.Services.AddCheckpointRegistry(ArtifactStore.FromEnvironment());
        builder.Services.AddUniCodeBus(RabbitMqSettings.FromEnvironment(), x => x.AddRegistryConsumers());
    });
