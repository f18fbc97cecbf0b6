using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using UniCode.Messaging;
using UniCode.Persistence;

namespace UniCode.Hosting;

/// <summary>
/// The entry point of a service executable. No argument: build the Generic Host with
/// <c>configure</c> and run it until SIGTERM/Ctrl+C. <c>health</c>: run the dependency checks, print one
/// JSON line (<see cref="HealthReport"/>) and exit 0 when every check passed, 1 otherwise.
/// </summary>
public static class ServiceProgram
{
    public static async Task<int> RunAsync(
        string service, string[] args, IReadOnlyList<HealthCheck> healthChecks, Action<HostApplicationBuilder> configure)
    {
        if (args.Length == 1 && args[0] == "health")
        {
            var report = await HealthChecks.RunAsync(service, healthChecks);
            Console.Out.WriteLine(report.ToJson());
            return report.Healthy ? 0 : 1;
        }
        if (args.Length > 0)
        {
            Console.Error.WriteLine($"unicode-{service}: unknown arguments '{string.Join(' ', args)}'; expected none (run the service) or 'health'");
            return 2;
        }

        IHost host;
        try
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ApplicationName = "unicode-" + service });
            builder.Logging.AddUniCodeJsonConsole();
            configure(builder);
            host = builder.Build();
        }
        catch (InvalidOperationException e)
        {
            // Settings from the environment (UNICODE_PG, UNICODE_RABBITMQ_*, …) say what is missing.
            Console.Error.WriteLine($"unicode-{service}: {e.Message}");
            return 1;
        }
        await host.RunAsync();
        return 0;
    }

    /// <summary>
    /// Replaces the log providers by the JSON console logger: one JSON object a line, UTC timestamps, and
    /// the scopes (<see cref="JobLogScope"/>: job_id, chain_id, step_key) on every line written inside them;
    /// EF Core quiet (<see cref="DatabaseLogging.AddQuietDatabaseLogging"/>).
    /// </summary>
    public static ILoggingBuilder AddUniCodeJsonConsole(this ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddJsonConsole(o =>
        {
            o.IncludeScopes = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
        });
        logging.AddQuietDatabaseLogging();
        return logging;
    }
}

/// <summary>The log scope of a unit of job work: every line logged inside carries job_id, chain_id and step_key.</summary>
public static class JobLogScope
{
    public static IDisposable? Begin(ILogger logger, Guid jobId, Guid? chainId, string? stepKey = null)
    {
        var fields = new List<KeyValuePair<string, object?>> { new("job_id", jobId), new("chain_id", chainId) };
        if (stepKey is not null) fields.Add(new("step_key", stepKey));
        return logger.BeginScope(new ScopeFields(fields));
    }

    /// <summary>For work that belongs to a chain but is not a job (registrations, alias moves).</summary>
    public static IDisposable? Begin(ILogger logger, Guid? chainId, IReadOnlyDictionary<string, object?> fields) =>
        logger.BeginScope(new ScopeFields([.. fields, new("chain_id", chainId)]));

    /// <summary>Scope state the JSON console logger writes as properties (and as "k=v, …" in its Message).</summary>
    private sealed class ScopeFields(IReadOnlyList<KeyValuePair<string, object?>> fields) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public KeyValuePair<string, object?> this[int index] => fields[index];
        public int Count => fields.Count;
        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => fields.GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
        public override string ToString() => string.Join(", ", fields.Select(f => $"{f.Key}={f.Value}"));
    }
}
