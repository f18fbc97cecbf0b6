using System.Diagnostics;
using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using UniCode.Contracts.Chains;
using UniCode.Contracts.Common;
using UniCode.Jobs;
using UniCode.Messaging;
using UniCode.Orchestrator;
using UniCode.Orchestrator.Hosting;
using UniCode.Persistence;
using UniCode.Persistence.Artifacts;
using UniCode.Persistence.Entities;
using UniCode.Persistence.Outbox;
using UniCode.Registry;
using Xunit.Abstractions;

namespace UniCode.EndToEnd.Tests;

/// <summary>
/// Issue 11, item 9: with <c>UNICODE_BUS_PREFIX</c> set in the environment, every host takes its bus settings from
/// <see cref="RabbitMqSettings.FromEnvironment()"/> (as the orchestrator's and the job services' Program do), every
/// queue they consume carries the prefix, and a chain completes through the orchestrator, registry, trainer,
/// fine-tuning and evaluation. Before the fix the orchestrator and the job services ignored the variable and
/// consumed queues nobody sent to.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class BusPrefixFromEnvironmentTests(ServerFixture servers, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Dataset = "synth:clips=64,classes=4,audio=16,video=8,grid=5,text=0,seed=3";
    private static readonly TimeSpan ChainTimeout = TimeSpan.FromMinutes(4);   // the whole test took 3.5 min on a 2-core machine at load average ~30

    // The bus variables this test sets, and their values before it (restored at the end).
    private static readonly string[] Variables = [.. RabbitMqSettings.Variables, RabbitMqSettings.PrefixVariable, RabbitMqSettings.RetryWindowVariable];
    private readonly Dictionary<string, string?> _saved = Variables.ToDictionary(v => v, Environment.GetEnvironmentVariable);

    private readonly string _prefix = $"e2e-env-{Guid.NewGuid():N}"[..20];
    private readonly string _root = Directory.CreateTempSubdirectory("unicode-e2e-env-").FullName;
    private readonly List<IHost> _hosts = [];
    private readonly ChainEvents _events = new();
    private TestDatabase _database = null!;
    private RabbitMqSettings _rabbit = null!;

    private string Artifacts => Path.Combine(_root, "artifacts");

    public async Task InitializeAsync()
    {
        _database = await servers.DatabaseForClassAsync(GetType());
        Directory.CreateDirectory(Artifacts);

        // The environment a deployment would give every process: the broker, the prefix, a short retry window.
        var broker = servers.RabbitMq;
        Environment.SetEnvironmentVariable(RabbitMqSettings.HostVariable, broker.Host);
        Environment.SetEnvironmentVariable(RabbitMqSettings.PortVariable, broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Environment.SetEnvironmentVariable(RabbitMqSettings.VirtualHostVariable, broker.VirtualHost);
        Environment.SetEnvironmentVariable(RabbitMqSettings.UserVariable, broker.Username);
        Environment.SetEnvironmentVariable(RabbitMqSettings.PasswordVariable, broker.Password);
        Environment.SetEnvironmentVariable(RabbitMqSettings.PrefixVariable, _prefix);
        Environment.SetEnvironmentVariable(RabbitMqSettings.RetryWindowVariable, "1");
        _rabbit = RabbitMqSettings.FromEnvironment();

        // The orchestrator (with the registry's consumers and a chain observer on its bus), bus settings from the environment.
        var settings = new OrchestratorHostSettings(new DatabaseSettings(_database.ConnectionString), RabbitMqSettings.FromEnvironment(),
            new OrchestratorOptions { SchedulerName = "unicode-orchestrator-" + _prefix })
        {
            Outbox = new OutboxOptions { PollInterval = TimeSpan.FromMilliseconds(200) },
            RunScheduler = false,
            ConfigureConsumers = x =>
            {
                x.AddRegistryConsumers();
                x.AddConsumer<ChainObserver>();
                x.AddConfigureEndpointsCallback((_, _, endpoint) =>
                {
                    if (endpoint is IRabbitMqReceiveEndpointConfigurator r)
                    {
                        r.AutoDelete = true;
                        r.Durable = false;
                    }
                });
            },
            ConfigureBus = (_, cfg) => AutoDeleteExchanges(cfg),
        };
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new XunitLoggerProvider(output));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(_events);
        builder.Services.AddOrchestrator(settings);
        builder.Services.AddCheckpointRegistry(new ArtifactStore(Artifacts));
        await StartAsync(builder.Build());

        // The three job services, each its own host, bus settings from the environment.
        await StartAsync(JobHost("trainer", UniCode.Trainer.Program.AddConsumers));
        await StartAsync(JobHost("finetuning", UniCode.Finetuning.Program.AddConsumers));
        await StartAsync(JobHost("evaluation", UniCode.Evaluation.Program.AddConsumers));
    }

    [Fact]
    public async Task With_UNICODE_BUS_PREFIX_set_every_host_consumes_prefixed_queues_and_a_chain_completes_through_all_services()
    {
        var clock = Stopwatch.StartNew();

        // 1. the variable reached the settings every host was built with
        Assert.Equal(_prefix, _rabbit.Prefix);
        Assert.Equal(RabbitMqSettings.Backoff(TimeSpan.FromSeconds(1)), _rabbit.RetryIntervals);

        // 2. every job host serves (and heartbeats for) the prefixed queue of its job kind
        var served = _hosts.Skip(1).SelectMany(h => h.Services.GetServices<WorkerQueue>()).Select(q => q.Queue).OrderBy(q => q, StringComparer.Ordinal).ToList();
        Assert.Equal(new[] { "evaluate-head", "finetune-head", "pretrain-model" }.Select(q => $"{_prefix}-{q}"), served);

        // 3. on the broker, a consumer sits on each prefixed queue the chain needs
        string[] queues =
        [
            "orchestrator-chain-command", "orchestrator-chain-event", "orchestrator-job-progress", "orchestrator-worker-heartbeat",
            "register-pretrained-checkpoint", "pretrain-model", "finetune-head", "evaluate-head",
        ];
        await using (var connection = await Factory(_rabbit).CreateConnectionAsync())
        {
            foreach (var queue in queues)
            {
                await using var channel = await connection.CreateChannelAsync();
                try
                {
                    var declared = await channel.QueueDeclarePassiveAsync($"{_prefix}-{queue}");
                    Assert.True(declared.ConsumerCount >= 1, $"queue {_prefix}-{queue} has no consumer");
                }
                catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 405)
                {
                    // RESOURCE_LOCKED: the queue exists and is exclusive to its consumer's connection (a missing queue is 404).
                }
            }
        }

        // 4. a chain (pre-train → register → fine-tune ×2 → evaluate ×2) completes
        var spec = new ChainSpec
        {
            Dataset = Dataset,
            Method = "uniCode",
            Preset = "small",
            Config = JsonSerializer.SerializeToElement(new
            {
                epochs = 1, pretrainMinSteps = 0, codeDim = 16, trmFeedForwardDim = 32, codebookSize = 16,
                videoSpecificWidth = 8, videoSpecificMidWidth = 8, videoClubHiddenDim = 8, videoClubFeatureDim = 8,
                audioSpecificDim = 16, clubHiddenDim = 16, cpcHiddenDim = 16,
                videoPoolerGateDim = 4, videoPoolerAttentionDim = 8, batchSize = 16, clubEstimatorSteps = 1,
            }),
            Finetune = JsonSerializer.SerializeToElement(new { epochs = 2, minSteps = 0 }),   // exactly 2 epochs: no 1,260-step minimum
            Tasks = [new ChainTaskSpec { Task = "ave", Directions = ["v2a", "a2v"] }],
            Seeds = [1],
        };
        var chainId = Guid.NewGuid();
        await _hosts[0].Services.GetRequiredService<IBus>()
            .Publish(new SubmitChain(chainId, "e2e chain, prefix from the environment", JsonSerializer.Serialize(spec, JsonSerializerOptions.Web), false, DateTimeOffset.UtcNow));
        await WaitForEndAsync(chainId);
        output.WriteLine($"chain done after {clock.Elapsed.TotalSeconds:F1} s");

        await using var db = ResultsDbContextOptions.CreateContext(_database.ConnectionString);
        var chain = await db.Chains.AsNoTracking().SingleAsync(c => c.Id == chainId);
        Assert.True(chain.Status == ChainStatuses.Succeeded, $"chain {chain.Status}: {chain.Reason} (step {chain.FailedStepKey})");
        var steps = await db.ChainSteps.AsNoTracking().Where(s => s.ChainId == chainId).ToListAsync();
        Assert.Equal("evaluate:2,finetune:2,pretrain:1,register:1",
            string.Join(",", steps.GroupBy(s => s.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}:{g.Count()}")));
        Assert.All(steps, s => Assert.True(s.Status == ChainStepStatuses.Succeeded || (s.Kind == "register" && s.Status == ChainStepStatuses.Skipped),
            $"step {s.Kind} {s.Label}: {s.Status} ({s.Reason})"));
        Assert.Equal(2, await db.DownstreamResults.Where(r => r.Metric == "accuracy").Select(r => r.SourceModality + ">" + r.TargetModality).Distinct().CountAsync());

        // 5. the orchestrator heard every job service's heartbeat, naming its prefixed queue
        var workers = await db.Workers.AsNoTracking().Where(w => w.Name.EndsWith("-e2e-env")).ToListAsync();
        Assert.Equal(3, workers.Count);
        Assert.All(workers, w => Assert.StartsWith(_prefix + "-", w.Queue));
    }

    public async Task DisposeAsync()
    {
        try
        {
            foreach (var host in Enumerable.Reverse(_hosts))
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                try { await host.StopAsync(timeout.Token); }
                finally { host.Dispose(); }
            }
        }
        finally
        {
            foreach (var (name, value) in _saved) Environment.SetEnvironmentVariable(name, value);
            foreach (var f in Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories)) File.SetAttributes(f, FileAttributes.Normal);
            Directory.Delete(_root, recursive: true);
        }
    }

    // ------------------------------------------------------------------ helpers

    private async Task WaitForEndAsync(Guid chainId)
    {
        var deadline = DateTime.UtcNow + ChainTimeout;
        while (true)
        {
            if (_events.All<ChainCompleted>(e => e.ChainId == chainId).Count > 0) return;
            if (_events.All<ChainFailed>(e => e.ChainId == chainId).FirstOrDefault() is { } failed)
                Assert.Fail($"chain {chainId} failed at step {failed.FailedStepKey}: {failed.Reason}");
            if (_events.All<ChainRejected>(e => e.ChainId == chainId).FirstOrDefault() is { } rejected)
                Assert.Fail($"chain {chainId} rejected: {rejected.Reason}");
            if (DateTime.UtcNow > deadline)
            {
                await using var db = ResultsDbContextOptions.CreateContext(_database.ConnectionString);
                var steps = await db.ChainSteps.AsNoTracking().Where(s => s.ChainId == chainId).Select(s => s.Kind + " " + s.Label + ": " + s.Status).ToListAsync();
                Assert.Fail($"no ChainCompleted for {chainId} within {ChainTimeout}; steps: [{string.Join("; ", steps)}]");
            }
            await Task.Delay(200);
        }
    }

    private async Task StartAsync(IHost host)
    {
        _hosts.Add(host);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await host.StartAsync(timeout.Token);
    }

    private IHost JobHost(string service, Action<IBusRegistrationConfigurator, JobHostOptions> addConsumers) =>
        JobServiceHost.Build(new JobHostOptions(service)
        {
            RabbitMq = RabbitMqSettings.FromEnvironment(),
            Database = new DatabaseSettings(_database.ConnectionString),
            Jobs = new JobSettings
            {
                Device = "cpu",
                WorkDirectory = Path.Combine(_root, "work"),
                ArtifactsDirectory = Artifacts,
                WorkerName = service + "-e2e-env",
                KeepFreedMemory = false,
                ProgressInterval = TimeSpan.FromSeconds(1),
            },
            MigrateAtStart = false,   // the orchestrator host migrated the database
            TemporaryEntities = true,
            MinimumLogLevel = LogLevel.Warning,
        }, addConsumers);

    /// <summary>Every contract's exchange auto-delete, as the job hosts declare theirs (RabbitMQ refuses a redeclaration with other properties).</summary>
    private static void AutoDeleteExchanges(IRabbitMqBusFactoryConfigurator cfg)
    {
        var method = typeof(BusPrefixFromEnvironmentTests).GetMethod(nameof(AutoDelete), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        foreach (var type in typeof(SubmitChain).Assembly.GetExportedTypes().Where(t => t is { IsClass: true, IsAbstract: false }))
            method.MakeGenericMethod(type).Invoke(null, [cfg]);
    }

    private static void AutoDelete<T>(IRabbitMqBusFactoryConfigurator cfg) where T : class => cfg.Publish<T>(p => p.AutoDelete = true);

    private static ConnectionFactory Factory(RabbitMqSettings s) => new()
    {
        HostName = s.Host, Port = s.Port, VirtualHost = s.VirtualHost, UserName = s.Username, Password = s.Password,
    };
}
