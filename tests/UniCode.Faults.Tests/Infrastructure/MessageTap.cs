using RabbitMQ.Client;

namespace UniCode.Faults.Tests.Infrastructure;

/// <summary>
/// Raw AMQP access to the private broker: a queue of the test's own bound to chosen exchanges, which keeps a copy of
/// every message sent through them (to re-publish them later as duplicate deliveries, same message id and body), and
/// publishing a raw body to a queue (a poison message).
/// </summary>
public sealed class MessageTap(PrivateServers servers) : IAsyncDisposable
{
    private IConnection? _connection;
    private IChannel? _channel;
    private readonly string _queue = "faults-tap-" + Guid.NewGuid().ToString("N")[..8];

    private async Task<IChannel> ChannelAsync()
    {
        if (_channel is { IsOpen: true }) return _channel;
        var factory = new ConnectionFactory
        {
            HostName = "127.0.0.1", Port = servers.RabbitPort, UserName = servers.RabbitUser, Password = servers.Password, VirtualHost = "/",
        };
        _connection = await factory.CreateConnectionAsync();
        _channel = await _connection.CreateChannelAsync();
        return _channel;
    }

    /// <summary>Binds the tap's queue to <paramref name="exchanges"/>; from now on it keeps a copy of what they route.</summary>
    public async Task BindAsync(IEnumerable<string> exchanges)
    {
        var ch = await ChannelAsync();
        await ch.QueueDeclareAsync(_queue, durable: false, exclusive: false, autoDelete: false);
        foreach (var e in exchanges) await ch.QueueBindAsync(_queue, e, routingKey: "");
    }

    /// <summary>Everything the tap holds, taken off its queue.</summary>
    public async Task<IReadOnlyList<BasicGetResult>> DrainAsync()
    {
        var ch = await ChannelAsync();
        var all = new List<BasicGetResult>();
        while (await ch.BasicGetAsync(_queue, autoAck: true) is { } m) all.Add(m);
        return all;
    }

    /// <summary>Publishes a copy of <paramref name="message"/> (body and properties, message id included) to the exchange it came through.</summary>
    public async Task RepublishAsync(BasicGetResult message)
    {
        var ch = await ChannelAsync();
        await ch.BasicPublishAsync(message.Exchange, message.RoutingKey, mandatory: false, new BasicProperties(message.BasicProperties), message.Body);
    }

    /// <summary>Sends <paramref name="body"/> straight to <paramref name="queue"/> (default exchange) as a MassTransit JSON message.</summary>
    public async Task SendRawAsync(string queue, byte[] body)
    {
        var ch = await ChannelAsync();
        var props = new BasicProperties { ContentType = "application/vnd.masstransit+json", MessageId = Guid.NewGuid().ToString(), Persistent = true };
        await ch.BasicPublishAsync("", queue, mandatory: true, props, body);
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is { IsOpen: true })
        {
            await _channel.QueueDeleteAsync(_queue);
            await _channel.CloseAsync();
        }
        _channel?.Dispose();
        if (_connection is not null) await _connection.DisposeAsync();
    }
}
