using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using UniCode.Persistence;
using UniCode.Persistence.Entities;
using Xunit.Abstractions;

namespace UniCode.Faults.Tests.Infrastructure;

/// <summary>
/// One test's pipeline: its own database and bus prefix on the private servers, the service executables started as
/// infra/services.sh starts them (`dotnet services/…/bin/CONFIG/net10.0/X.dll`, one process each, JSON logs to a
/// file), the `unicode` CLI as a process, and what the assertions read (rows, outbox, queues, `unicode status`).
/// Short heartbeat, lease, reconcile and retry settings (<see cref="Lease"/>) keep each case within seconds.
/// </summary>
public sealed class Pipeline : IAsyncDisposable
{
    public static readonly string[] AllServices = ["registry", "preprocessing", "orchestrator", "trainer", "finetuning", "evaluation"];

    private static readonly Dictionary<string, string> Projects = new()
    {
        ["registry"] = "UniCode.Registry", ["preprocessing"] = "UniCode.Preprocessing", ["orchestrator"] = "UniCode.Orchestrator",
        ["trainer"] = "UniCode.Trainer", ["finetuning"] = "UniCode.Finetuning", ["evaluation"] = "UniCode.Evaluation", ["cli"] = "UniCode.Cli",
    };

    /// <summary>Workers beat every second; the orchestrator's lease is 6 s (its reconciler then runs every second).</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(6);

    /// <summary>Transient database/broker failures are retried for this long (the outages below last 8–15 s).</summary>
    public const int RetryWindowSeconds = 90;

    private readonly PrivateServers _servers;
    private readonly ITestOutputHelper _output;
    private readonly List<ServiceProcess> _processes = [];
    private readonly string _dir;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public string Database { get; }
    public string Prefix { get; }
    public string ConnectionString => _servers.ConnectionString(Database);
    public string WorkDirectory => Path.Combine(_dir, "work");

    /// <summary>Every log line so far of every process of <paramref name="service"/>.</summary>
    public IEnumerable<string> Logs(string service) =>
        _processes.Where(p => p.Service == service).SelectMany(p => p.Lines());
    public PrivateServers Servers => _servers;

    private Pipeline(PrivateServers servers, ITestOutputHelper output, string name)
    {
        _servers = servers;
        _output = output;
        Database = "faults_" + name;
        Prefix = "f-" + name.Replace('_', '-');
        _dir = Path.Combine(servers.Root, "cases", name);
        Directory.CreateDirectory(Path.Combine(_dir, "logs"));
    }

    /// <summary>A fresh database (migrated by `unicode migrate`) and bus prefix; starts <paramref name="services"/> (default: all six).</summary>
    public static async Task<Pipeline> StartAsync(PrivateServers servers, ITestOutputHelper output, string name, params string[] services)
    {
        var p = new Pipeline(servers, output, name);
        await servers.CreateDatabaseAsync(p.Database);
        await p.CliAsync(TimeSpan.FromMinutes(3), "migrate");
        await p.StartServicesAsync(services.Length == 0 ? AllServices : services);
        return p;
    }

