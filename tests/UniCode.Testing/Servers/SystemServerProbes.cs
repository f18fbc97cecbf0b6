using System.Net.Sockets;
using DotNet.Testcontainers.Containers;
using Testcontainers.PostgreSql;
using Testcontainers.RabbitMq;
using UniCode.Messaging;

namespace UniCode.Testing;

/// <summary>The real environment, file system, Docker engine and network.</summary>
public sealed class SystemServerProbes : IServerProbes
{
    private const string User = "unicode";
    private const string Password = "unicode";

    public string? GetEnvironmentVariable(string name) => Environment.GetEnvironmentVariable(name);

    public bool FileExists(string path) => File.Exists(path);

    public async Task<ServerEndpoints> StartContainersAsync(CancellationToken cancellationToken)
    {
        // Build() throws DockerUnavailableException within about a second when no engine answers.
        var rabbit = new RabbitMqBuilder(ServerSelector.RabbitMqImage).WithUsername(User).WithPassword(Password).Build();
        var postgres = new PostgreSqlBuilder(ServerSelector.PostgresImage)
            .WithUsername(User).WithPassword(Password).WithDatabase("unicode").Build();
        var owned = new Containers(rabbit, postgres);
        try
        {
            await Task.WhenAll(rabbit.StartAsync(cancellationToken), postgres.StartAsync(cancellationToken));
        }
        catch
        {
            await owned.DisposeAsync();
            throw;
        }
        var settings = new RabbitMqSettings(rabbit.Hostname, rabbit.GetMappedPublicPort(5672), "/", User, Password);
        return new ServerEndpoints(ServerSource.Testcontainers, settings, postgres.GetConnectionString(), owned);
    }

    public async Task<bool> TcpAnswersAsync(string host, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await client.ConnectAsync(host, port, cts.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private sealed class Containers(IContainer rabbit, IContainer postgres) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await rabbit.DisposeAsync();
            await postgres.DisposeAsync();
        }
    }
}
