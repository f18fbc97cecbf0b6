using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Chains;
using UniCode.Orchestrator.Hosting;
using UniCode.Persistence;
using UniCode.Persistence.Entities;
using UniCode.Persistence.Outbox;
using Xunit.Abstractions;

namespace UniCode.Orchestrator.Tests.Support;

/// <summary>
/// The orchestrator host in process on the real broker and database, with the fake workers and the
/// chain observer on the same bus. Queues and exchanges carry a prefix of their own and are
/// auto-delete, so runs never meet and leave nothing behind in the broker.
/// </summary>
public sealed class OrchestratorTestHost : IAsyncDisposable
{
    public const string CodeVersion = "test-code-1";
    public const string EvalCodeVersion = "test-eval-1";

    private OrchestratorTestHost(IHost host, string prefix, TestDatabase database)
    {
        Host = host;
        Prefix = prefix;
        Database = database;
    }

    public IHost Host { get; }
    public string Prefix { get; }
    public TestDatabase Database { get; }
    public IServiceProvider Services => Host.Services;
    public FakeWorld World => Services.GetRequiredService<FakeWorld>();
    public ChainEvents Events => Services.GetRequiredService<ChainEvents>();
    public IBus Bus => Services.GetRequiredService<IBus>();
    public ConsumeRecorder Consumed { get; } = new();
    public bool Started { get; private set; }

