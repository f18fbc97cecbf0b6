using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Common;
using UniCode.Contracts.Evaluation;
using UniCode.Contracts.Finetuning;
using UniCode.Contracts.Pretraining;
using UniCode.Data;
using UniCode.Messaging;
using UniCode.Model.Config;
using UniCode.Model.Runtime;
using UniCode.Persistence;

namespace UniCode.Jobs.Tests.Infrastructure;

/// <summary>
/// One test's pipeline: job service hosts on the real broker and database, behind a prefix of their own
/// (temporary queues, auto-delete exchanges), sharing a work and an artifact directory (as workers on
/// one mount), plus an observer bus that publishes commands and records every job event.
/// </summary>
public sealed class JobWorld : IAsyncDisposable
{
    public const string Dataset = "synth:clips=48,classes=4,audio=16,video=8,grid=5,text=0,seed=3";
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    private static readonly Lazy<string> DatasetHashValue = new(() =>
    {
        using var d = DatasetOpener.Open(Dataset);
        return d.ContentHash();
    });

    private readonly List<(string Name, IHost Host)> hosts = [];
    private readonly ServiceProvider observer;
    private readonly TestDatabase database;

    private JobWorld(RabbitMqSettings rabbit, TestDatabase database, string root, ServiceProvider observer)
    {
        Rabbit = rabbit;
        this.database = database;
        Root = root;
        this.observer = observer;
    }

    public RabbitMqSettings Rabbit { get; }
    public string Root { get; }
    public string WorkDirectory => Path.Combine(Root, "work");
    public string ArtifactsDirectory => Path.Combine(Root, "artifacts");
    public string ConnectionString => database.ConnectionString;
    public IBus Bus => observer.GetRequiredService<IBus>();
    public EventLog Events => observer.GetRequiredService<EventLog>();
    public static string DatasetHash => DatasetHashValue.Value;