    public void Log(string text) => _output.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:F1} s] {text}");

    // ------------------------------------------------------------------ processes

    private static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "UniCode.sln"))) return d.FullName;
        throw new InvalidOperationException($"no UniCode.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>Debug or Release: the configuration this test assembly was built in (the services are built with it).</summary>
    private static string Configuration { get; } =
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent?.Name ?? "Debug";

    private static string Dll(string service)
    {
        var project = Projects[service];
        var dir = Path.Combine(RepoRoot, "services", project, "bin", Configuration, "net10.0");
        var dll = Directory.Exists(dir)
            ? Directory.GetFiles(dir, "*.dll").FirstOrDefault(f => File.Exists(Path.ChangeExtension(f, ".runtimeconfig.json")))
            : null;
        return dll ?? throw new InvalidOperationException($"{project} is not built in {dir}: run `dotnet build UniCode.sln -c {Configuration}` (make build)");
    }

    /// <summary>The environment of every process: the user's UNICODE_* settings dropped, this pipeline's set.</summary>
    private Dictionary<string, string?> Environment(string worker)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in System.Environment.GetEnvironmentVariables())
            if (((string)e.Key).StartsWith("UNICODE_", StringComparison.Ordinal)) env[(string)e.Key] = null;
        env["UNICODE_PG"] = ConnectionString;
        env["UNICODE_RABBITMQ_HOST"] = "127.0.0.1";
        env["UNICODE_RABBITMQ_PORT"] = _servers.RabbitPort.ToString(CultureInfo.InvariantCulture);
        env["UNICODE_RABBITMQ_VHOST"] = "/";
        env["UNICODE_RABBITMQ_USER"] = _servers.RabbitUser;
        env["UNICODE_RABBITMQ_PASS"] = _servers.Password;
        env["UNICODE_BUS_PREFIX"] = Prefix;
        env["UNICODE_ARTIFACTS"] = Path.Combine(_dir, "artifacts");
        env["UNICODE_WORK"] = WorkDirectory;   // shared by every trainer: a replacement resumes
        env["UNICODE_DEVICE"] = "cpu";
        env["UNICODE_WORKER_NAME"] = worker;
        env["UNICODE_KEEP_FREED_MEMORY"] = "0";
        env["UNICODE_PROGRESS_SECONDS"] = "1";
        env["UNICODE_REPORT_EVERY_STEPS"] = "5";
        env["UNICODE_CHECKPOINT_EVERY_STEPS"] = "20";
        env["UNICODE_HEARTBEAT_SECONDS"] = "1";
        env["UNICODE_HEARTBEAT_LEASE"] = Lease.ToString("c", CultureInfo.InvariantCulture);
        env["UNICODE_RECONCILE_INTERVAL"] = "00:00:01";
        env["UNICODE_RETRY_WINDOW_SECONDS"] = RetryWindowSeconds.ToString(CultureInfo.InvariantCulture);
        env["UNICODE_MAX_RESTARTS"] = "3";
        env["OMP_NUM_THREADS"] = "1";
        env["OMP_WAIT_POLICY"] = "PASSIVE";
        env["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return env;
    }

    private int _instance;

    public async Task StartServicesAsync(params string[] services)
    {
        var started = services.Select(s => Start(s)).ToList();
        foreach (var p in started) await p.WaitReadyAsync(TimeSpan.FromMinutes(3));
        Log($"ready: {string.Join(", ", started.Select(p => p.Name))}");
    }

    private ServiceProcess Start(string service)
    {
        var name = $"{service}-{++_instance}";
        var log = Path.Combine(_dir, "logs", name + ".log");
        var psi = new ProcessStartInfo("dotnet", [Dll(service)]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        foreach (var (k, v) in Environment(name)) psi.Environment[k] = v;
        var p = new ServiceProcess(service, name, log, psi);
        _processes.Add(p);
        return p;
    }

    /// <summary>The running process(es) of a service.</summary>
    public IReadOnlyList<ServiceProcess> Running(string service) => _processes.Where(p => p.Service == service && p.IsRunning).ToList();

    /// <summary>kill -9 of every running process of <paramref name="service"/>.</summary>
    public void Kill(string service)
    {
        foreach (var p in Running(service))
        {
            p.Kill();
            Log($"kill -9 {p.Name} (pid {p.Pid})");
        }
    }

    // ------------------------------------------------------------------ the CLI

    public async Task<(int Code, string Output)> CliAsync(TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet", [Dll("cli"), .. args]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        foreach (var (k, v) in Environment("cli")) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"`unicode {string.Join(' ', args)}` did not finish within {timeout.TotalSeconds:F0} s");
        }
        var output = await stdout + await stderr;
        if (args[0] != "status" && p.ExitCode != 0) throw new InvalidOperationException($"`unicode {string.Join(' ', args)}` exited with {p.ExitCode}: {output}");
        return (p.ExitCode, await stdout);
    }

    /// <summary>The tiny chain of the end-to-end tests: pre-train → register → fine-tune (v, a) → evaluate (v2a, a2v).</summary>
    public const string Dataset = "synth:clips=64,classes=4,audio=16,video=8,grid=5,text=0,seed=3";

    public const string TinyConfig =
        """{"codeDim":16,"trmFeedForwardDim":32,"codebookSize":16,"videoSpecificWidth":8,"videoSpecificMidWidth":8,"videoClubHiddenDim":8,"videoClubFeatureDim":8,"audioSpecificDim":16,"clubHiddenDim":16,"cpcHiddenDim":16,"videoPoolerGateDim":4,"videoPoolerAttentionDim":8,"batchSize":16,"clubEstimatorSteps":1}""";

    /// <summary>Its step count: 1 pretrain + 1 register + 2 finetune + 2 evaluate.</summary>
    public const int ChainSteps = 6;

    /// <summary>`unicode submit chain` of the tiny chain; returns its id. <paramref name="pretrainEpochs"/> × 4 optimiser steps of pre-training.</summary>
    public async Task<Guid> SubmitAsync(int pretrainEpochs, int downstreamEpochs = 2, string? name = null, params string[] extra)
    {
        var (_, output) = await CliAsync(TimeSpan.FromMinutes(2), ["submit", "chain", "--data", Dataset, "--method", "unicode", "--seeds", "1",
            "--tasks", "ave:v2a,a2v", "--pretrain-epochs", pretrainEpochs.ToString(CultureInfo.InvariantCulture),
            "--downstream-epochs", downstreamEpochs.ToString(CultureInfo.InvariantCulture), "--config", TinyConfig,
            "--name", name ?? "faults", .. extra]);
        var id = Guid.Parse(output.Trim().Split(' ', 2)[0]);
        Log($"submitted chain {id}");
        return id;
    }

    public async Task<string> StatusAsync(Guid chain) => (await CliAsync(TimeSpan.FromMinutes(1), "status", "--chain", chain.ToString())).Output;

    // ------------------------------------------------------------------ the database

    public ResultsDbContext Db() => ResultsDbContextOptions.CreateContext(ConnectionString);

    public async Task<T> QueryAsync<T>(Func<ResultsDbContext, Task<T>> query)
    {
        await using var db = Db();
        return await query(db);
    }

    /// <summary>The chain's steps as one line each (for timeouts and logs).</summary>
    public async Task<string> DescribeAsync(Guid chain)
    {
        try
        {
            return await QueryAsync(async db =>
            {
                var c = await db.Chains.AsNoTracking().SingleOrDefaultAsync(x => x.Id == chain);
                var steps = await db.ChainSteps.AsNoTracking().Where(s => s.ChainId == chain).OrderBy(s => s.CreatedAt).ToListAsync();
                return $"chain {c?.Status ?? "not recorded"} {c?.Reason}; steps [" +
                    string.Join("; ", steps.Select(s => $"{s.Kind} {s.Label}: {s.Status} {s.ProgressStep}/{s.ProgressTotal} restarts {s.Restarts} {s.Reason}")) + "]";
            });
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException)
        {
            return $"(database unreachable: {e.Message})";
        }
    }

    /// <summary>Polls the database (riding out its own outages) until <paramref name="condition"/> holds.</summary>
    public Task WaitAsync(Func<ResultsDbContext, Task<bool>> condition, TimeSpan timeout, string what, Guid? chain = null) =>
        Poll.UntilAsync(async () =>
        {
            try { return await QueryAsync(condition); }
            catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException or TimeoutException) { return false; }
        }, timeout, what, chain is { } id ? () => DescribeAsync(id) : null);

    /// <summary>Waits until the chain is final, then asserts it succeeded.</summary>
    public async Task WaitSucceededAsync(Guid chain, TimeSpan timeout)
    {
        await WaitAsync(db => db.Chains.AnyAsync(c => c.Id == chain && ChainStatuses.Final.Contains(c.Status)), timeout,
            $"chain {chain} to finish", chain);
        var c = await QueryAsync(db => db.Chains.AsNoTracking().SingleAsync(x => x.Id == chain));
        Assert.True(c.Status == ChainStatuses.Succeeded, $"chain {chain} {c.Status}: {c.Reason}; {await DescribeAsync(chain)}");
        Log($"chain {chain} succeeded");
    }

    /// <summary>Waits until the pre-training step of <paramref name="chain"/> reports at least <paramref name="step"/>.</summary>
    public Task WaitPretrainProgressAsync(Guid chain, long step, TimeSpan timeout) =>
        WaitAsync(db => db.ChainSteps.AnyAsync(s => s.ChainId == chain && s.Kind == ChainStepKinds.Pretrain && s.ProgressStep >= step),
            timeout, $"the pre-training step of chain {chain} to report step {step}", chain);

    /// <summary>
    /// No loss, no duplicate, for a pipeline that ran <paramref name="chains"/> tiny chains of the same spec (the first
    /// ran every job, the others reused them): per chain exactly 6 steps, all succeeded or skipped; 5 runs (1 pretrain,
    /// 2 finetune, 2 evaluate), all succeeded; 1 checkpoint; 2 downstream_results rows per metric; no unsent outbox
    /// message; every error and skipped queue of this prefix as <paramref name="errorQueues"/> says (default: none).
    /// </summary>
    public async Task AssertNoLossNoDuplicateAsync(IReadOnlyList<Guid> chains, IReadOnlyDictionary<string, long>? errorQueues = null)
    {
        await using var db = Db();
        foreach (var chain in chains)
        {
            var c = await db.Chains.AsNoTracking().SingleAsync(x => x.Id == chain);
            Assert.True(c.Status == ChainStatuses.Succeeded, $"chain {chain}: {c.Status} {c.Reason}");
            var steps = await db.ChainSteps.AsNoTracking().Where(s => s.ChainId == chain).ToListAsync();
            Assert.Equal(ChainSteps, steps.Count);
            Assert.Equal(ChainSteps, c.StepCount);
            Assert.Equal("evaluate:2,finetune:2,pretrain:1,register:1",
                string.Join(",", steps.GroupBy(s => s.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}:{g.Count()}")));
            Assert.All(steps, s => Assert.True(s.Status is ChainStepStatuses.Succeeded or ChainStepStatuses.Skipped,
                $"step {s.Kind} {s.Label}: {s.Status} ({s.Reason})"));
        }
        Assert.Equal(chains.Count, await db.Chains.CountAsync());
        var runs = await db.Runs.AsNoTracking().Select(r => new { r.Kind, r.Status }).ToListAsync();
        Assert.True(runs.Count == 5, $"runs: expected 5 (pretrain, 2 finetune, 2 evaluate), got {runs.Count}: {string.Join(", ", runs.Select(r => r.Kind + " " + r.Status))}");
        Assert.All(runs, r => Assert.Equal("succeeded", r.Status));
        Assert.Equal(1, await db.Checkpoints.CountAsync());
        var results = await db.DownstreamResults.AsNoTracking().ToListAsync();
        // every (direction, metric) once: as many rows as one evaluation writes, twice
        var perKey = results.GroupBy(r => (r.SourceModality, r.TargetModality, r.Split, r.Metric)).Select(g => g.Count()).Distinct().ToList();
        Assert.True(results.Count > 0 && perKey.SequenceEqual([1]), $"downstream_results: {results.Count} rows, a (direction, split, metric) more than once: " +
            string.Join(", ", results.GroupBy(r => (r.SourceModality, r.TargetModality, r.Split, r.Metric)).Where(g => g.Count() > 1).Select(g => $"{g.Key}×{g.Count()}")));
        Assert.Equal(2, results.Select(r => (r.SourceModality, r.TargetModality)).Distinct().Count());
        var unsent = await db.OutboxMessages.CountAsync(m => m.SentAt == null);
        Assert.True(unsent == 0, $"outbox: {unsent} unsent message(s)");
        await AssertErrorQueuesAsync(errorQueues ?? new Dictionary<string, long>());
    }

    /// <summary>Every `_error` / `_skipped` queue of this pipeline's prefix with its message count, exactly <paramref name="expected"/> (empty ones ignored).</summary>
    public async Task AssertErrorQueuesAsync(IReadOnlyDictionary<string, long> expected)
    {
        var queues = await _servers.QueuesAsync();
        var actual = queues.Where(q => q.Key.StartsWith(Prefix + "-", StringComparison.Ordinal) && q.Value > 0
                && (q.Key.EndsWith("_error", StringComparison.Ordinal) || q.Key.EndsWith("_skipped", StringComparison.Ordinal)))
            .ToDictionary(q => q.Key[(Prefix.Length + 1)..], q => q.Value);
        Assert.True(actual.Count == expected.Count && actual.All(a => expected.TryGetValue(a.Key, out var n) && n == a.Value),
            $"error queues: expected [{Describe(expected)}], found [{Describe(actual)}]");
    }

    private static string Describe(IReadOnlyDictionary<string, long> q) => string.Join(", ", q.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => $"{x.Key}={x.Value}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _processes.Where(p => p.IsRunning)) await p.StopAsync();
        foreach (var p in _processes)
        {
            var tail = p.Tail(6);
            if (tail.Length > 0) _output.WriteLine($"--- {p.Name} (last lines of {p.LogFile})\n{tail}");
            p.Dispose();
        }
        Log("pipeline stopped");
    }
}

/// <summary>One service process; stdout and stderr go to its log file.</summary>
public sealed class ServiceProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _gate = new();
    private volatile bool _ready;

    public ServiceProcess(string service, string name, string logFile, ProcessStartInfo psi)
    {
        Service = service;
        Name = name;
        LogFile = logFile;
        _log = new StreamWriter(logFile, append: true, Encoding.UTF8) { AutoFlush = true };
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => Write(e.Data);
        _process.ErrorDataReceived += (_, e) => Write(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Service { get; }
    public string Name { get; }
    public string LogFile { get; }
    public int Pid => _process.Id;
    public bool IsRunning => !_process.HasExited;

    private void Write(string? line)
    {
        if (line is null) return;
        if (line.Contains("\"Bus started", StringComparison.Ordinal) || line.Contains("Bus started:", StringComparison.Ordinal)) _ready = true;
        lock (_gate) _log.WriteLine(line);
    }

    public Task WaitReadyAsync(TimeSpan timeout) =>
        Poll.UntilAsync(() => Task.FromResult(_ready || _process.HasExited), timeout, $"{Name} to log \"Bus started\"")
            .ContinueWith(t =>
            {
                t.GetAwaiter().GetResult();
                if (!_ready) throw new InvalidOperationException($"{Name} exited during start-up (code {_process.ExitCode}): {Tail(20)}");
            }, TaskScheduler.Default);

    /// <summary>SIGKILL: no shutdown hook runs, the delivery it holds goes back to its queue.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>SIGTERM and up to 60 s for the graceful stop, then SIGKILL.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited) return;
        await PrivateServers.RunAsync("kill", $"-TERM {_process.Id}", TimeSpan.FromSeconds(10), check: false);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { Kill(); }
    }

    public IReadOnlyList<string> Lines()
    {
        lock (_gate) _log.Flush();
        using var f = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var r = new StreamReader(f);
        var lines = new List<string>();
        while (r.ReadLine() is { } l) lines.Add(l);
        return lines;
    }

    public string Tail(int lines)
    {
        lock (_gate) _log.Flush();
        return string.Join("\n", Lines().TakeLast(lines).Select(l => l.Length > 400 ? l[..400] + "…" : l));
    }

    public void Dispose()
    {
        _process.Dispose();
        lock (_gate) _log.Dispose();
    }
}
