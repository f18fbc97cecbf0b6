using Microsoft.Extensions.Options;
using UniCode.Messaging;
using RabbitMQ.Client;

namespace UniCode.Hosting.Health;

/// <summary>"rabbitmq": opens an AMQP connection (credentials and virtual host included) and a channel (UNICODE_RABBITMQ_*).</summary>
public sealed class RabbitMqHealthCheck(IOptions<RabbitMqSettings> options) : ProbeHealthCheck
{
    protected override async Task<string> ProbeAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var factory = new ConnectionFactory
        {
            HostName = settings.Host,
            Port = settings.Port,
            VirtualHost = settings.VirtualHost,
            UserName = settings.Username,
            Password = settings.Password,
            RequestedConnectionTimeout = Timeout,
            AutomaticRecoveryEnabled = false,
        };
        await using var connection = await factory.CreateConnectionAsync("unicode-health", cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        var server = connection.ServerProperties is { } p && p.TryGetValue("version", out var v) && v is byte[] bytes
            ? " (RabbitMQ " + System.Text.Encoding.UTF8.GetString(bytes) + ")"
            : "";
        return settings.Describe() + server;
    }
}
