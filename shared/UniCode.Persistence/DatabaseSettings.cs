using Npgsql;
using UniCode.Settings;

namespace UniCode.Persistence;

/// <summary>
/// Where the results database is: the Npgsql connection string in UNICODE_PG. Hosts read it as options
/// (<see cref="SettingsBinding.AddSettings{T}"/>, validated on start); the command line from its environment.
/// </summary>
public sealed record DatabaseSettings(string ConnectionString) : ISettings<DatabaseSettings>
{
    public const string VariableName = "UNICODE_PG";

    /// <summary>Reads UNICODE_PG from the process environment.</summary>
    public static DatabaseSettings FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>Reads UNICODE_PG through <paramref name="lookup"/> (a host's configuration; tests pass a dictionary).</summary>
    /// <exception cref="InvalidOperationException">UNICODE_PG is missing or not a connection string.</exception>
    public static DatabaseSettings FromEnvironment(Func<string, string?> lookup)
    {
        var value = lookup(VariableName);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new InvalidOperationException(
                $"{VariableName} is not set: it must hold the Npgsql connection string of the results database " +
                "(e.g. Host=127.0.0.1;Port=5432;Database=unicode;Username=unicode;Password=...). " +
                "For the local servers run `make services-up`, then `source .local-services/connection.env`.");
        }
        try
        {
            var parsed = new NpgsqlConnectionStringBuilder(value);
            if (string.IsNullOrEmpty(parsed.Host))
                throw new ArgumentException("it has no Host");
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException(
                $"{VariableName} is not a valid Npgsql connection string ({e.Message}); expected e.g. " +
                "Host=127.0.0.1;Port=5432;Database=unicode;Username=unicode;Password=...", e);
        }
        return new DatabaseSettings(value);
    }

    /// <summary>host:port/database as user, without the password (for logs).</summary>
    public string Describe()
    {
        var b = new NpgsqlConnectionStringBuilder(ConnectionString);
        return $"{b.Host}:{b.Port}/{b.Database} as {b.Username}";
    }

    /// <summary>Never prints the password.</summary>
    public override string ToString() => $"DatabaseSettings {{ {Describe()} }}";
}
