using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace UniCode.Faults.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL cluster and a RabbitMQ node of this test run only: data directories under a temp dir, free loopback
/// ports, its own Erlang node name and its own epmd port, started from the Debian packages' binaries the way
/// infra/local-services.sh invokes them. The suite stops, kills and restarts them at will; the user's servers
/// (.local-services, ports 5432/5672, node rabbit@localhost) are never touched. A missing binary fails the suite
/// with the package to install.
/// </summary>
public sealed class PrivateServers : IAsyncLifetime
{
    private const string RabbitBin = "/usr/lib/rabbitmq/bin";
    private readonly string _root = Directory.CreateTempSubdirectory("unicode-faults-").FullName;
    private readonly string _password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
    private string _pgBin = "";

    public int PgPort { get; } = FreePort();
    public int RabbitPort { get; } = FreePort();
    private int RabbitDistPort { get; } = FreePort();
    private int EpmdPort { get; } = FreePort();
    public string RabbitNode { get; } = $"unicode-faults-{Environment.ProcessId}@localhost";
    public string RabbitUser => "faults";
    public string Password => _password;
    public string Root => _root;

    private string PgData => Path.Combine(_root, "pg", "data");
    private string RabbitDir => Path.Combine(_root, "rabbitmq");

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={PgPort};Database={database};Username=postgres;Password={_password};Pooling=false;Timeout=5";

