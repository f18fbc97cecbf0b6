using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using UniCode.Persistence;

namespace UniCode.Hosting.Health;

/// <summary>"postgres": connects to the results database (UNICODE_PG), reads the server's version and counts the pending migrations.</summary>
public sealed class PostgresHealthCheck(IOptions<DatabaseSettings> options) : ProbeHealthCheck
{
    protected override async Task<string> ProbeAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        await using var db = ResultsDbContextOptions.CreateContext(settings.ConnectionString);
        await db.Database.OpenConnectionAsync(cancellationToken);
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).Count();
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        return $"{settings.Describe()}: PostgreSQL {connection.PostgreSqlVersion}, {pending} pending migration(s) (applied at start)";
    }
}
