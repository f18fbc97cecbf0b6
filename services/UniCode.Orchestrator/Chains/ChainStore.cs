using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;
using UniCode.Persistence;
using UniCode.Persistence.Outbox;

namespace UniCode.Orchestrator.Chains;

/// <summary>
/// Runs one unit of work of the coordinator in one transaction: the inbox record (when the work is a
/// message), the state changes and the outbox rows commit together or not at all. A concurrency
/// conflict (a stale xmin, a deadlock, a unique key another transaction took first) rolls back and
/// re-runs the whole unit on fresh data, so the change is retried, never lost or applied twice.
/// </summary>
public sealed class ChainStore(
    IDbContextFactory<ResultsDbContext> contextFactory,
    OutboxSignal outboxSignal,
    TimeProvider clock,
    ILogger<ChainStore> logger)
{
    /// <summary>Attempts before a conflict is handed to the bus's retry (which retries it as transient).</summary>
    public const int MaxAttempts = 10;

    private long _conflicts;

    /// <summary>Units of work re-run after a conflict since start (for logs and tests).</summary>
    public long ConflictRetries => Interlocked.Read(ref _conflicts);

    /// <summary>
    /// Runs <paramref name="work"/>; false when <paramref name="consumer"/> already handled
    /// <paramref name="messageId"/> (a duplicate delivery: nothing is changed).
    /// </summary>
    public async Task<bool> RunAsync(string? consumer, Guid? messageId, Func<ResultsDbContext, Task> work, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
                await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
                if (consumer is not null && messageId is { } id && !await Inbox.TryRecordAsync(db, consumer, id, clock.GetUtcNow(), cancellationToken))
                    return false;
                await work(db);
                await db.SaveChangesAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }
            catch (Exception e) when (attempt < MaxAttempts && IsConflict(e))
            {
                Interlocked.Increment(ref _conflicts);
                logger.LogDebug("Concurrency conflict ({Error}); re-running the unit of work (attempt {Attempt})", e.GetBaseException().Message, attempt + 1);
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 40) * attempt), cancellationToken);
                continue;
            }
            outboxSignal.Notify();
            return true;
        }
    }

    /// <summary>Optimistic-concurrency conflict, serialization failure, deadlock or unique violation.</summary>
    public static bool IsConflict(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is DbUpdateConcurrencyException) return true;
            if (e is PostgresException { SqlState: PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.UniqueViolation })
                return true;
        }
        return false;
    }
}
