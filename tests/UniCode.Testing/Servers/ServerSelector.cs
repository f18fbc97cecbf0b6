using Npgsql;
using UniCode.Messaging;
using UniCode.Persistence;

namespace UniCode.Testing;

public enum ServerSource
{
    /// <summary>Fresh containers started by Testcontainers for this test run.</summary>
    Testcontainers,
    /// <summary>The servers named by UNICODE_RABBITMQ_* and UNICODE_PG (started by `make services-up`).</summary>
    LocalServers,
}

/// <summary>The RabbitMQ and PostgreSQL the integration tests use.</summary>
/// <param name="Source">Where they came from.</param>
/// <param name="RabbitMq">Broker settings (no prefix: each test adds its own).</param>
/// <param name="PostgresConnectionString">A role allowed to CREATE DATABASE.</param>
/// <param name="Owned">Containers to stop at the end, or null for servers the tests do not own.</param>
public sealed record ServerEndpoints(
    ServerSource Source, RabbitMqSettings RabbitMq, string PostgresConnectionString, IAsyncDisposable? Owned);

/// <summary>The side effects <see cref="ServerSelector"/> needs, injected so its decisions can be unit-tested.</summary>
public interface IServerProbes
{
    string? GetEnvironmentVariable(string name);
    bool FileExists(string path);
    /// <summary>Starts both containers; throws (e.g. DockerUnavailableException) when it cannot.</summary>
    Task<ServerEndpoints> StartContainersAsync(CancellationToken cancellationToken);
    /// <summary>True when a TCP connection to host:port opens within <paramref name="timeout"/>.</summary>
    Task<bool> TcpAnswersAsync(string host, int port, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>
/// Picks the servers for the integration tests, in this order: (1) Testcontainers, when a Docker
/// engine is configured (DOCKER_HOST or /var/run/docker.sock); (2) the local servers from the
/// UNICODE_* variables, when both ports answer; (3) otherwise it throws, saying what it tried and
/// how to start servers. It never skips: a test run without servers is a failed run.
/// </summary>
public sealed class ServerSelector(IServerProbes probes)
{
    public const string DockerSocket = "/var/run/docker.sock";
    public const string RabbitMqImage = "rabbitmq:3.13-management";
    public const string PostgresImage = "postgres:15";
    public static readonly TimeSpan TcpTimeout = TimeSpan.FromSeconds(3);

    public async Task<ServerEndpoints> SelectAsync(CancellationToken cancellationToken)
    {
        var containers = await TryContainersAsync(cancellationToken);
        if (containers.Endpoints is not null) return containers.Endpoints;
        var local = await TryLocalServersAsync(cancellationToken);
        if (local.Endpoints is not null) return local.Endpoints;
        throw new InvalidOperationException(FailureMessage(containers.Why!, local.Why!));
    }

    public static string FailureMessage(string containersWhy, string localWhy) =>
        "No RabbitMQ and PostgreSQL for the integration tests. Tried, in this order:\n" +
        $"  1. Testcontainers ({RabbitMqImage}, {PostgresImage}): {containersWhy}\n" +
        $"  2. Local servers from UNICODE_RABBITMQ_* and UNICODE_PG: {localWhy}\n" +
        "Start the local servers with `make services-up`, then `source .local-services/connection.env` " +
        "in the shell that runs `dotnet test` (or use `make test`, which does both); or start a Docker engine.";

    private async Task<(ServerEndpoints? Endpoints, string? Why)> TryContainersAsync(CancellationToken cancellationToken)
    {
        var dockerHost = probes.GetEnvironmentVariable("DOCKER_HOST");
        if (string.IsNullOrWhiteSpace(dockerHost) && !probes.FileExists(DockerSocket))
            return (null, $"no Docker engine (DOCKER_HOST is not set and {DockerSocket} does not exist).");
        var engine = string.IsNullOrWhiteSpace(dockerHost) ? DockerSocket : $"DOCKER_HOST={dockerHost}";
        try
        {
            return (await probes.StartContainersAsync(cancellationToken), null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // DockerUnavailableException is the usual case; an image that cannot be pulled is another.
            var firstLine = e.Message.Split('\n', 2)[0].Trim();
            return (null, $"the Docker engine at {engine} could not start them ({e.GetType().Name}: {firstLine}).");
        }
    }

    private async Task<(ServerEndpoints? Endpoints, string? Why)> TryLocalServersAsync(CancellationToken cancellationToken)
    {
        string[] required = [.. RabbitMqSettings.Variables, DatabaseSettings.VariableName];
        var missing = required.Where(v => string.IsNullOrWhiteSpace(probes.GetEnvironmentVariable(v))).ToList();
        if (missing.Count > 0)
            return (null, $"{string.Join(", ", missing)} {(missing.Count == 1 ? "is" : "are")} not set.");

        RabbitMqSettings rabbit;
        DatabaseSettings database;
        NpgsqlConnectionStringBuilder pg;
        try
        {
            rabbit = RabbitMqSettings.FromEnvironment(probes.GetEnvironmentVariable);
            database = DatabaseSettings.FromEnvironment(probes.GetEnvironmentVariable);
            pg = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        }
        catch (InvalidOperationException e)
        {
            return (null, e.Message);
        }

        var rabbitTask = probes.TcpAnswersAsync(rabbit.Host, rabbit.Port, TcpTimeout, cancellationToken);
        var pgTask = probes.TcpAnswersAsync(pg.Host!, pg.Port, TcpTimeout, cancellationToken);
        var (rabbitUp, pgUp) = (await rabbitTask, await pgTask);
        if (rabbitUp && pgUp)
            return (new ServerEndpoints(ServerSource.LocalServers, rabbit, database.ConnectionString, null), null);

        var silent = new List<string>();
        var seconds = TcpTimeout.TotalSeconds;
        if (!rabbitUp) silent.Add($"RabbitMQ at {rabbit.Host}:{rabbit.Port} (UNICODE_RABBITMQ_HOST/PORT) did not answer within {seconds} s");
        if (!pgUp) silent.Add($"PostgreSQL at {pg.Host}:{pg.Port} (UNICODE_PG) did not answer within {seconds} s");
        return (null, string.Join("; ", silent) + ".");
    }
}
