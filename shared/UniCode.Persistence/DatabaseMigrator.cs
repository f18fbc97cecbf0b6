using Microsoft.EntityFrameworkCore;

namespace UniCode.Persistence;

/// <summary>
/// Applies the pending migrations of the results database (the `unicode migrate` command, the
/// <see cref="MigrateDatabaseHostedService"/>). Safe to run concurrently from several hosts: EF Core
/// takes a database lock while migrating, and a second run applies nothing. The lock cannot cover the
/// very first migration of an empty database (creating the database and its history table), so a host
/// that loses that race retries once the winner has finished.
/// </summary>
public static class DatabaseMigrator
{
    /// <summary>Creates the database if it does not exist, applies pending migrations, and returns their names in order.</summary>
    public static async Task<IReadOnlyList<string>> MigrateAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var context = ResultsDbContextOptions.CreateContext(connectionString);
        return await MigrateAsync(context, cancellationToken);
    }

    /// <inheritdoc cref="MigrateAsync(string, CancellationToken)"/>
    public static async Task<IReadOnlyList<string>> MigrateAsync(ResultsDbContext context, CancellationToken cancellationToken)
    {
        // Without this guard a host that forgot to reference the migrations assembly would "migrate"
        // nothing and start against an empty database.
        if (!context.Database.GetMigrations().Any())
        {
            throw new InvalidOperationException(
                $"no migrations found in assembly '{ResultsDbContextOptions.MigrationsAssembly}': the host project " +
                "must reference migrations/UniCode.Migrations/UniCode.Migrations.csproj");
        }
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var before = (await context.Database.GetAppliedMigrationsAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);
                await context.Database.MigrateAsync(cancellationToken);
                var after = await context.Database.GetAppliedMigrationsAsync(cancellationToken);
                return after.Where(m => !before.Contains(m)).ToList();
            }
            catch (Npgsql.PostgresException e) when (attempt < 5 && e.SqlState is
                Npgsql.PostgresErrorCodes.UniqueViolation or Npgsql.PostgresErrorCodes.DuplicateTable or Npgsql.PostgresErrorCodes.DuplicateDatabase)
            {
                // Another host is applying the same first migration right now.
                await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken);
            }
        }
    }
}
