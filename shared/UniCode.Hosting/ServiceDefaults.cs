using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using UniCode.Hosting.Health;
using UniCode.Messaging;
using UniCode.Persistence;
using UniCode.Settings;

namespace UniCode.Hosting;

/// <summary>
/// What every service host has (the eShop <c>AddServiceDefaults()</c> idea): the JSON console logs, the broker and
/// database settings read from configuration (environment variables UNICODE_PG, UNICODE_RABBITMQ_*, UNICODE_BUS_PREFIX,
/// UNICODE_RETRY_WINDOW_SECONDS; an appsettings.json beside the executable may set them too), and the PostgreSQL and
/// RabbitMQ health checks. A service adds its own registrations (and its own checks) after this.
/// </summary>
public static class ServiceDefaults
{
    /// <summary>Logging, settings and the "postgres" and "rabbitmq" health checks; <see cref="ServiceHost"/> calls it before the service's own registrations.</summary>
    public static HostApplicationBuilder AddServiceDefaults(this HostApplicationBuilder builder)
    {
        builder.Logging.AddUniCodeJsonConsole();
        builder.Services.AddSettings<DatabaseSettings>();
        builder.Services.AddSettings<RabbitMqSettings>();
        builder.Services.AddHealthChecks()
            .AddCheck<PostgresHealthCheck>("postgres")
            .AddCheck<RabbitMqHealthCheck>("rabbitmq");
        return builder;
    }

    /// <summary>The results database of this host (UNICODE_PG).</summary>
    /// <exception cref="InvalidOperationException">The variable is missing or malformed; the message names it and what it expects.</exception>
    public static DatabaseSettings DatabaseSettings(this IConfiguration configuration) => configuration.Settings<DatabaseSettings>();

    /// <summary>The broker of this host, with its queue prefix and retry window (UNICODE_RABBITMQ_*, UNICODE_BUS_PREFIX, UNICODE_RETRY_WINDOW_SECONDS).</summary>
    /// <exception cref="InvalidOperationException">A variable is missing or malformed; the message names it and what it expects.</exception>
    public static RabbitMqSettings RabbitMqSettings(this IConfiguration configuration) => configuration.Settings<RabbitMqSettings>();

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
