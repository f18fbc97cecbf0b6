using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using UniCode.Messaging;
using UniCode.Persistence;

namespace UniCode.Testing;

/// <summary>Every message a test's recorder consumer received, in arrival order.</summary>
public sealed class PublishedMessages
{
    private readonly ConcurrentQueue<object> _messages = new();

    public void Add(object message) => _messages.Enqueue(message);

    public IReadOnlyList<T> OfType<T>() => _messages.OfType<T>().ToList();

    /// <summary>The first recorded <typeparamref name="T"/> that matches; fails the test after <paramref name="timeout"/> (default 30 s).</summary>
    public async Task<T> WaitForAsync<T>(Func<T, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var found = _messages.OfType<T>().FirstOrDefault(match);
            if (found is not null) return found;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no {typeof(T).Name} matching the condition was published; saw {string.Join(", ", _messages.Select(m => m.GetType().Name))}");
            await Task.Delay(20);
        }
    }
}

/// <summary>
/// A service's consumers hosted in the test process on the real broker and a test database, the way the
/// service's Program assembles them, behind a bus prefix unique to this host: queues are temporary and
/// exchanges of the listed message types auto-delete, so nothing of the run stays in the broker.
/// </summary>
public sealed class ServiceTestHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly RabbitMqSettings _settings;
    private readonly List<string> _queuesToDelete = [];

    private ServiceTestHost(ServiceProvider provider, RabbitMqSettings settings)
    {
        _provider = provider;
        _settings = settings;
    }

    public string Prefix => _settings.Prefix!;
    public IBus Bus => _provider.GetRequiredService<IBus>();
    public IServiceProvider Services => _provider;
    public PublishedMessages Published => _provider.GetRequiredService<PublishedMessages>();

    /// <param name="server">The fixture's broker.</param>
    /// <param name="connectionString">The test database; migrated here.</param>
    /// <param name="addServices">The service's own services (registry, preprocessor).</param>
    /// <param name="addConsumers">The service's consumers, with the endpoint adjustment to apply to each.</param>
    /// <param name="messageTypes">Every message type the test publishes, sends or records (exchanges made auto-delete).</param>
    /// <param name="keepFaults">
    /// False: temporary endpoints, faulted messages discarded. True: durable endpoints as in production, faulted
    /// messages moved to the queue's _error queue; name the queues to remove with <see cref="RemoveOnDispose"/>.
    /// </param>
    public static async Task<ServiceTestHost> StartAsync<TRecorder>(
        RabbitMqSettings server, string connectionString,
        Action<IServiceCollection> addServices,
        Action<IBusRegistrationConfigurator, Action<IEndpointRegistrationConfigurator>> addConsumers,
        IReadOnlyList<Type> messageTypes, bool keepFaults = false)
        where TRecorder : class, IConsumer
    {
        await DatabaseMigrator.MigrateAsync(connectionString, CancellationToken.None);
        var prefix = $"it-{Guid.NewGuid():N}"[..15];
        var settings = server with
        {
            Prefix = prefix,
            RetryIntervals = [TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50)],
        };
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<PublishedMessages>();
        services.AddResultsDatabase(new DatabaseSettings(connectionString));
        addServices(services);
        services.AddUniCodeBus(settings, x =>
        {
            addConsumers(x, e => e.Temporary = !keepFaults);
            x.AddConsumer<TRecorder>().Endpoint(e => e.Temporary = true);
            if (!keepFaults) x.AddConfigureEndpointsCallback((_, _, endpoint) => endpoint.DiscardFaultedMessages());
        }, (_, cfg) =>
        {
            foreach (var type in messageTypes)
            {
                cfg.Publish(type, p => p.AutoDelete = true);
                cfg.Publish(typeof(Fault<>).MakeGenericType(type), p => p.AutoDelete = true);
            }
        });
        var provider = services.BuildServiceProvider(validateScopes: true);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await provider.GetRequiredService<IBusControl>().StartAsync(timeout.Token);
        return new ServiceTestHost(provider, settings);
    }

    /// <summary>Deletes these durable queues and their exchanges (names without the prefix) when the host is disposed.</summary>
    public void RemoveOnDispose(params string[] queues) => _queuesToDelete.AddRange(queues.Select(q => $"{Prefix}-{q}"));

    /// <summary>Waits until <paramref name="queue"/> (without the prefix) holds a message and takes it; null after <paramref name="timeout"/>.</summary>
    public async Task<BasicGetResult?> TakeFromQueueAsync(string queue, TimeSpan timeout)
    {
        var name = $"{Prefix}-{queue}";
        await using var connection = await Factory().CreateConnectionAsync();
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var channel = await connection.CreateChannelAsync();
            try
            {
                var got = await channel.BasicGetAsync(name, autoAck: true);
                if (got is not null) return got;
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                // 404 until the queue exists; the broker closed this channel.
            }
            finally
            {
                await channel.DisposeAsync();
            }
            await Task.Delay(50);
        }
        return null;
    }

    private ConnectionFactory Factory() => new()
    {
        HostName = _settings.Host,
        Port = _settings.Port,
        VirtualHost = _settings.VirtualHost,
        UserName = _settings.Username,
        Password = _settings.Password,
    };

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _provider.GetRequiredService<IBusControl>().StopAsync(timeout.Token);
        await _provider.DisposeAsync();
        if (_queuesToDelete.Count > 0)
        {
            await using var connection = await Factory().CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            foreach (var name in _queuesToDelete.Distinct())
            {
                await channel.QueueDeleteAsync(name, ifUnused: false, ifEmpty: false);
                await channel.ExchangeDeleteAsync(name, ifUnused: false);
            }
        }
    }
}
