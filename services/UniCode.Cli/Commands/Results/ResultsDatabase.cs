using System.Net.Sockets;
using Npgsql;
using NpgsqlTypes;
using UniCode.Cli.CommandLine;
using UniCode.Persistence;

namespace UniCode.Cli.Commands.Results;

/// <summary>
/// A connection to the results database for the read commands (results, compare, export, checkpoints) and
/// the recorder: from <c>--connection</c> or UNICODE_PG, with failures turned into one-line messages that
/// say what to do (start the servers, migrate).
/// </summary>
public sealed class ResultsDatabase : IDisposable
{
    private readonly NpgsqlConnection connection;

    private ResultsDatabase(NpgsqlConnection connection, string describe)
    {
        this.connection = connection;
        Describe = describe;
    }

    /// <summary>host:port/database as user (no password).</summary>
    public string Describe { get; }

    public NpgsqlConnection Connection => connection;

    /// <summary>The option every database command has.</summary>
    public static OptionSpec ConnectionOption { get; } =
        new("connection", "Npgsql connection string of the results database (default: $UNICODE_PG)", Value: "CS");

    /// <summary>The connection string of <c>--connection</c>, else UNICODE_PG (errors name both and `make services-up`).</summary>
    public static string ConnectionString(ParsedArgs a)
    {
        if (a.String("connection") is not { } cs) return DatabaseSettings.FromEnvironment().ConnectionString;
        try
        {
            if (string.IsNullOrEmpty(new NpgsqlConnectionStringBuilder(cs).Host))
                throw new UsageException("option '--connection': the connection string has no Host (expected e.g. Host=127.0.0.1;Port=5432;Database=unicode;Username=unicode;Password=...)");
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"option '--connection': not an Npgsql connection string ({e.Message}); expected e.g. Host=127.0.0.1;Port=5432;Database=unicode;Username=unicode;Password=...");
        }
        return cs;
    }

    public static ResultsDatabase Open(ParsedArgs a) => Open(ConnectionString(a));

    /// <summary>Opens the database; throws <see cref="InvalidOperationException"/> with advice when it cannot.</summary>
    public static ResultsDatabase Open(string connectionString)
    {
        var describe = new DatabaseSettings(connectionString).Describe();
        var c = new NpgsqlConnection(connectionString);
        try
        {
            c.Open();
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException)
        {
            c.Dispose();
            throw Explain(e, describe);
        }
        return new ResultsDatabase(c, describe);
    }

    /// <summary>Runs a query and reads every row (column names as PostgreSQL returns them).</summary>
    public QueryResult Query(string sql, params NpgsqlParameter[] parameters)
    {
        try
        {
            using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.AddRange(parameters);
            using var reader = command.ExecuteReader();
            var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
            var rows = new List<object?[]>();
            while (reader.Read())
            {
                var row = new object?[reader.FieldCount];
                for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                rows.Add(row);
            }
            return new QueryResult(columns, rows);
        }
        catch (PostgresException e)
        {
            throw Explain(e, Describe);
        }
    }

    /// <summary>A text parameter that may be null (SQL: <c>@name::text IS NULL OR …</c>).</summary>
    public static NpgsqlParameter Text(string name, string? value) => new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };

    /// <summary>A text[] parameter (SQL: <c>cardinality(@name) = 0 OR x = ANY(@name)</c>).</summary>
    public static NpgsqlParameter TextArray(string name, IReadOnlyList<string> values) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = values.ToArray() };

    public static NpgsqlParameter Int(string name, int value) => new(name, NpgsqlDbType.Integer) { Value = value };

    /// <summary>The database failure as a message that names UNICODE_PG and the command that fixes it.</summary>
    public static InvalidOperationException Explain(Exception e, string describe)
    {
        const string start = "start the local servers with `make services-up`, then `source .local-services/connection.env` (it sets UNICODE_PG)";
        var message = e switch
        {
            PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName } =>
                $"the results database {describe} does not exist (UNICODE_PG / --connection): create it with `unicode migrate`",
            PostgresException { SqlState: PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification } p =>
                $"PostgreSQL refused the login {describe} (UNICODE_PG / --connection): {p.MessageText}",
            PostgresException { SqlState: PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.UndefinedFunction } p =>
                $"the results database {describe} lacks part of the schema ({p.MessageText}): apply the migrations with `unicode migrate`",
            PostgresException p => $"query on the results database {describe} failed: {p.MessageText} (SQLSTATE {p.SqlState})",
            _ => $"cannot connect to the results database {describe} (UNICODE_PG / --connection): {Innermost(e).Message}; {start}",
        };
        return new InvalidOperationException(message, e);
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    public void Dispose() => connection.Dispose();
}

/// <summary>Rows of a query: column names and values (null for SQL NULL).</summary>
public sealed record QueryResult(IReadOnlyList<string> Columns, IReadOnlyList<object?[]> Rows)
{
    public int Index(string column)
    {
        for (var i = 0; i < Columns.Count; i++)
            if (Columns[i] == column) return i;
        throw new InvalidOperationException($"the query has no column '{column}' (columns: {string.Join(", ", Columns)})");
    }

    /// <summary>The rows as name → value maps (for code that reads columns by name).</summary>
    public IReadOnlyList<DbRow> Records() => Rows.Select(r => new DbRow(this, r)).ToList();
}

/// <summary>One row of a <see cref="QueryResult"/>, read by column name.</summary>
public sealed class DbRow(QueryResult query, object?[] values)
{
    public object? this[string column] => values[query.Index(column)];

    public string Str(string column) => TextTable.Raw(this[column]);

    public double? Double(string column) => this[column] switch
    {
        null => null,
        double d => d,
        var v => Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture),
    };

    public long? Long(string column) => this[column] is { } v ? Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture) : null;

    public bool Bool(string column) => this[column] is true;
}
