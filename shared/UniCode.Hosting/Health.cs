using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;
using RabbitMQ.Client;
using UniCode.Messaging;
using UniCode.Persistence;
using UniCode.Persistence.Artifacts;

namespace UniCode.Hosting;

/// <summary>One dependency check of the <c>health</c> command: returns a detail line, throws when unhealthy.</summary>
/// <param name="Name">Short name, e.g. "postgres".</param>
/// <param name="Probe">Checks the dependency; the token is cancelled at the check's deadline.</param>
public sealed record HealthCheck(string Name, Func<CancellationToken, Task<string>> Probe);

/// <summary>The outcome of one <see cref="HealthCheck"/>.</summary>
public sealed record HealthResult(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("healthy")] bool Healthy,
    [property: JsonPropertyName("detail")] string Detail,
    [property: JsonPropertyName("ms")] long ElapsedMs);

/// <summary>What the <c>health</c> command prints, as one JSON line.</summary>
public sealed record HealthReport(
    [property: JsonPropertyName("service")] string Service,
    [property: JsonPropertyName("healthy")] bool Healthy,
    [property: JsonPropertyName("checks")] IReadOnlyList<HealthResult> Checks)
{
    public string ToJson() => JsonSerializer.Serialize(this);
}

/// <summary>
/// The dependency checks services share. Each takes its settings as a function, so a missing or malformed
/// environment variable is reported as that check's failure (with the settings' message) instead of
/// stopping the command before it prints anything.
/// </summary>
public static class HealthChecks
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Opens a connection to UNICODE_PG and runs <c>SELECT version()</c>.</summary>
    public static HealthCheck Postgres(Func<DatabaseSettings> settings) => new("postgres", async ct =>
    {
        var s = settings();
        await using var connection = new NpgsqlConnection(s.ConnectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("SELECT split_part(version(), ' ', 2)", connection);
        var version = await command.ExecuteScalarAsync(ct);
        return $"{s.Describe()}: PostgreSQL {version}";
    });

    /// <summary>Opens an AMQP connection (credentials and virtual host included) and a channel.</summary>
    public static HealthCheck RabbitMq(Func<RabbitMqSettings> settings) => new("rabbitmq", async ct =>
    {
        var s = settings();
        var factory = new ConnectionFactory
        {
            HostName = s.Host,
            Port = s.Port,
            VirtualHost = s.VirtualHost,
            UserName = s.Username,
            Password = s.Password,
            RequestedConnectionTimeout = DefaultTimeout,
            AutomaticRecoveryEnabled = false,
        };
        await using var connection = await factory.CreateConnectionAsync("unicode-health", ct);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: ct);
        var server = connection.ServerProperties is { } p && p.TryGetValue("version", out var v) && v is byte[] bytes
            ? " (RabbitMQ " + System.Text.Encoding.UTF8.GetString(bytes) + ")"
            : "";
        return s.Describe() + server;
    });

    /// <summary>Creates the store's root if needed, then writes, reads back and deletes a probe file.</summary>
    public static HealthCheck ArtifactDirectory(Func<ArtifactStore> store) => new("artifacts", async ct =>
    {
        var s = store();
        var staging = s.CreateStagingDirectory("health");
        try
        {
            var probe = Path.Combine(staging, "probe");
            var bytes = Guid.NewGuid().ToByteArray();
            await File.WriteAllBytesAsync(probe, bytes, ct);
            if (!(await File.ReadAllBytesAsync(probe, ct)).AsSpan().SequenceEqual(bytes))
                throw new IOException($"{probe}: read back other bytes than were written");
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
        var free = new DriveInfo(s.Root).AvailableFreeSpace;
        return $"{s.Root} writable, {free / (1L << 30)} GiB free";
    });

    /// <summary>Runs the checks one after another, each with <paramref name="timeout"/>.</summary>
    public static async Task<HealthReport> RunAsync(string service, IReadOnlyList<HealthCheck> checks, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var results = new List<HealthResult>();
        foreach (var check in checks)
        {
            var watch = Stopwatch.StartNew();
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout ?? DefaultTimeout);
            try
            {
                var detail = await check.Probe(deadline.Token).WaitAsync(deadline.Token);
                results.Add(new HealthResult(check.Name, true, detail, watch.ElapsedMilliseconds));
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                results.Add(new HealthResult(check.Name, false, $"no answer within {(timeout ?? DefaultTimeout).TotalSeconds:0.#} s", watch.ElapsedMilliseconds));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                results.Add(new HealthResult(check.Name, false, $"{e.GetType().Name}: {e.Message}", watch.ElapsedMilliseconds));
            }
        }
        return new HealthReport(service, results.All(r => r.Healthy), results);
    }
}