    public static async Task<JobWorld> StartAsync(ServerFixture servers, Type testClass)
    {
        var database = await servers.DatabaseForClassAsync(testClass);
        var prefix = $"jt-{Guid.NewGuid():N}"[..15];
        var rabbit = servers.RabbitMq with
        {
            Prefix = prefix,
            RetryIntervals = [TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50)],
        };
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<EventLog>();
        services.AddUniCodeBus(rabbit, x => x.AddConsumer<EventRecorder>().Endpoint(e => e.Temporary = true),
            (_, cfg) => JobServiceHost.AutoDeleteExchanges(cfg));
        var provider = services.BuildServiceProvider();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await provider.GetRequiredService<IBusControl>().StartAsync(timeout.Token);
        var root = Directory.CreateTempSubdirectory("unicode-jobs-").FullName;
        return new JobWorld(rabbit, database, root, provider);
    }

    /// <summary>The settings of a test worker: CPU, every report published, checkpoints every 2 steps.</summary>
    public JobSettings Settings(string worker) => new()
    {
        Device = "cpu",
        WorkDirectory = WorkDirectory,
        ArtifactsDirectory = ArtifactsDirectory,
        WorkerName = worker,
        KeepFreedMemory = false,
        ProgressInterval = TimeSpan.Zero,
        CheckpointEverySteps = 2,
        KeepCheckpoints = 100,
        ReportEverySteps = 1,
        MaxStarts = 10,
        HeartbeatInterval = TimeSpan.FromMilliseconds(200),
    };

    /// <summary>Starts a host of a job service named <paramref name="worker"/> (e.g. Trainer.Program.AddConsumers).</summary>
    public Task<IHost> StartHostAsync(string service, string worker, Action<IBusRegistrationConfigurator, JobHostOptions> addConsumers,
        params IJobProgressObserver[] progressObservers) =>
        StartHostAsync(service, worker, addConsumers, _ => { }, s => s, progressObservers);

    /// <summary>
    /// As above; <paramref name="configureServices"/> runs after the host's registrations (a decorator registered
    /// there replaces the service), <paramref name="adjust"/> changes the worker's settings.
    /// </summary>
    public async Task<IHost> StartHostAsync(string service, string worker, Action<IBusRegistrationConfigurator, JobHostOptions> addConsumers,
        Action<IServiceCollection> configureServices, Func<JobSettings, JobSettings> adjust, params IJobProgressObserver[] progressObservers)
    {
        var options = new JobHostOptions(service)
        {
            RabbitMq = Rabbit,
            Database = new DatabaseSettings(database.ConnectionString),
            Jobs = adjust(Settings(worker)),
            TemporaryEntities = true,
            // UNICODE_TEST_LOG_LEVEL=Information shows the services' JSON logs (dotnet test --logger "console;verbosity=detailed").
            MinimumLogLevel = Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("UNICODE_TEST_LOG_LEVEL"), out var level) ? level : LogLevel.Warning,
        };
        var host = JobServiceHost.Build(options, addConsumers, s =>
        {
            foreach (var o in progressObservers) s.AddSingleton(o);
            configureServices(s);
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await host.StartAsync(timeout.Token);
        hosts.Add((worker, host));
        return host;
    }

    public async Task StopHostAsync(IHost host)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await host.StopAsync(timeout.Token);
        host.Dispose();
        hosts.RemoveAll(h => ReferenceEquals(h.Host, host));
    }

    public ResultsDbContext Db() => ResultsDbContextOptions.CreateContext(database.ConnectionString);

    // ------------------------------------------------------------------ messages

    /// <summary>The small preset shrunk to seconds per epoch, fitted to <see cref="Dataset"/> (audio 16, video 8 on a 5×5 grid).</summary>
    public static UniCodeConfig TinyConfig(int epochs = 3, long seed = 1) => UniCodeConfig.Small with
    {
        AudioInputDim = 16,
        VideoInputDim = 8,
        VideoGrid = 5,
        CodeDim = 32,
        TrmHeads = 4,
        TrmFeedForwardDim = 64,
        VideoPoolerGateDim = 4,
        VideoPoolerAttentionDim = 16,
        AudioSpecificDim = 16,
        VideoSpecificWidth = 16,
        VideoSpecificMidWidth = 8,
        VideoClubHiddenDim = 8,
        VideoClubFeatureDim = 16,
        CodebookSize = 32,
        ClubHiddenDim = 32,
        ClubEstimatorSteps = 2,
        CpcHiddenDim = 32,
        BatchSize = 16,
        LearningRate = 1e-3,
        ResetAfterForwards = 30,
        ResetActiveWindow = 10,
        Epochs = epochs,
        PretrainMinSteps = 0,
        Seed = seed,
    };

    /// <summary>A PretrainModel of <paramref name="configJson"/>; <paramref name="salt"/> keeps step keys of tests apart.</summary>
    public static PretrainModel Pretrain(string configJson, string salt, Guid? chainId = null)
    {
        var run = new RunIdentity(configJson, StepKeys.Sha256Hex(System.Text.Encoding.UTF8.GetBytes(configJson)), 1, CodeVersion.Current, DatasetHash);
        var key = StepKeys.Compute("pretrain", configJson, [DatasetHash], $"{CodeVersion.Current}/{salt}");
        return new PretrainModel(StepKeys.JobId(key), chainId, key, run, Dataset, null, DateTimeOffset.UtcNow);
    }

    public static PretrainModel Pretrain(UniCodeConfig config, string salt) => Pretrain(config.ToCanonicalJson(), salt);

    public static FinetuneHead Finetune(string checkpointSha256, string configJson, string salt, string source = "video", string task = "ave")
    {
        var run = new RunIdentity(configJson, StepKeys.Sha256Hex(System.Text.Encoding.UTF8.GetBytes(configJson)), 43, CodeVersion.Current, DatasetHash);
        var key = StepKeys.Compute("finetune", configJson, [checkpointSha256, DatasetHash], $"{CodeVersion.Current}/{salt}");
        return new FinetuneHead(StepKeys.JobId(key), null, key, run, checkpointSha256, task, source, Dataset, DateTimeOffset.UtcNow);
    }

    public static EvaluateHead Evaluate(string checkpointSha256, string headSha256, string salt, string source = "video", string target = "audio",
        string protocol = "held-out", string evalCodeVersion = "eval-v1")
    {
        var config = $"{{\"protocol\":\"{protocol}\",\"sourceModality\":\"{source}\",\"split\":\"test\",\"targetModality\":\"{target}\",\"task\":\"ave\"}}";
        var run = new RunIdentity(config, StepKeys.Sha256Hex(System.Text.Encoding.UTF8.GetBytes(config)), 43, evalCodeVersion, DatasetHash);
        var key = StepKeys.Compute("evaluate", config, [checkpointSha256, headSha256, DatasetHash], $"{evalCodeVersion}/{salt}");
        return new EvaluateHead(StepKeys.JobId(key), null, key, run, checkpointSha256, headSha256, "ave", source, target, "test", protocol, Dataset, DateTimeOffset.UtcNow);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (_, host) in hosts.AsEnumerable().Reverse())
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try { await host.StopAsync(timeout.Token); }
            finally { host.Dispose(); }
        }
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            await observer.GetRequiredService<IBusControl>().StopAsync(timeout.Token);
        await observer.DisposeAsync();
        try { Directory.Delete(Root, recursive: true); }
        catch (UnauthorizedAccessException) { /* read-only artifacts: chmod, then delete */ RemoveReadOnly(Root); }
    }

    private static void RemoveReadOnly(string root)
    {
        foreach (var f in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
            File.SetAttributes(f, FileAttributes.Normal);
        Directory.Delete(root, recursive: true);
    }
}

