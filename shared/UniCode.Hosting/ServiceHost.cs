using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UniCode.Hosting.Health;

namespace UniCode.Hosting;

/// <summary>
/// The entry point of every service executable (unicode-registry, -preprocessing, -orchestrator, -trainer,
/// -finetuning, -evaluation). No argument (or <c>run</c>): build the Generic Host with the
/// <see cref="ServiceDefaults"/> and the service's own registrations and run it until SIGTERM/Ctrl+C.
/// <c>health</c>: run the registered health checks, print one JSON line (<see cref="HealthJson"/>) and exit 0 when
/// every check passed, 1 otherwise. Anything else: usage, exit 2. A settings error at start is one line on stderr
/// and exit 1.
/// </summary>
public static class ServiceHost
{
    public static async Task<int> RunAsync(string service, string[] args, Action<HostApplicationBuilder> configure)
    {
        switch (args)
        {
            case ["health"]:
                return await HealthAsync(service, configure, Console.Out);
            case [] or ["run"]:
                break;
            default:
                await Console.Error.WriteLineAsync($"unicode-{service}: unknown arguments '{string.Join(' ', args)}'; expected none (run the service), 'run' or 'health'");
                return 2;
        }

        IHost host;
        try
        {
            host = Build(service, configure);
        }
        catch (Exception e) when (IsSettingsError(e))
        {
            // Settings from the environment (UNICODE_PG, UNICODE_RABBITMQ_*, …) say what is missing.
            await Console.Error.WriteLineAsync($"unicode-{service}: {e.Message}");
            return 1;
        }
        using (host)
        {
            try
            {
                await host.RunAsync();
            }
            catch (Exception e) when (IsSettingsError(e) || e is Npgsql.NpgsqlException or RabbitMqConnectionException)
            {
                // A start-up failure (device not available, database or broker unreachable): one line, not a stack trace.
                await Console.Error.WriteLineAsync($"unicode-{service}: could not start: {e.GetType().Name}: {e.Message}");
                return 1;
            }
        }
        return 0;
    }

    /// <summary>
    /// The service's host builder: configuration from environment variables (and an optional appsettings.json beside
    /// the executable), <paramref name="configuration"/> on top (tests), then <see cref="ServiceDefaults.AddServiceDefaults"/>.
    /// </summary>
    public static HostApplicationBuilder CreateBuilder(string service, IEnumerable<KeyValuePair<string, string?>>? configuration = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [],
            ApplicationName = "unicode-" + service,
            ContentRootPath = AppContext.BaseDirectory,
        });
        if (configuration is not null) builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddServiceDefaults();
        return builder;
    }

    /// <summary>The service's host (not started): <see cref="CreateBuilder"/>, then <paramref name="configure"/>.</summary>
    public static IHost Build(string service, Action<HostApplicationBuilder> configure, IEnumerable<KeyValuePair<string, string?>>? configuration = null)
    {
        var builder = CreateBuilder(service, configuration);
        configure(builder);
        return builder.Build();
    }

    /// <summary>
    /// The <c>health</c> verb: runs the checks the service registers (the defaults' postgres and rabbitmq, and its
    /// own), writes one JSON line to <paramref name="output"/>, returns 0 when every check passed, 1 otherwise. A
    /// malformed setting fails its check (or, when the service's registrations cannot be made, a "configuration"
    /// check beside the defaults), never the command: the line is always printed.
    /// </summary>
    public static async Task<int> HealthAsync(string service, Action<HostApplicationBuilder> configure, TextWriter output,
        IEnumerable<KeyValuePair<string, string?>>? configuration = null, CancellationToken cancellationToken = default)
    {
        var settings = configuration?.ToList();
        IHost host;
        try
        {
            host = Build(service, b => { Quiet(b); configure(b); }, settings);
        }
        catch (Exception e) when (IsSettingsError(e))
        {
            host = Build(service, b =>
            {
                Quiet(b);
                b.Services.AddHealthChecks().Add(new HealthCheckRegistration("configuration", _ => new FailedHealthCheck(e), null, null));
            }, settings);
        }
        using (host)
        {
            // MassTransit registers a check of its own bus, which a `health` process never starts: not ours to report.
            var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(
                r => !r.Name.StartsWith("masstransit", StringComparison.OrdinalIgnoreCase) && !r.Tags.Contains("masstransit"), cancellationToken);
            var order = host.Services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations.Select(r => r.Name).ToList();
            await output.WriteLineAsync(HealthJson.Write(service, report, order));
            return report.Status == HealthStatus.Healthy ? 0 : 1;
        }
    }

    // stdout carries the one JSON line only.
    private static void Quiet(HostApplicationBuilder builder) => builder.Logging.ClearProviders();

    private static bool IsSettingsError(Exception e) => e is InvalidOperationException or ArgumentException or OptionsValidationException;
}