    /// <summary>
    /// Builds (and by default starts) a host on <paramref name="database"/> (migrated by the host).
    /// <paramref name="configureServices"/> runs before the orchestrator's registrations (a fake TimeProvider) and may
    /// replace them afterwards only through decorators it registers last (see <see cref="IServiceCollection"/>).
    /// </summary>
    public static async Task<OrchestratorTestHost> CreateAsync(
        ServerFixture servers, TestDatabase database, ITestOutputHelper output,
        Func<OrchestratorHostSettings, OrchestratorHostSettings>? adjust = null, bool start = true, Action<IServiceCollection>? configureServices = null)
    {
        var prefix = $"ot-{Guid.NewGuid():N}"[..15];
        var settings = new OrchestratorHostSettings(
            new DatabaseSettings(database.ConnectionString),
            servers.RabbitMq with { Prefix = prefix, RetryIntervals = [TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200)] },
            new OrchestratorOptions { CodeVersion = CodeVersion, EvalCodeVersion = EvalCodeVersion, SchedulerName = "unicode-orchestrator-" + prefix })
        {
            Outbox = new OutboxOptions { PollInterval = TimeSpan.FromMilliseconds(200) },
            RunScheduler = false,
            ConfigureConsumers = x =>
            {
                x.AddConsumer<FakeTrainer>();
                x.AddConsumer<FakeEvaluator>();
                x.AddConsumer<FakeRegistry>();
                x.AddConsumer<FakeCancellationListener>();
                x.AddConsumer<ChainObserver>();
                x.AddConfigureEndpointsCallback((_, _, endpoint) =>
                {
                    endpoint.DiscardFaultedMessages();
                    if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
                    {
                        rabbit.AutoDelete = true;
                        rabbit.Durable = false;
                    }
                });
            },
            ConfigureBus = (_, cfg) => AutoDeleteExchanges(cfg),
        };
        settings = adjust?.Invoke(settings) ?? settings;
        await ForgetEarlierTestsAsync(database);

        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new XunitLoggerProvider(output));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("UniCode", LogLevel.Information);
        builder.Services.AddSingleton(new FakeWorld { ConnectionString = database.ConnectionString });
        builder.Services.AddSingleton<ChainEvents>();
        configureServices?.Invoke(builder.Services);   // before AddOrchestrator: a TimeProvider registered here is the engine's clock
        builder.Services.AddOrchestrator(settings);
        var testHost = new OrchestratorTestHost(builder.Build(), prefix, database);
        if (start) await testHost.StartAsync();
        return testHost;
    }

    public async Task StartAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await Host.StartAsync(timeout.Token);
        Started = true;
        Bus.ConnectConsumeObserver(Consumed);
    }

    public ResultsDbContext Db() => ResultsDbContextOptions.CreateContext(Database.ConnectionString);

    /// <summary>A synthetic dataset no other test uses, so step keys (and the cache) are this test's own.</summary>
    public static string NewDataset() => $"synth:classes=4,clips=64,seed={Random.Shared.Next(1, int.MaxValue)}";

    /// <summary>A small valid spec: small preset, one epoch, the given seeds and AVE directions.</summary>
    public static ChainSpec Spec(string dataset, long[]? seeds = null, string[]? directions = null) => new()
    {
        Dataset = dataset,
        Preset = "small",
        Method = "uniCode",
        Config = JsonSerializer.SerializeToElement(new { epochs = 1 }),
        Seeds = seeds ?? [43],
        Finetune = JsonSerializer.SerializeToElement(new { epochs = 2 }),
        Tasks = [new ChainTaskSpec { Task = "ave", Directions = directions ?? ["v2a", "a2v"] }],
    };

    public static SubmitChain Submit(ChainSpec spec, Guid? chainId = null, bool force = false) =>
        Submit(JsonSerializer.Serialize(spec, JsonSerializerOptions.Web), chainId, force);

    public static SubmitChain Submit(string specJson, Guid? chainId = null, bool force = false) =>
        new(chainId ?? Guid.NewGuid(), "test chain", specJson, force, DateTimeOffset.UtcNow);

    /// <summary>Waits until <paramref name="condition"/> holds on a fresh context.</summary>
    public async Task<T> EventuallyAsync<T>(Func<ResultsDbContext, Task<T>> read, Func<T, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            await using var db = Db();
            var value = await read(db);
            if (condition(value)) return value;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"condition not met within the timeout; last value: {JsonSerializer.Serialize(value)}");
            await Task.Delay(50);
        }
    }

    public async Task<List<ChainStep>> StepsAsync(Guid chainId)
    {
        await using var db = Db();
        return await db.ChainSteps.AsNoTracking().Where(s => s.ChainId == chainId).OrderBy(s => s.CreatedAt).ThenBy(s => s.Label).ToListAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Started)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            World.ReleaseAll();   // or the bus waits for the held fakes when it stops
            await Host.StopAsync(timeout.Token);
        }
        Host.Dispose();
    }

    /// <summary>
    /// Tests of a class share a database. What an earlier test left in flight (outbox rows its host
    /// stopped before publishing, chains still running) belongs to a broker prefix that is gone:
    /// mark it done, so this test's dispatcher and reconciler do not carry it on.
    /// </summary>
    private static async Task ForgetEarlierTestsAsync(TestDatabase database)
    {
        await using var db = ResultsDbContextOptions.CreateContext(database.ConnectionString);
        await db.OutboxMessages.Where(m => m.SentAt == null).ExecuteUpdateAsync(u => u.SetProperty(m => m.SentAt, DateTimeOffset.UtcNow));
        await db.Chains.Where(c => c.Status == ChainStatuses.Running || c.Status == ChainStatuses.Cancelling)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.Status, ChainStatuses.Failed).SetProperty(c => c.Reason, "left in flight by an earlier test"));
    }

    private static void AutoDeleteExchanges(IRabbitMqBusFactoryConfigurator cfg)
    {
        var method = typeof(OrchestratorTestHost).GetMethod(nameof(AutoDelete), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        foreach (var type in typeof(SubmitChain).Assembly.GetExportedTypes().Where(t => t is { IsClass: true, IsAbstract: false }))
            method.MakeGenericMethod(type).Invoke(null, [cfg]);
    }

    private static void AutoDelete<T>(IRabbitMqBusFactoryConfigurator cfg) where T : class => cfg.Publish<T>(p => p.AutoDelete = true);
}