/// <summary>Every job event the observer bus saw, in arrival order.</summary>
public sealed class EventLog
{
    private readonly ConcurrentQueue<object> events = new();
    private readonly SemaphoreSlim arrived = new(0);

    public void Add(object message)
    {
        events.Enqueue(message);
        arrived.Release();
    }

    public IReadOnlyList<T> All<T>(Func<T, bool>? where = null) => events.OfType<T>().Where(where ?? (_ => true)).ToList();

    /// <summary>Waits until <paramref name="count"/> events of type T match; fails the test after <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<T>> WaitForAsync<T>(Func<T, bool> where, int count = 1, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? JobWorld.Wait);
        while (true)
        {
            var found = All(where);
            if (found.Count >= count) return found;
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                var failures = string.Join("; ", All<JobFailed>().Select(f => $"{f.JobKind} {f.JobId}: {f.Reason}"));
                throw new TimeoutException($"waited {(timeout ?? JobWorld.Wait).TotalSeconds:0} s for {count} {typeof(T).Name}, saw {found.Count}; JobFailed so far: [{failures}]");
            }
            await arrived.WaitAsync(left < TimeSpan.FromMilliseconds(250) ? left : TimeSpan.FromMilliseconds(250));
        }
    }
}

/// <summary>Records the job events into the <see cref="EventLog"/>.</summary>
public sealed class EventRecorder(EventLog log) :
    IConsumer<PretrainProgressed>, IConsumer<PretrainCompleted>, IConsumer<FinetuneProgressed>, IConsumer<HeadFinetuned>,
    IConsumer<HeadEvaluated>, IConsumer<JobFailed>, IConsumer<JobCancelled>, IConsumer<WorkerHeartbeat>
{
    public Task Consume(ConsumeContext<PretrainProgressed> context) => Record(context.Message);
    public Task Consume(ConsumeContext<PretrainCompleted> context) => Record(context.Message);
    public Task Consume(ConsumeContext<FinetuneProgressed> context) => Record(context.Message);
    public Task Consume(ConsumeContext<HeadFinetuned> context) => Record(context.Message);
    public Task Consume(ConsumeContext<HeadEvaluated> context) => Record(context.Message);
    public Task Consume(ConsumeContext<JobFailed> context) => Record(context.Message);
    public Task Consume(ConsumeContext<JobCancelled> context) => Record(context.Message);
    public Task Consume(ConsumeContext<WorkerHeartbeat> context) => Record(context.Message);

    private Task Record(object message)
    {
        log.Add(message);
        return Task.CompletedTask;
    }
}

/// <summary>A progress observer built from a delegate (e.g. to pause or fail a job at a step).</summary>
public sealed class ProgressHook(Action<JobIdentity, ProgressPoint, CancellationToken> onProgress) : IJobProgressObserver
{
    public void OnProgress(JobIdentity job, ProgressPoint point, CancellationToken token) => onProgress(job, point, token);
}
