namespace UniCode.Persistence.Outbox;

/// <summary>
/// A message waiting to be published (table outbox_messages). Written in the same transaction as
/// the state change that caused it, so a commit without a publish cannot lose it: the
/// <see cref="OutboxDispatcher"/> publishes unsent rows and marks them sent (at least once).
/// </summary>
public sealed class OutboxMessage
{
    /// <summary>The message id it is published with: a re-publish after a crash carries the same id,
    /// so consumers with an inbox (<see cref="Inbox"/>) drop the copy.</summary>
    public Guid Id { get; set; }

    /// <summary>Insertion order (identity); rows are published in this order.</summary>
    public long Sequence { get; set; }

    /// <summary>"Namespace.Type, Assembly" of the message (see <see cref="OutboxSerializer"/>).</summary>
    public required string MessageType { get; set; }

    /// <summary>The message as JSON (jsonb).</summary>
    public required string Body { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the broker confirmed it; null while unsent.</summary>
    public DateTimeOffset? SentAt { get; set; }

    /// <summary>Not published before this instant (back-off after a failed publish).</summary>
    public DateTimeOffset NextAttemptAt { get; set; }

    /// <summary>Publish attempts so far.</summary>
    public int Attempts { get; set; }

    /// <summary>The error of the last failed attempt.</summary>
    public string? LastError { get; set; }
}

/// <summary>
/// A message a consumer has handled (table processed_messages, key (consumer, message_id)): the inbox.
/// Recorded in the same transaction as the consumer's changes, so a redelivery finds it and changes nothing.
/// </summary>
public sealed class ProcessedMessage
{
    /// <summary>Which consumer (a stable name: one message may be handled by several consumers).</summary>
    public required string Consumer { get; set; }

    public Guid MessageId { get; set; }

    public DateTimeOffset ProcessedAt { get; set; }
}
