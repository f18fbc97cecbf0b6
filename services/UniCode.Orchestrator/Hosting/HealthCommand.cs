using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using RabbitMQ.Client;
using UniCode.Messaging;
using UniCode.Persistence;

namespace UniCode.Orchestrator.Hosting;

/// <summary>
/// `unicode-orchestrator health`: connects to PostgreSQL (and counts pending migrations) and to
/// RabbitMQ, prints one JSON line and returns 0 when both answered, 1 otherwise.
/// </summary>
public static class HealthCommand
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public sealed record Check(string Name, bool Ok, string Detail);

    public static async Task<int> RunAsync(Func<string, string?> environment, TextWriter output, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        Check[] checks = [await PostgresAsync(environment, timeout.Token), await RabbitMqAsync(environment, timeout.Token)];
        var healthy = checks.All(c => c.Ok);
        await output.WriteLineAsync(JsonSerializer.Serialize(new
        {
            service = "orchestrator",
            status = healthy ? "healthy" : "unhealthy",
            checks = checks.ToDictionary(c => c.Name, c => new { ok = c.Ok, detail = c.Detail }),
        }));
        return healthy ? 0 : 1;
    }

    private static async Task<Check> PostgresAsync(Func<string, string?> environment, CancellationToken ct)
    {
        try
        {
            var settings = DatabaseSettings.FromEnvironment(environment);
            await using var db = ResultsDbContextOptions.CreateContext(settings.ConnectionString);
            if (!await db.Database.CanConnectAsync(ct)) return new Check("postgres", false, $"{settings.Describe()}: cannot connect");
            var pending = (await db.Database.GetPendingMigrationsAsync(ct)).Count();
            return new Check("postgres", true, $"{settings.Describe()}: connected, {pending} pending migration(s) (applied at start)");
        }
        catch (Exception e)
        {
            return new Check("postgres", false, e.Message);
        }
    }

    private static async Task<Check> RabbitMqAsync(Func<string, string?> environment, CancellationToken ct)
    {
        try
        {
            var settings = RabbitMqSettings.FromEnvironment(environment);
            var factory = new ConnectionFactory
            {
                HostName = settings.Host, Port = settings.Port, VirtualHost = settings.VirtualHost,
                UserName = settings.Username, Password = settings.Password,
                RequestedConnectionTimeout = Timeout,
            };
            await using var connection = await factory.CreateConnectionAsync("unicode-orchestrator health", ct);
            return new Check("rabbitmq", connection.IsOpen, $"{settings.Describe()}: {(connection.IsOpen ? "connected" : "connection closed")}");
        }
        catch (Exception e)
        {
            return new Check("rabbitmq", false, e.Message);
        }
    }
}
