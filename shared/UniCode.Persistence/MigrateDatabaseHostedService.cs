using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace UniCode.Persistence;

/// <summary>
/// Applies pending migrations when the host starts, before later hosted services (register it first:
/// hosted services start in registration order). A failure stops the host from starting.
/// </summary>
public sealed class MigrateDatabaseHostedService(
    IDbContextFactory<ResultsDbContext> contextFactory,
    ILogger<MigrateDatabaseHostedService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var applied = await DatabaseMigrator.MigrateAsync(context, cancellationToken);
        if (applied.Count == 0)
            logger.LogInformation("Results database is up to date");
        else
            logger.LogInformation("Applied {Count} migration(s) to the results database: {Migrations}", applied.Count, string.Join(", ", applied));
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
