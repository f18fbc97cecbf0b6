using Microsoft.EntityFrameworkCore;

namespace UniCode.Persistence;

/// <summary>How every host (services, CLI, tests, dotnet-ef) configures <see cref="ResultsDbContext"/>.</summary>
public static class ResultsDbContextOptions
{
    /// <summary>The assembly that holds the migrations (migrations/UniCode.Migrations).</summary>
    public const string MigrationsAssembly = "UniCode.Migrations";

    /// <summary>Configures Npgsql with <paramref name="connectionString"/> and the migrations assembly.</summary>
    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder, string connectionString) =>
        builder.UseNpgsql(connectionString, o => o.MigrationsAssembly(MigrationsAssembly));

    public static DbContextOptions<ResultsDbContext> Create(string connectionString)
    {
        var builder = new DbContextOptionsBuilder<ResultsDbContext>();
        Configure(builder, connectionString);
        return builder.Options;
    }

    /// <summary>A new context on <paramref name="connectionString"/>; the caller disposes it.</summary>
    public static ResultsDbContext CreateContext(string connectionString) => new(Create(connectionString));
}
