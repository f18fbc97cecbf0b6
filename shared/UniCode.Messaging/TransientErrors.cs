using System.Data.Common;
using System.Net.Sockets;

namespace UniCode.Messaging;

/// <summary>
/// Thrown by a consumer to say "try again shortly": the bus retries it like any other transient error.
/// </summary>
public sealed class TransientException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Which failures the bus retries. Everything else (bad input, missing files, bugs) fails at once:
/// retrying would only repeat the error and delay the Fault the coordinator waits for.
/// </summary>
public static class TransientErrors
{
    // EF Core's optimistic-concurrency conflict: a retry re-reads the row and re-applies the change.
    // Matched by name because UniCode.Messaging does not reference EF Core.
    private const string ConcurrencyConflict = "Microsoft.EntityFrameworkCore.DbUpdateConcurrencyException";

    /// <summary>True when <paramref name="exception"/> or any exception inside it is transient.</summary>
    public static bool IsTransient(Exception exception)
    {
        var pending = new Stack<Exception>();
        pending.Push(exception);
        while (pending.Count > 0)
        {
            var e = pending.Pop();
            if (e is OperationCanceledException) return false;   // cancellation is a decision, not a glitch
            if (e is TransientException or TimeoutException or SocketException or HttpRequestException
                || e is DbException { IsTransient: true }
                || e.GetType().FullName == ConcurrencyConflict)
                return true;
            if (e is AggregateException aggregate)
                foreach (var inner in aggregate.InnerExceptions) pending.Push(inner);
            else if (e.InnerException is not null)
                pending.Push(e.InnerException);
        }
        return false;
    }
}
