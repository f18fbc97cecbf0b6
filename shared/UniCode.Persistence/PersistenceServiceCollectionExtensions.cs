using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using UniCode.Settings;

namespace UniCode.Persistence;

public static class PersistenceServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ResultsDbContext"/> (scoped) and <see cref="IDbContextFactory{ResultsDbContext}"/>
    /// (singleton, for consumers and background services that own their context's lifetime).
    /// </summary>
    /// <summary>
    /// As below, with <see cref="DatabaseSettings"/> as options from the host's configuration (UNICODE_PG), validated
    /// when the host starts.
    /// </summary>
    public static IServiceCollection AddResultsDatabase(this IServiceCollection services)
    {
        services.AddSettings<DatabaseSettings>();
        return services.AddResultsDatabase(sp => sp.GetRequiredService<IOptions<DatabaseSettings>>().Value);
    }

    public static IServiceCollection AddResultsDatabase(this IServiceCollection services, DatabaseSettings settings) =>
        services.AddResultsDatabase(_ => settings);

    /// <summary>
    /// As above, with the settings read when the database is first needed (a host whose UNICODE_PG is malformed
    /// still builds: its `health` verb reports it).
    /// </summary>
    public static IServiceCollection AddResultsDatabase(this IServiceCollection services, Func<IServiceProvider, DatabaseSettings> settings)
    {
        services.AddSingleton(settings);
        services.AddDbContextFactory<ResultsDbContext>((sp, o) => ResultsDbContextOptions.Configure(o, sp.GetRequiredService<DatabaseSettings>().ConnectionString));
        return services;
    }

    /// <summary>Adds <see cref="MigrateDatabaseHostedService"/>; call before registering other hosted services.</summary>
    public static IServiceCollection AddResultsDatabaseMigrationAtStartup(this IServiceCollection services) =>
        services.AddHostedService<MigrateDatabaseHostedService>();
}
