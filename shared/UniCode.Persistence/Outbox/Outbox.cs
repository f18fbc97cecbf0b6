using Microsoft.EntityFrameworkCore;

namespace UniCode.Persistence.Outbox;

/// <summary>Writing to the outbox and the inbox inside a unit of work on <see cref="ResultsDbContext"/>.</summary>
public static class OutboxExtensions
{
    /// <summary>
    /// Adds <paramref name="message"/> to the outbox; it is published after SaveChanges commits (and
    /// never if the transaction rolls back). <paramref name="messageId"/> defaults to a new id.
    /// </summary>
    public static OutboxMessage AddToOutbox<T>(this ResultsDbContext db, T message, DateTimeOffset now, Guid? messageId = null)
        where T : class =>
        db.AddToOutbox(message, typeof(T), now, messageId);

    /// <summary>
    /// As <see cref="AddToOutbox{T}"/>, for a message already serialised with <see cref="OutboxSerializer"/>
    /// (e.g. a stored command that is sent again).
    /// </summary>
    public static OutboxMessage AddToOutbox(this ResultsDbContext db, string messageType, string body, DateTimeOffset now, Guid? messageId = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(messageType);
        ArgumentException.ThrowIfNullOrWhiteSpace(body);
        var row = new OutboxMessage
        {
            Id = messageId ?? OutboxIds.Next(now),
            MessageType = messageType,
            Body = body,
            CreatedAt = now,
            NextAttemptAt = now,
        };
        db.OutboxMessages.Add(row);
        return row;
    }

    /// <summary>As <see cref="AddToOutbox{T}"/>, for a message whose type is known only at run time.</summary>
    public static OutboxMessage AddToOutbox(this ResultsDbContext db, object message, Type type, DateTimeOffset now, Guid? messageId = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        return db.AddToOutbox(OutboxSerializer.TypeName(type), OutboxSerializer.Serialize(message, type), now, messageId);
    }
}

/// <summary>
/// Message ids for outbox rows: version-7 UUIDs that strictly increase within the process. EF Core
/// orders the INSERTs of one SaveChanges by key, so increasing ids make outbox_messages.sequence
/// follow the order in which the rows were added (random ids would shuffle one unit of work's messages).
/// </summary>
public static class OutboxIds
{
    private static readonly Lock Gate = new();
    private static Guid _last;

    public static Guid Next(DateTimeOffset now)
    {
        var id = Guid.CreateVersion7(now);
        lock (Gate)
        {
            if (id.CompareTo(_last) <= 0) id = Increment(_last);
            _last = id;
        }
        return id;
    }

    /// <summary>The next UUID in byte order (the order of Guid.CompareTo and of PostgreSQL's uuid).</summary>
    private static Guid Increment(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        for (var i = 15; i >= 9 && ++bytes[i] == 0; i--) { }   // carry; never reaches the variant bits in byte 8
        return new Guid(bytes, bigEndian: true);
    }
}

/// <summary>The inbox: at most one successful handling of a message id per consumer.</summary>
public static class Inbox
{
    /// <summary>
    /// Records that <paramref name="consumer"/> handles <paramref name="messageId"/>, inside the caller's
    /// transaction. False when it was already recorded: the message is a duplicate and must change
    /// nothing. A concurrent handling of the same id blocks here until the other transaction ends
    /// (then false if it committed). Call with an open transaction, before the consumer's changes.
    /// </summary>
    public static async Task<bool> TryRecordAsync(ResultsDbContext db, string consumer, Guid messageId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(consumer);
        if (db.Database.CurrentTransaction is null)
            throw new InvalidOperationException("Inbox.TryRecordAsync needs an open transaction: the record must commit together with the consumer's changes");
        var inserted = await db.Database.ExecuteSqlInterpolatedAsync(
            $"INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES ({consumer}, {messageId}, {now}) ON CONFLICT DO NOTHING",
            cancellationToken);
        return inserted == 1;
    }
}
