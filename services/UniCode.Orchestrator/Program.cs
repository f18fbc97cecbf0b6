using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using UniCode.Messaging;
using UniCode.Orchestrator;
using UniCode.Orchestrator.Hosting;
using UniCode.Persistence;

// unicode-orchestrator          run the chain coordinator (until SIGTERM)
// unicode-orchestrator health   check PostgreSQL and RabbitMQ, print one JSON line, exit 0 (healthy) or 1
switch (args)
{
    case ["health", ..]:
        return await HealthCommand.RunAsync(Environment.GetEnvironmentVariable, Console.Out, CancellationToken.None);
    case [] or ["run"]:
        break;
    default:
        await Console.Error.WriteLineAsync($"unicode-orchestrator: unknown command '{string.Join(' ', args)}'; expected no argument (run), 'run' or 'health'");
        return 2;
}

var builder = Host.CreateApplicationBuilder();
UniCode.Hosting.ServiceProgram.AddUniCodeJsonConsole(builder.Logging);   // one JSON line a record, scopes (chain_id, job_id), EF Core quiet: as every service
OrchestratorHostSettings settings;
try
{
    settings = new OrchestratorHostSettings(DatabaseSettings.FromEnvironment(), RabbitMqSettings.FromEnvironment(), OrchestratorOptions.FromEnvironment());
}
catch (Exception e) when (e is InvalidOperationException or ArgumentException)
{
    await Console.Error.WriteLineAsync($"unicode-orchestrator: {e.Message}");
    return 2;
}
builder.Services.AddOrchestrator(settings);
await builder.Build().RunAsync();
return 0;
