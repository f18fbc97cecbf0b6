using Microsoft.Extensions.Logging;

namespace UniCode.Persistence;

/// <summary>
/// The one place that sets how loudly EF Core logs in UniCode's hosts (the job services, the registry and
/// preprocessing services, the orchestrator): warnings and errors only, and never a line per SQL command.
/// EF Core otherwise logs every command it runs at Information (the orchestrator's outbox poll and
/// reconciler wrote megabytes an hour while idle), and logs the expected failed probe of
/// <c>__EFMigrationsHistory</c> on a fresh database as an error; a command that fails surfaces as an exception,
/// which the caller (or MassTransit) logs anyway.
/// </summary>
public static class DatabaseLogging
{
    /// <summary>Every EF Core category starts with this.</summary>
    public const string EfCoreCategory = "Microsoft.EntityFrameworkCore";

    /// <summary>The category of "Executed DbCommand …" (Information) and "Failed executing DbCommand …" (Error).</summary>
    public const string CommandCategory = "Microsoft.EntityFrameworkCore.Database.Command";

    /// <summary>EF Core at <see cref="LogLevel.Warning"/> and above, its SQL command lines not at all (every provider).</summary>
    public static ILoggingBuilder AddQuietDatabaseLogging(this ILoggingBuilder logging)
    {
        ArgumentNullException.ThrowIfNull(logging);
        logging.AddFilter(EfCoreCategory, LogLevel.Warning);
        logging.AddFilter(CommandCategory, LogLevel.None);
        return logging;
    }
}
