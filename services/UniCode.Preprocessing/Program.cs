using UniCode.Hosting;
using UniCode.Messaging;
using UniCode.Persistence;
using UniCode.Persistence.Artifacts;
using UniCode.Preprocessing;

// unicode-preprocessing: `dotnet run --project services/UniCode.Preprocessing` runs the service,
// `… -- health` checks PostgreSQL, RabbitMQ and the artifact store and prints one JSON line.
// Configuration (environment): UNICODE_PG, UNICODE_RABBITMQ_HOST/PORT/VHOST/USER/PASS, UNICODE_ARTIFACTS,
// UNICODE_PREPROCESS_VERIFY (default true), UNICODE_BUS_PREFIX (optional).
return await ServiceProgram.RunAsync("preprocessing", args,
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
        builder.Services.AddDatasetPreprocessor(ArtifactStore.FromEnvironment(), PreprocessingOptions.FromEnvironment());
        // One dataset at a time per process: do not hold further messages another instance could take.
        builder.Services.AddUniCodeBus(RabbitMqSettings.FromEnvironment() with { PrefetchCount = 1 }, x => x.AddPreprocessingConsumers());
    });
