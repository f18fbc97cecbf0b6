using Npgsql;

namespace UniCode.Testing;

/// <summary>
/// A database of its own for one test class: unicode_test_&lt;guid&gt;, dropped (with its open
/// connections) on dispose, so test classes cannot see each other's rows.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string _adminConnectionString;

    private TestDatabase(string adminConnectionString, string name)
    {
        _adminConnectionString = adminConnectionString;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name }.ConnectionString;
    }

    public string Name { get; }
    public string ConnectionString { get; }

    /// <param name="adminConnectionString">A role allowed to CREATE DATABASE.</param>
    /// <param name="create">False: only reserve the name (for tests where EF Core creates the database).</param>
    public static async Task<TestDatabase> CreateAsync(string adminConnectionString, bool create = true)
    {
        var db = new TestDatabase(adminConnectionString, $"unicode_test_{Guid.NewGuid():N}");
        if (create) await db.ExecuteAdminAsync($"CREATE DATABASE \"{db.Name}\"");
        return db;
    }

    public NpgsqlConnection OpenConnection()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        connection.Open();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        // A role may terminate only its own backends, so DROP … WITH (FORCE) fails (42501) on a connection another role
        // (the analyst, in the role tests) still holds open in a pool. Close this process's idle pooled connections of
        // every role first, and give a backend that is still exiting a moment.
        NpgsqlConnection.ClearAllPools();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ExecuteAdminAsync($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)");
                return;
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.ObjectInUse && attempt < 20)
            {
                await Task.Delay(250);
            }
        }
    }

    private async Task ExecuteAdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
