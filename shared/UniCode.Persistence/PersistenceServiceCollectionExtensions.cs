using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace UniCode.Persistence;

public static class PersistenceServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ResultsDbContext"/> (scoped) and <see cref="IDbContextFactory{ResultsDbContext}"/>
    /// (singleton, for consumers and background services that own their context's lifetime).
    /// </summary>
    public static IServiceCollection AddResultsDatabase(this IServiceCollection services, DatabaseSettings settings)
    {
        services.AddSingleton(settings);
        services.AddDbContextFactory<ResultsDbContext>(o => ResultsDbContextOptions.Configure(o, settings.ConnectionString));
        return services;
    }

    /// <summary>Adds <see cref="MigrateDatabaseHostedService"/>; call before registering other hosted services.</summary>
    public static IServiceCollection AddResultsDatabaseMigrationAtStartup(this IServiceCollection services) =>
        services.AddHostedService<MigrateDatabaseHostedService>();
}
