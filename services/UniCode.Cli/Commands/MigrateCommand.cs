using UniCode.Cli.CommandLine;
using UniCode.Persistence;

namespace UniCode.Cli.Commands;

/// <summary>`unicode migrate`: applies the results database's pending EF Core migrations (incl. the Quartz tables).</summary>
public static class MigrateCommand
{
    public static CommandSpec Spec { get; } = new(
        "migrate",
        "create or upgrade the results database (PostgreSQL, UNICODE_PG) to the current schema",
        [new OptionSpec("connection", "Npgsql connection string (default: $UNICODE_PG)", Value: "CS")],
        Run,
        "Safe to run any number of times: applies only what is missing, and prints what it applied.");

    private static int Run(ParsedArgs a, CancellationToken ct)
    {
        var cs = a.String("connection") ?? DatabaseSettings.FromEnvironment().ConnectionString;
        var applied = DatabaseMigrator.MigrateAsync(cs, ct).GetAwaiter().GetResult();
        Console.WriteLine(applied.Count == 0 ? "database is up to date" : $"applied {applied.Count} migration(s): {string.Join(", ", applied)}");
        return 0;
    }
}
