using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using UniCode.Hosting;
using UniCode.Hosting.Health;
using UniCode.Messaging;
using UniCode.Persistence;
using UniCode.Persistence.Artifacts;

namespace UniCode.Registry;

/// <summary>
/// unicode-registry: runs the service (<see cref="ServiceHost"/>); `unicode-registry health` checks PostgreSQL,
/// RabbitMQ and the artifact store and prints one JSON line. Settings: the <see cref="ServiceDefaults"/>
/// (UNICODE_PG, UNICODE_RABBITMQ_*, UNICODE_BUS_PREFIX) and UNICODE_ARTIFACTS.
/// </summary>
public static class Program
{
    public static Task<int> Main(string[] args) => ServiceHost.RunAsync("registry", args, Configure);

    /// <summary>The registry's own registrations, after the service defaults.</summary>
    public static void Configure(HostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddHealthChecks().AddWritableDirectory("artifacts", _ => Artifacts(configuration).Root, "tmp");
        // Hosted services start in registration order: migrate before the bus starts consuming.
        builder.Services.AddResultsDatabase();
        builder.Services.AddResultsDatabaseMigrationAtStartup();
        builder.Services.AddCheckpointRegistry(Artifacts(configuration));
        builder.Services.AddUniCodeBus(configuration.RabbitMqSettings(), x => x.AddRegistryConsumers());
    }

    private static ArtifactStore Artifacts(Microsoft.Extensions.Configuration.IConfiguration configuration) =>
        ArtifactStore.FromEnvironment(key => configuration[key]);
}
