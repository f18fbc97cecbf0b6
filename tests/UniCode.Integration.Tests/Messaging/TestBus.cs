using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using UniCode.Contracts.Pretraining;
using UniCode.Contracts.Registry;
using UniCode.Messaging;

namespace UniCode.Integration.Tests.Messaging;

/// <summary>
/// A bus built with <see cref="BusServiceCollectionExtensions.AddUniCodeBus"/> on the real broker,
/// with a prefix unique to this bus: its queues and exchanges cannot meet another run's, and they are
/// temporary/auto-delete, so nothing is left in the broker afterwards.
/// </summary>
public sealed class TestBus : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private TestBus(ServiceProvider provider, string prefix)
    {
        _provider = provider;
        Prefix = prefix;
    }

    public string Prefix { get; }
    public IBus Bus => _provider.GetRequiredService<IBus>();
    public BusObservations Observations => _provider.GetRequiredService<BusObservations>();

    public static async Task<TestBus> StartAsync(RabbitMqSettings server, Func<RabbitMqSettings, RabbitMqSettings>? adjust = null)
    {
        var prefix = $"it-{Guid.NewGuid():N}"[..15];
        var settings = (adjust ?? (s => s))(server with { Prefix = prefix, RetryIntervals = [TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50)] });
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<BusObservations>();
        services.AddUniCodeBus(settings, x =>
        {
            x.AddConsumer<FakeRegistryConsumer>().Endpoint(e => e.Temporary = true);
            x.AddConsumer<FakeTrainerConsumer>().Endpoint(e => e.Temporary = true);
            x.AddConsumer<PretrainCompletedObserver>().Endpoint(e => e.Temporary = true);
            x.AddConsumer<FlakyConsumer>().Endpoint(e => e.Temporary = true);
            x.AddConsumer<GatedConsumer>().Endpoint(e => e.Temporary = true);
            // A faulted test message is dropped instead of parked in a durable *_error queue.
            x.AddConfigureEndpointsCallback((_, _, endpoint) => endpoint.DiscardFaultedMessages());
        }, (_, cfg) =>
        {
            cfg.Publish<GetCheckpoint>(p => p.AutoDelete = true);
            cfg.Publish<PretrainModel>(p => p.AutoDelete = true);
            cfg.Publish<PretrainCompleted>(p => p.AutoDelete = true);
            cfg.Publish<FlakyWork>(p => p.AutoDelete = true);
            cfg.Publish<GatedWork>(p => p.AutoDelete = true);
        });
        var provider = services.BuildServiceProvider(validateScopes: true);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await provider.GetRequiredService<IBusControl>().StartAsync(timeout.Token);
        return new TestBus(provider, prefix);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _provider.GetRequiredService<IBusControl>().StopAsync(timeout.Token);
        await _provider.DisposeAsync();
    }
}
