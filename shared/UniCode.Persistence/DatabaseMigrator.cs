using Microsoft.EntityFrameworkCore;

namespace UniCode.Persistence;

/// <summary>
/// Applies the pending migrations of the results database (the `unicode migrate` command, the
/// <see cref="MigrateDatabaseHostedService"/>). Safe to run concurrently from several hosts: EF Core
/// takes a database lock while migrating, and a second run applies nothing.
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
        var before = (await context.Database.GetAppliedMigrationsAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);
        await context.Database.MigrateAsync(cancellationToken);
        var after = await context.Database.GetAppliedMigrationsAsync(cancellationToken);
        return after.Where(m => !before.Contains(m)).ToList();
    }
}
