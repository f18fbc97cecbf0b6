using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Npgsql;
using RabbitMQ.Client;
using UniCode.Messaging;
using UniCode.Model.Runtime;
using UniCode.Persistence;

namespace UniCode.Jobs;

/// <summary>One dependency check of the <c>health</c> command.</summary>
public sealed record JobHealthResult(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("healthy")] bool Healthy,
    [property: JsonPropertyName("detail")] string Detail,
    [property: JsonPropertyName("ms")] long ElapsedMs);

/// <summary>What the <c>health</c> command prints, as one JSON line.</summary>
public sealed record JobHealthReport(
    [property: JsonPropertyName("service")] string Service,
    [property: JsonPropertyName("healthy")] bool Healthy,
    [property: JsonPropertyName("checks")] IReadOnlyList<JobHealthResult> Checks)
{
    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}

/// <summary>The entry point of a job service executable: run the host, or <c>health</c>.</summary>
public static class JobServiceProgram
{
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// No argument: run the service until SIGTERM/Ctrl+C. <c>health</c>: check PostgreSQL (and pending
    /// migrations), RabbitMQ, the work and artifact directories and the device; print one JSON line; exit
    /// 0 when all are healthy, 1 otherwise. Anything else: usage, exit 2.
    /// </summary>
    public static async Task<int> RunAsync(string service, string[] args, Action<IBusRegistrationConfigurator, JobHostOptions> addJobConsumers)
    {
        if (args is ["health"])
        {
            var report = await CheckHealthAsync(service, Environment.GetEnvironmentVariable, Directory.GetCurrentDirectory(), CancellationToken.None);
            Console.Out.WriteLine(report.ToJson());
            return report.Healthy ? 0 : 1;
        }
        if (args.Length > 0)
        {
            Console.Error.WriteLine($"unicode-{service}: unknown arguments '{string.Join(' ', args)}'; expected none (run the service) or 'health'");
            return 2;
        }
        JobHostOptions options;
        try
        {
            options = JobHostOptions.FromEnvironment(service);
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"unicode-{service}: {e.Message}");
            return 1;
        }
        using var host = JobServiceHost.Build(options, addJobConsumers);
        try
        {
            await host.RunAsync();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or Npgsql.NpgsqlException or MassTransit.RabbitMqConnectionException)
        {
            // A start-up failure (device not available, database or broker unreachable): one line, not a stack trace.
            Console.Error.WriteLine($"unicode-{service}: could not start: {e.GetType().Name}: {e.Message}");
            return 1;
        }
        return 0;
    }

    /// <summary>Runs every check (each at most <see cref="CheckTimeout"/>); a malformed variable fails its check, not the command.</summary>
    public static async Task<JobHealthReport> CheckHealthAsync(string service, Func<string, string?> lookup, string startDirectory, CancellationToken ct)
    {
        var checks = new (string Name, Func<CancellationToken, Task<string>> Probe)[]
        {
            ("postgres", async t =>
            {
                var s = DatabaseSettings.FromEnvironment(lookup);
                await using var db = ResultsDbContextOptions.CreateContext(s.ConnectionString);
                await db.Database.OpenConnectionAsync(t);
                var pending = (await db.Database.GetPendingMigrationsAsync(t)).Count();
                var connection = (NpgsqlConnection)db.Database.GetDbConnection();
                return $"{s.Describe()}: PostgreSQL {connection.PostgreSqlVersion}, {pending} pending migration(s) (applied at start)";
            }),
            ("rabbitmq", async t =>
            {
                var s = RabbitMqSettings.FromEnvironment(lookup);
                var factory = new ConnectionFactory
                {
                    HostName = s.Host, Port = s.Port, VirtualHost = s.VirtualHost, UserName = s.Username, Password = s.Password,
                    RequestedConnectionTimeout = CheckTimeout, AutomaticRecoveryEnabled = false,
                };
                await using var connection = await factory.CreateConnectionAsync("unicode-" + service + "-health", t);
                await using var channel = await connection.CreateChannelAsync(cancellationToken: t);
                return s.Describe();
            }),
            ("work", t => Writable(JobSettings.FromEnvironment(lookup, startDirectory).WorkDirectory, t)),
            ("artifacts", t => Writable(JobSettings.FromEnvironment(lookup, startDirectory).ArtifactsDirectory, t)),
            ("device", _ =>
            {
                var settings = JobSettings.FromEnvironment(lookup, startDirectory);
                var device = DeviceSelector.Select(settings.Device);
                return Task.FromResult($"{settings.Device}: {device}, code version {CodeVersion.Current}");
            }),
        };
        var results = new List<JobHealthResult>();
        foreach (var (name, probe) in checks)
        {
            var watch = Stopwatch.StartNew();
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(CheckTimeout);
            try
            {
                var detail = await probe(deadline.Token).WaitAsync(deadline.Token);
                results.Add(new JobHealthResult(name, true, detail, watch.ElapsedMilliseconds));
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                results.Add(new JobHealthResult(name, false, $"no answer within {CheckTimeout.TotalSeconds:0} s", watch.ElapsedMilliseconds));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                results.Add(new JobHealthResult(name, false, $"{e.GetType().Name}: {e.Message}", watch.ElapsedMilliseconds));
            }
        }
        return new JobHealthReport(service, results.All(r => r.Healthy), results);
    }

    private static async Task<string> Writable(string directory, CancellationToken ct)
    {
        Directory.CreateDirectory(directory);
        var probe = Path.Combine(directory, $".health-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var bytes = Guid.NewGuid().ToByteArray();
        try
        {
            await File.WriteAllBytesAsync(probe, bytes, ct);
            if (!(await File.ReadAllBytesAsync(probe, ct)).AsSpan().SequenceEqual(bytes))
                throw new IOException($"{probe}: read back other bytes than were written");
        }
        finally
        {
            File.Delete(probe);
        }
        return $"{directory} writable, {new DriveInfo(directory).AvailableFreeSpace / (1L << 30)} GiB free";
    }
}
