using Microsoft.EntityFrameworkCore.Design;
using UniCode.Persistence;

namespace UniCode.Migrations;

/// <summary>
/// Lets dotnet-ef build <see cref="ResultsDbContext"/> without a host. `migrations add` needs no
/// server, so a dummy local connection string is used when UNICODE_PG is unset; `database update`
/// needs UNICODE_PG (see migrations/README.md).
/// </summary>
public sealed class ResultsDesignTimeDbContextFactory : IDesignTimeDbContextFactory<ResultsDbContext>
{
    private const string OfflineConnectionString = "Host=127.0.0.1;Port=5432;Database=unicode;Username=unicode;Password=unicode";

    public ResultsDbContext CreateDbContext(string[] args)
    {
        var cs = Environment.GetEnvironmentVariable(DatabaseSettings.VariableName);
        return ResultsDbContextOptions.CreateContext(string.IsNullOrWhiteSpace(cs) ? OfflineConnectionString : cs);
    }
}
