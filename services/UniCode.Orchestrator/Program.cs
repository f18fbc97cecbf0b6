using Microsoft.Extensions.Hosting;
using UniCode.Hosting;
using UniCode.Orchestrator.Hosting;
using UniCode.Settings;

namespace UniCode.Orchestrator;

/// <summary>
/// unicode-orchestrator: runs the chain coordinator (<see cref="ServiceHost"/>, until SIGTERM);
/// `unicode-orchestrator health` checks PostgreSQL and RabbitMQ and prints one JSON line. Settings: the
/// <see cref="ServiceDefaults"/> (UNICODE_PG, UNICODE_RABBITMQ_*, UNICODE_BUS_PREFIX) and <see cref="OrchestratorOptions"/>.
/// </summary>
public static class Program
{
    public static Task<int> Main(string[] args) => ServiceHost.RunAsync("orchestrator", args, Configure);

    /// <summary>The orchestrator's own registrations, after the service defaults.</summary>
    public static void Configure(HostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddSettings<OrchestratorOptions>();
        builder.Services.AddOrchestrator(new OrchestratorHostSettings(
            configuration.DatabaseSettings(), configuration.RabbitMqSettings(), configuration.Settings<OrchestratorOptions>()));
    }
}