    public async Task InitializeAsync()
    {
        _pgBin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "pg_ctl")) && File.Exists(Path.Combine(b, "initdb")))
                .OrderBy(b => b, StringComparer.Ordinal).LastOrDefault() ?? ""
            : "";
        var missing = new List<string>();
        if (_pgBin.Length == 0) missing.Add("postgresql (pg_ctl, initdb under /usr/lib/postgresql/*/bin)");
        if (!File.Exists(Path.Combine(RabbitBin, "rabbitmq-server"))) missing.Add($"rabbitmq-server ({RabbitBin}/rabbitmq-server)");
        if (!File.Exists("/usr/bin/epmd") && !File.Exists("/usr/lib/erlang/bin/epmd")) missing.Add("erlang-base (epmd)");
        if (missing.Count > 0)
            throw new InvalidOperationException(
                $"the fault-injection suite starts its own PostgreSQL and RabbitMQ and cannot: missing {string.Join(", ", missing)}. " +
                "Install them with `apt-get install postgresql rabbitmq-server` (or run `make services-up` once, which does).");

        // postgres (the cluster's owner when we are root) must reach the data directory
        await RunAsync("chmod", $"755 {_root}", TimeSpan.FromSeconds(10));
        await Task.WhenAll(InitPostgresAsync(), InitRabbitAsync());
    }

    // ------------------------------------------------------------------ PostgreSQL

    private static bool IsRoot => Environment.UserName == "root";

    private Task<string> AsPgOwnerAsync(string exe, string args, TimeSpan timeout) =>
        IsRoot ? RunAsync("runuser", $"-u postgres -- {exe} {args}", timeout) : RunAsync(exe, args, timeout);

    private async Task InitPostgresAsync()
    {
        var dir = Path.GetDirectoryName(PgData)!;
        Directory.CreateDirectory(dir);
        var pwfile = Path.Combine(_root, "pgpass");
        await File.WriteAllTextAsync(pwfile, _password + "\n");
        if (IsRoot)
        {
            await RunAsync("chown", $"postgres:postgres {dir} {pwfile}", TimeSpan.FromSeconds(10));
        }
        await AsPgOwnerAsync(Path.Combine(_pgBin, "initdb"),
            $"-D {PgData} -U postgres --auth-local=peer --auth-host=scram-sha-256 --pwfile={pwfile} -E UTF8 --locale=C.UTF-8",
            TimeSpan.FromSeconds(120));
        File.Delete(pwfile);
        var conf = $"""

            listen_addresses = '127.0.0.1'
            port = {PgPort}
            unix_socket_directories = '{dir}'
            fsync = off
            synchronous_commit = off
            full_page_writes = off
            max_connections = 200
            """;
        if (IsRoot)
            await RunAsync("bash", $"-c \"cat >> {PgData}/postgresql.conf\"", TimeSpan.FromSeconds(10), stdin: conf);
        else
            await File.AppendAllTextAsync(Path.Combine(PgData, "postgresql.conf"), conf);
        await StartPostgresAsync();
    }

    /// <summary>Starts the cluster and waits until it accepts a login.</summary>
    public async Task StartPostgresAsync()
    {
        await AsPgOwnerAsync(Path.Combine(_pgBin, "pg_ctl"), $"-D {PgData} -l {Path.GetDirectoryName(PgData)}/server.log -w -t 60 start", TimeSpan.FromSeconds(90));
        await Poll.UntilAsync(async () =>
        {
            try
            {
                await using var c = new NpgsqlConnection(ConnectionString("postgres"));
                await c.OpenAsync();
                return true;
            }
            catch (NpgsqlException) { return false; }
        }, TimeSpan.FromSeconds(60), "the private PostgreSQL to accept a login after pg_ctl start");
    }

    /// <summary>Stops the cluster at once (pg_ctl -m immediate: every connection is cut, as in a crash).</summary>
    public Task StopPostgresAsync() =>
        AsPgOwnerAsync(Path.Combine(_pgBin, "pg_ctl"), $"-D {PgData} -m immediate -w -t 60 stop", TimeSpan.FromSeconds(90));

    public async Task CreateDatabaseAsync(string name)
    {
        await using var c = new NpgsqlConnection(ConnectionString("postgres"));
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", c);
        await cmd.ExecuteNonQueryAsync();
    }

    // ------------------------------------------------------------------ RabbitMQ

    private Dictionary<string, string> RabbitEnvironment() => new()
    {
        ["HOME"] = RabbitDir,                                   // .erlang.cookie
        ["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(RabbitDir, "rabbitmq-env.conf"),
        ["RABBITMQ_CONFIG_FILE"] = Path.Combine(RabbitDir, "rabbitmq"),
        ["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(RabbitDir, "advanced.config"),
        ["RABBITMQ_NODENAME"] = RabbitNode,
        ["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1",
        ["RABBITMQ_NODE_PORT"] = RabbitPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RABBITMQ_DIST_PORT"] = RabbitDistPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RABBITMQ_MNESIA_BASE"] = Path.Combine(RabbitDir, "mnesia"),
        ["RABBITMQ_LOG_BASE"] = Path.Combine(RabbitDir, "log"),
        ["RABBITMQ_PID_FILE"] = Path.Combine(RabbitDir, "rabbit.pid"),
        ["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(RabbitDir, "enabled_plugins"),
        ["ERL_EPMD_ADDRESS"] = "127.0.0.1",
        ["ERL_EPMD_PORT"] = EpmdPort.ToString(System.Globalization.CultureInfo.InvariantCulture),   // an epmd of our own
    };

    private async Task InitRabbitAsync()
    {
        Directory.CreateDirectory(Path.Combine(RabbitDir, "log"));
        Directory.CreateDirectory(Path.Combine(RabbitDir, "mnesia"));
        await File.WriteAllTextAsync(Path.Combine(RabbitDir, "rabbitmq-env.conf"), "");
        await File.WriteAllTextAsync(Path.Combine(RabbitDir, "enabled_plugins"), "[].\n");
        await File.WriteAllTextAsync(Path.Combine(RabbitDir, "rabbitmq.conf"), $"""
            listeners.tcp.default = 127.0.0.1:{RabbitPort}
            loopback_users = none
            default_user = {RabbitUser}
            default_pass = {_password}
            default_vhost = /
            consumer_timeout = 604800000
            log.file.level = warning

            """);
        await StartRabbitAsync();
    }

    private int? _rabbitShell;

    /// <summary>Starts the node (its durable queues and their messages come back) and waits for the AMQP handshake.</summary>
    public async Task StartRabbitAsync()
    {
        var psi = new ProcessStartInfo("bash", ["-c", $"exec {RabbitBin}/rabbitmq-server >> {RabbitDir}/log/server.out 2>&1 </dev/null"])
        {
            UseShellExecute = false,
        };
        foreach (var (k, v) in RabbitEnvironment()) psi.Environment[k] = v;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start rabbitmq-server");
        _rabbitShell = p.Id;
        var started = Stopwatch.StartNew();
        await Poll.UntilAsync(() => Task.FromResult(AmqpReady(RabbitPort) || p.HasExited), TimeSpan.FromSeconds(120),
            $"the private RabbitMQ node {RabbitNode} to answer AMQP on 127.0.0.1:{RabbitPort}");
        if (p.HasExited)
            throw new InvalidOperationException($"rabbitmq-server exited during start-up: {Tail(Path.Combine(RabbitDir, "log", "server.out"))}");
        _ = started;
    }

    /// <summary>Stops the node (SIGTERM to beam.smp: a graceful shutdown as after `systemctl stop`; KILL after 30 s).</summary>
    public async Task StopRabbitAsync()
    {
        var pidFile = Path.Combine(RabbitDir, "rabbit.pid");
        if (!File.Exists(pidFile)) return;
        var pid = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        if (Alive(pid))
        {
            await RunAsync("kill", $"-TERM {pid}", TimeSpan.FromSeconds(10));
            try
            {
                await Poll.UntilAsync(() => Task.FromResult(!Alive(pid)), TimeSpan.FromSeconds(30), $"RabbitMQ (beam pid {pid}) to exit after SIGTERM");
            }
            catch (TimeoutException)
            {
                await RunAsync("kill", $"-KILL {pid}", TimeSpan.FromSeconds(10));
            }
        }
        if (_rabbitShell is { } sh && Alive(sh)) await RunAsync("kill", $"-TERM {sh}", TimeSpan.FromSeconds(10), check: false);
        File.Delete(pidFile);
        await Poll.UntilAsync(() => Task.FromResult(!AmqpReady(RabbitPort)), TimeSpan.FromSeconds(30), $"port {RabbitPort} to close after RabbitMQ stopped");
    }

    /// <summary>Every queue of the node with its ready + unacknowledged message count (rabbitmqctl list_queues).</summary>
    public async Task<IReadOnlyDictionary<string, long>> QueuesAsync()
    {
        var text = await RunAsync(Path.Combine(RabbitBin, "rabbitmqctl"), $"-q -n {RabbitNode} list_queues name messages --no-table-headers",
            TimeSpan.FromSeconds(60), env: RabbitEnvironment());
        var queues = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split('\t', StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && long.TryParse(parts[1], out var n)) queues[parts[0]] = n;
        }
        return queues;
    }

    /// <summary>The names of the node's exchanges (rabbitmqctl list_exchanges).</summary>
    public async Task<IReadOnlyList<string>> ExchangesAsync()
    {
        var text = await RunAsync(Path.Combine(RabbitBin, "rabbitmqctl"), $"-q -n {RabbitNode} list_exchanges name --no-table-headers",
            TimeSpan.FromSeconds(60), env: RabbitEnvironment());
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public async Task DisposeAsync()
    {
        try { await StopRabbitAsync(); } catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException) { }
        await RunAsync("/usr/bin/epmd", $"-port {EpmdPort} -kill", TimeSpan.FromSeconds(10), check: false, env: RabbitEnvironment());
        if (File.Exists(Path.Combine(PgData, "postmaster.pid")))
            await AsPgOwnerAsync(Path.Combine(_pgBin, "pg_ctl"), $"-D {PgData} -m immediate -w -t 30 stop", TimeSpan.FromSeconds(60)).ContinueWith(_ => { });
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    // ------------------------------------------------------------------ helpers

    public static bool Alive(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat)) return false;
        try
        {
            var text = File.ReadAllText(stat);
            var state = text[(text.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z";
        }
        catch (IOException) { return false; }
    }

    private static bool AmqpReady(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            using var s = client.GetStream();
            s.ReadTimeout = 3000;
            s.Write("AMQP\0\0\u0009\u0001"u8);
            return s.ReadByte() == 1;   // Connection.Start is a method frame (type 1)
        }
        catch (Exception e) when (e is SocketException or IOException) { return false; }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public static string Tail(string path, int lines = 30) =>
        File.Exists(path) ? string.Join("\n", File.ReadLines(path).TakeLast(lines)) : $"({path} does not exist)";

    /// <summary>Runs a command to its end; throws with its output when it fails (unless <paramref name="check"/> is false).</summary>
    public static async Task<string> RunAsync(string exe, string args, TimeSpan timeout, bool check = true, string? stdin = null,
        IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(exe, args)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false,
        };
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {exe}");
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin);
            p.StandardInput.Close();
        }
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{exe} {args}` did not finish within {timeout.TotalSeconds:F0} s");
        }
        var output = new StringBuilder().Append(await stdout).Append(await stderr).ToString();
        if (check && p.ExitCode != 0) throw new InvalidOperationException($"`{exe} {args}` exited with {p.ExitCode}: {output}");
        return await stdout;
    }
}

[CollectionDefinition(Name)]
public sealed class FaultCollection : ICollectionFixture<PrivateServers>
{
    public const string Name = "private servers";
}

public static class Poll
{
    /// <summary>Polls <paramref name="condition"/> every 200 ms until it holds; a timeout names what was awaited.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<Task<string>>? describe = null)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:F0} s waiting for {what}{(describe is null ? "" : ": " + await describe())}");
            await Task.Delay(200);
        }
    }
}
