using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;

namespace UniCode.Persistence.Writers;

/// <summary>
/// Where a table writer runs its statement: an open Npgsql connection and, when there is one, the transaction
/// the statement belongs to. The CLI recorder passes its own connection; the services pass their EF context
/// (<see cref="OfAsync"/>), so a write inside the context's transaction commits or rolls back with it.
/// </summary>
/// <remarks>
/// Each of <c>datasets</c>, <c>checkpoints</c>, <c>downstream_results</c> and <c>metric_points</c> is written by one
/// class of this folder, with one conflict rule, so every writer (the CLI, the job services, the registry,
/// preprocessing) treats a second write of the same key the same way.
/// </remarks>
public readonly record struct TableWriter(NpgsqlConnection Connection, NpgsqlTransaction? Transaction = null)
{
    /// <summary>The connection of <paramref name="db"/> (opened if it is closed) and its current transaction.</summary>
    public static async Task<TableWriter> OfAsync(ResultsDbContext db, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        await db.Database.OpenConnectionAsync(ct);
        return new TableWriter((NpgsqlConnection)db.Database.GetDbConnection(), (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction());
    }

    internal async Task<int> ExecuteAsync(string sql, NpgsqlParameter[] parameters, CancellationToken ct)
    {
        await using var command = Command(sql, parameters);
        return await command.ExecuteNonQueryAsync(ct);
    }

    internal async Task<T> ScalarAsync<T>(string sql, NpgsqlParameter[] parameters, CancellationToken ct)
    {
        await using var command = Command(sql, parameters);
        return (T)(await command.ExecuteScalarAsync(ct))!;
    }

    private NpgsqlCommand Command(string sql, NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlCommand(sql, Connection, Transaction);
        command.Parameters.AddRange(parameters);
        return command;
    }

    internal static NpgsqlParameter Text(string name, string? value) => new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };

    internal static NpgsqlParameter Time(string name, DateTimeOffset value) => new(name, NpgsqlDbType.TimestampTz) { Value = value.UtcDateTime };

    internal static NpgsqlParameter Times(string name, IEnumerable<DateTimeOffset> values) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = values.Select(v => v.UtcDateTime).ToArray() };

    internal static NpgsqlParameter Texts(string name, IEnumerable<string> values) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = values.ToArray() };

    internal static NpgsqlParameter Value<T>(string name, T value) => new(name, (object?)value ?? DBNull.Value);
}
