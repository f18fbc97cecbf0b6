using Npgsql;
using UniCode.Migrations;

namespace UniCode.Results.Tests.Infrastructure;

/// <summary>
/// Makes sure the server has the role unicode_analyst and that the tests' login is a member of it (so a test
/// can <c>SET ROLE unicode_analyst</c> and act with exactly its privileges). Roles are server-wide, so this
/// runs before the first migration: the migration then grants the role in each new database.
/// A login that may create roles (Testcontainers' superuser) does it itself; the local servers of
/// `make services-up` log in as a role without CREATEROLE, so there it is done once through the superuser
/// socket that .local-services/connection.env names (UNICODE_PG_ADMIN_HOST; peer authentication, for the OS account
/// that ran `make services-up` and root).
/// </summary>
public static class AnalystRole
{
    public const string Name = ResultsViewsSql.AnalystRole;
    public const string AdminHostVariable = "UNICODE_PG_ADMIN_HOST";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static bool ready;

    public static async Task EnsureAsync(string connectionString)
    {
        await Gate.WaitAsync();
        try
        {
            if (ready) return;
            var login = new NpgsqlConnectionStringBuilder(connectionString).Username!;
            await using (var c = new NpgsqlConnection(connectionString))
            {
                await c.OpenAsync();
                var exists = await ScalarAsync<bool>(c, $"SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{Name}')");
                if (exists && await ScalarAsync<bool>(c, $"SELECT pg_has_role(current_user, '{Name}', 'MEMBER')"))
                {
                    ready = true;
                    return;
                }
                if (await ScalarAsync<bool>(c, "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"))
                {
                    await CreateAndJoinAsync(c, login);
                    ready = true;
                    return;
                }
            }
            var adminHost = Environment.GetEnvironmentVariable(AdminHostVariable);
            if (string.IsNullOrWhiteSpace(adminHost))
            {
                throw new InvalidOperationException(
                    $"The results tests need the role {Name}, and '{login}' must be a member of it, but '{login}' may not create roles " +
                    $"and {AdminHostVariable} (the superuser socket of `make services-up`) is not set. As a superuser run: " +
                    $"CREATE ROLE {Name} NOLOGIN; GRANT {Name} TO \"{login}\";  (or `source .local-services/connection.env`)");
            }
            var admin = new NpgsqlConnectionStringBuilder(connectionString)
            {
                Host = adminHost, Username = "postgres", Password = null, Database = "postgres",
            };
            await using var a = new NpgsqlConnection(admin.ConnectionString);
            await a.OpenAsync();
            await CreateAndJoinAsync(a, login);
            ready = true;
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task CreateAndJoinAsync(NpgsqlConnection c, string login)
    {
        await ExecuteAsync(c,
            $"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{Name}') THEN " +
            $"CREATE ROLE {Name} NOLOGIN; END IF; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$");
        await ExecuteAsync(c, $"GRANT {Name} TO \"{login.Replace("\"", "\"\"", StringComparison.Ordinal)}\"");
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection c, string sql)
    {
        await using var command = new NpgsqlCommand(sql, c);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(NpgsqlConnection c, string sql)
    {
        await using var command = new NpgsqlCommand(sql, c);
        await command.ExecuteNonQueryAsync();
    }
}
