using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using UniCode.Hosting;
using UniCode.Hosting.Health;
using UniCode.Messaging;
using UniCode.Persistence;
using UniCode.Persistence.Artifacts;
using UniCode.Settings;

namespace UniCode.Preprocessing;

/// <summary>
/// unicode-preprocessing: runs the service (<see cref="ServiceHost"/>); `unicode-preprocessing health` checks
/// PostgreSQL, RabbitMQ and the artifact store and prints one JSON line. Settings: the <see cref="ServiceDefaults"/>
/// (UNICODE_PG, UNICODE_RABBITMQ_*, UNICODE_BUS_PREFIX), UNICODE_ARTIFACTS and UNICODE_PREPROCESS_VERIFY (default true).
/// </summary>
public static class Program
{
    public static Task<int> Main(string[] args) => ServiceHost.RunAsync("preprocessing", args, Configure);

    /// <summary>The preprocessing service's own registrations, after the service defaults.</summary>
    public static void Configure(HostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddHealthChecks().AddWritableDirectory("artifacts", _ => Artifacts(configuration).Root, "tmp");
        // Hosted services start in registration order: migrate before the bus starts consuming.
        builder.Services.AddResultsDatabase();
        builder.Services.AddResultsDatabaseMigrationAtStartup();
        builder.Services.AddSettings<PreprocessingOptions>();
        builder.Services.AddDatasetPreprocessor(Artifacts(configuration), configuration.Settings<PreprocessingOptions>());
        // One dataset at a time per process: do not hold further messages another instance could take.
        builder.Services.AddUniCodeBus(configuration.RabbitMqSettings() with { PrefetchCount = 1 }, x => x.AddPreprocessingConsumers());
    }

    private static ArtifactStore Artifacts(IConfiguration configuration) => ArtifactStore.FromEnvironment(key => configuration[key]);
}
