using System.Diagnostics;
using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using UniCode.Contracts.Chains;
using UniCode.Jobs;
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
/// Issue 5's acceptance: a full chain (pre-train → register → fine-tune → evaluate) on the REAL consumers of
/// all five services, on the real RabbitMQ and PostgreSQL, completes and its results are in the analyst views;
/// the same spec submitted again reuses every step.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class FullChainTests(ServerFixture servers, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Dataset = "synth:clips=64,classes=4,audio=16,video=8,grid=5,text=0,seed=3";
    private static readonly TimeSpan ChainTimeout = TimeSpan.FromMinutes(4);

    private readonly string _root = Directory.CreateTempSubdirectory("unicode-e2e-").FullName;
    private readonly List<IHost> _hosts = [];
    private readonly ChainEvents _events = new();
    private TestDatabase _database = null!;

    private string Artifacts => Path.Combine(_root, "artifacts");

    public async Task InitializeAsync()
    {
        // 1. a fresh database of this class (migrated by the orchestrator host, the first one started)
        _database = await servers.DatabaseForClassAsync(GetType());
        var prefix = $"e2e-{Guid.NewGuid():N}"[..15];
        var rabbit = servers.RabbitMq with
        {
            Prefix = prefix,
            RetryIntervals = [TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(400)],
        };
        Directory.CreateDirectory(Artifacts);

        // The orchestrator and the registry on one bus (their consumers as their Program.cs registers them),
        // plus an observer of the chain events.
        var settings = new OrchestratorHostSettings(new DatabaseSettings(_database.ConnectionString), rabbit,
            new OrchestratorOptions { SchedulerName = "unicode-orchestrator-" + prefix })
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
        builder.Logging.AddFilter("UniCode", LogLevel.Information);
        builder.Services.AddSingleton(_events);
        builder.Services.AddOrchestrator(settings);
        builder.Services.AddCheckpointRegistry(new ArtifactStore(Artifacts));
        await StartAsync(builder.Build());

        // The three job services, each its own host as its Program builds it, sharing the artifact store.
        await StartAsync(JobHost("trainer", rabbit, UniCode.Trainer.Program.AddConsumers));
        await StartAsync(JobHost("finetuning", rabbit, UniCode.Finetuning.Program.AddConsumers));
        await StartAsync(JobHost("evaluation", rabbit, UniCode.Evaluation.Program.AddConsumers));
    }

    [Fact]
    public async Task A_full_chain_completes_its_results_are_in_the_views_and_a_resubmission_reuses_every_step()
    {
        var clock = Stopwatch.StartNew();
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
            Finetune = JsonSerializer.SerializeToElement(new { epochs = 2 }),
            Tasks = [new ChainTaskSpec { Task = "ave", Directions = ["v2a", "a2v"] }],
            Seeds = [1],
        };
        var specJson = JsonSerializer.Serialize(spec, JsonSerializerOptions.Web);

        // 2.–3. the chain runs through every service and completes
        var first = Guid.NewGuid();
        await PublishAsync(new SubmitChain(first, "e2e chain", specJson, false, DateTimeOffset.UtcNow));
        await WaitForEndAsync(first);
        output.WriteLine($"first chain done after {clock.Elapsed.TotalSeconds:F1} s");

        await using (var db = Db())
        {
            var chain = await db.Chains.AsNoTracking().SingleAsync(c => c.Id == first);
            Assert.True(chain.Status == ChainStatuses.Succeeded, $"chain {chain.Status}: {chain.Reason} (step {chain.FailedStepKey})");
            var steps = await db.ChainSteps.AsNoTracking().Where(s => s.ChainId == first).ToListAsync();
            Assert.Equal(chain.StepCount, steps.Count);
            // one seed, one task, two directions: pre-train, register, fine-tune (video, audio), evaluate (v2a, a2v)
            Assert.Equal("evaluate:2,finetune:2,pretrain:1,register:1",
                string.Join(",", steps.GroupBy(s => s.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}:{g.Count()}")));
            // Every job ran and succeeded. The register step has nothing left to do when it comes: the registry
            // consumes PretrainCompleted itself and has registered the checkpoint by then (asserted below).
            Assert.All(steps.Where(s => s.Kind != "register"),
                s => Assert.True(s.Status == ChainStepStatuses.Succeeded, $"step {s.Kind} {s.Label}: {s.Status} ({s.Reason})"));
            Assert.All(steps.Where(s => s.Kind == "register"),
                s => Assert.True(s.Status is ChainStepStatuses.Succeeded or ChainStepStatuses.Skipped, $"step {s.Label}: {s.Status} ({s.Reason})"));

            // the pre-trained checkpoint is registered and its file is in the artifact store
            var shas = steps.Where(s => s.CheckpointSha256 is not null).Select(s => s.CheckpointSha256!).Distinct().ToList();
            Assert.NotEmpty(shas);
            var store = new ArtifactStore(Artifacts);
            foreach (var sha in shas)
            {
                Assert.True(await db.Checkpoints.AnyAsync(c => c.Sha256 == sha), $"checkpoint {sha} is not in the checkpoints table");
                Assert.True(store.Exists(sha), $"checkpoint {sha} is not in the artifact store {Artifacts}");
            }
        }

        var leaderboard = await LeaderboardAsync();
        foreach (var direction in new[] { "v2a", "a2v" })
        {
            // accuracy is a percentage; other metrics of the same direction (the best epoch, the learning check) are not
            var rows = leaderboard.Where(r => r.Direction == direction && r.Metric == "accuracy").ToList();
            Assert.True(rows.Count > 0, $"v_leaderboard has no ave {direction} accuracy row; rows: {JsonSerializer.Serialize(leaderboard)}");
            Assert.All(rows, r =>
            {
                Assert.Equal("unicode", r.Method);
                Assert.Equal(1, r.NSeeds);
                Assert.InRange(r.Mean, 0.0, 100.0);
            });
        }
        var runsBefore = await CountAsync(db => db.Runs.CountAsync());
        var resultsBefore = await CountAsync(db => db.DownstreamResults.CountAsync());

        // 4. the same spec again, as a new chain: every step is reused, nothing runs
        var second = Guid.NewGuid();
        await PublishAsync(new SubmitChain(second, "e2e chain again", specJson, false, DateTimeOffset.UtcNow));
        await WaitForEndAsync(second);
        await using (var db = Db())
        {
            var chain = await db.Chains.AsNoTracking().SingleAsync(c => c.Id == second);
            Assert.True(chain.Status == ChainStatuses.Succeeded, $"second chain {chain.Status}: {chain.Reason}");
            var steps = await db.ChainSteps.AsNoTracking().Where(s => s.ChainId == second).ToListAsync();
            Assert.NotEmpty(steps);
            Assert.All(steps, s => Assert.True(s.Status == ChainStepStatuses.Skipped, $"re-submitted step {s.Kind} {s.Label}: {s.Status}, expected skipped"));
        }
        Assert.Equal(runsBefore, await CountAsync(db => db.Runs.CountAsync()));
        Assert.Equal(resultsBefore, await CountAsync(db => db.DownstreamResults.CountAsync()));
        output.WriteLine($"both chains done after {clock.Elapsed.TotalSeconds:F1} s");
    }

    public async Task DisposeAsync()
    {
        foreach (var host in Enumerable.Reverse(_hosts))
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try { await host.StopAsync(timeout.Token); }
            finally { host.Dispose(); }
        }
        foreach (var f in Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories)) File.SetAttributes(f, FileAttributes.Normal);
        Directory.Delete(_root, recursive: true);
    }

    // ------------------------------------------------------------------ helpers

    private sealed record LeaderboardRow(string Direction, string Method, string Metric, long NSeeds, double Mean);

    private async Task<List<LeaderboardRow>> LeaderboardAsync()
    {
        await using var connection = _database.OpenConnection();
        await using var command = new NpgsqlCommand("SELECT direction, method, metric, n_seeds, mean FROM v_leaderboard WHERE task = 'ave'", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<LeaderboardRow>();
        while (await reader.ReadAsync())
            rows.Add(new LeaderboardRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetDouble(4)));
        return rows;
    }

    private ResultsDbContext Db() => ResultsDbContextOptions.CreateContext(_database.ConnectionString);

    private async Task<int> CountAsync(Func<ResultsDbContext, Task<int>> count)
    {
        await using var db = Db();
        return await count(db);
    }

    private Task PublishAsync(SubmitChain submit) => _hosts[0].Services.GetRequiredService<IBus>().Publish(submit);

    /// <summary>Waits (bounded) for the chain's ChainCompleted, failing early on ChainFailed / ChainRejected.</summary>
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
                await using var db = Db();
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

    private IHost JobHost(string service, UniCode.Messaging.RabbitMqSettings rabbit, Action<IBusRegistrationConfigurator, JobHostOptions> addConsumers) =>
        JobServiceHost.Build(new JobHostOptions(service)
        {
            RabbitMq = rabbit,
            Database = new DatabaseSettings(_database.ConnectionString),
            Jobs = new JobSettings
            {
                Device = "cpu",
                WorkDirectory = Path.Combine(_root, "work"),
                ArtifactsDirectory = Artifacts,
                WorkerName = service + "-e2e",
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
        var method = typeof(FullChainTests).GetMethod(nameof(AutoDelete), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        foreach (var type in typeof(SubmitChain).Assembly.GetExportedTypes().Where(t => t is { IsClass: true, IsAbstract: false }))
            method.MakeGenericMethod(type).Invoke(null, [cfg]);
    }

    private static void AutoDelete<T>(IRabbitMqBusFactoryConfigurator cfg) where T : class => cfg.Publish<T>(p => p.AutoDelete = true);
}
