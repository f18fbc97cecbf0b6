using DotNet.Testcontainers.Builders;
using UniCode.Messaging;

namespace UniCode.Integration.Tests.Infrastructure;

/// <summary>The fixture's fallback order, with fake probes (no servers needed).</summary>
public sealed class ServerSelectorTests
{
    private static readonly Dictionary<string, string> LocalEnvironment = new()
    {
        ["UNICODE_RABBITMQ_HOST"] = "127.0.0.1",
        ["UNICODE_RABBITMQ_PORT"] = "5672",
        ["UNICODE_RABBITMQ_VHOST"] = "unicode",
        ["UNICODE_RABBITMQ_USER"] = "unicode",
        ["UNICODE_RABBITMQ_PASS"] = "secret",
        ["UNICODE_PG"] = "Host=127.0.0.1;Port=5433;Database=unicode;Username=unicode;Password=secret",
    };

    private sealed class FakeProbes : IServerProbes
    {
        public Dictionary<string, string> Environment { get; init; } = [];
        public bool SocketExists { get; init; }
        public Exception? ContainerFailure { get; init; }
        public HashSet<int> OpenPorts { get; init; } = [];
        public int ContainerStarts { get; private set; }
        public List<string> TcpProbes { get; } = [];

        public string? GetEnvironmentVariable(string name) => Environment.GetValueOrDefault(name);
        public bool FileExists(string path) => SocketExists && path == ServerSelector.DockerSocket;

        public Task<ServerEndpoints> StartContainersAsync(CancellationToken cancellationToken)
        {
            ContainerStarts++;
            if (ContainerFailure is not null) throw ContainerFailure;
            return Task.FromResult(new ServerEndpoints(
                ServerSource.Testcontainers, new RabbitMqSettings("172.17.0.2", 32768, "/", "unicode", "unicode"),
                "Host=172.17.0.3;Port=32769;Database=unicode;Username=unicode;Password=unicode", null));
        }

        public Task<bool> TcpAnswersAsync(string host, int port, TimeSpan timeout, CancellationToken cancellationToken)
        {
            TcpProbes.Add($"{host}:{port}");
            return Task.FromResult(OpenPorts.Contains(port));
        }
    }

    [Fact]
    public async Task Docker_socket_present_uses_testcontainers_and_never_probes_local_servers()
    {
        var probes = new FakeProbes { SocketExists = true, Environment = LocalEnvironment, OpenPorts = [5672, 5433] };

        var endpoints = await new ServerSelector(probes).SelectAsync(CancellationToken.None);

        Assert.Equal(ServerSource.Testcontainers, endpoints.Source);
        Assert.Equal(32768, endpoints.RabbitMq.Port);
        Assert.Equal(1, probes.ContainerStarts);
        Assert.Empty(probes.TcpProbes);
    }

    [Fact]
    public async Task Docker_host_variable_alone_is_enough_to_try_testcontainers()
    {
        var probes = new FakeProbes { Environment = new() { ["DOCKER_HOST"] = "tcp://docker:2375" } };

        var endpoints = await new ServerSelector(probes).SelectAsync(CancellationToken.None);

        Assert.Equal(ServerSource.Testcontainers, endpoints.Source);
        Assert.Equal(1, probes.ContainerStarts);
    }

    [Fact]
    public async Task Without_docker_the_local_servers_are_used_when_both_ports_answer()
    {
        var probes = new FakeProbes { Environment = LocalEnvironment, OpenPorts = [5672, 5433] };

        var endpoints = await new ServerSelector(probes).SelectAsync(CancellationToken.None);

        Assert.Equal(0, probes.ContainerStarts);   // no DOCKER_HOST, no socket: not even tried
        Assert.Equal(ServerSource.LocalServers, endpoints.Source);
        Assert.Equal(new RabbitMqSettings("127.0.0.1", 5672, "unicode", "unicode", "secret"), endpoints.RabbitMq);
        Assert.Equal(LocalEnvironment["UNICODE_PG"], endpoints.PostgresConnectionString);
        Assert.Null(endpoints.Owned);
        Assert.Equal(["127.0.0.1:5672", "127.0.0.1:5433"], probes.TcpProbes);
    }

    [Fact]
    public async Task Docker_that_fails_falls_back_to_the_local_servers()
    {
        var probes = new FakeProbes
        {
            SocketExists = true,
            ContainerFailure = new DockerUnavailableException("Docker is either not running or misconfigured."),
            Environment = LocalEnvironment,
            OpenPorts = [5672, 5433],
        };

        var endpoints = await new ServerSelector(probes).SelectAsync(CancellationToken.None);

        Assert.Equal(1, probes.ContainerStarts);
        Assert.Equal(ServerSource.LocalServers, endpoints.Source);
    }

    [Fact]
    public async Task Nothing_available_fails_naming_what_was_tried_and_how_to_start_servers()
    {
        var probes = new FakeProbes();

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => new ServerSelector(probes).SelectAsync(CancellationToken.None));

        Assert.Equal(
            "No RabbitMQ and PostgreSQL for the integration tests. Tried, in this order:\n" +
            "  1. Testcontainers (rabbitmq:3.13-management, postgres:15): no Docker engine (DOCKER_HOST is not set and /var/run/docker.sock does not exist).\n" +
            "  2. Local servers from UNICODE_RABBITMQ_* and UNICODE_PG: UNICODE_RABBITMQ_HOST, UNICODE_RABBITMQ_PORT, UNICODE_RABBITMQ_VHOST, UNICODE_RABBITMQ_USER, UNICODE_RABBITMQ_PASS, UNICODE_PG are not set.\n" +
            "Start the local servers with `make services-up`, then `source .local-services/connection.env` in the shell that runs `dotnet test` (or use `make test`, which does both); or start a Docker engine.",
            e.Message);
    }

    [Fact]
    public async Task Failed_docker_and_silent_ports_are_both_reported()
    {
        var probes = new FakeProbes
        {
            Environment = new(LocalEnvironment) { ["DOCKER_HOST"] = "tcp://docker:2375" },
            ContainerFailure = new DockerUnavailableException("Docker is either not running or misconfigured.\nDetails: ..."),
            OpenPorts = [5672],
        };

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => new ServerSelector(probes).SelectAsync(CancellationToken.None));

        Assert.Equal(
            "No RabbitMQ and PostgreSQL for the integration tests. Tried, in this order:\n" +
            "  1. Testcontainers (rabbitmq:3.13-management, postgres:15): the Docker engine at DOCKER_HOST=tcp://docker:2375 could not start them (DockerUnavailableException: Docker is either not running or misconfigured.).\n" +
            "  2. Local servers from UNICODE_RABBITMQ_* and UNICODE_PG: PostgreSQL at 127.0.0.1:5433 (UNICODE_PG) did not answer within 3 s.\n" +
            "Start the local servers with `make services-up`, then `source .local-services/connection.env` in the shell that runs `dotnet test` (or use `make test`, which does both); or start a Docker engine.",
            e.Message);
    }

    [Fact]
    public async Task Some_variables_missing_are_listed_by_name()
    {
        var environment = new Dictionary<string, string>(LocalEnvironment);
        environment.Remove("UNICODE_PG");
        var probes = new FakeProbes { Environment = environment, OpenPorts = [5672, 5433] };

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => new ServerSelector(probes).SelectAsync(CancellationToken.None));

        Assert.Contains("\n  2. Local servers from UNICODE_RABBITMQ_* and UNICODE_PG: UNICODE_PG is not set.\n", e.Message);
        Assert.Empty(probes.TcpProbes);
    }
}
