using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace UniCode.Persistence.Outbox;

/// <summary>Publishes one outbox message on the bus (the only part of the outbox that knows the bus).</summary>
public interface IOutboxPublisher
{
    /// <summary>Publishes <paramref name="message"/> as <paramref name="messageType"/> with message id
    /// <paramref name="messageId"/>; returns once the broker accepted it, throws otherwise.</summary>
    Task PublishAsync(object message, Type messageType, Guid messageId, CancellationToken cancellationToken);
}

/// <summary>Wakes the dispatcher right after a commit that wrote outbox rows (it also polls).</summary>
public sealed class OutboxSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        try { _signal.Release(); }
        catch (SemaphoreFullException) { }   // already signalled: one wake-up covers every pending row
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);
}

/// <summary>Settings of the <see cref="OutboxDispatcher"/>.</summary>
public sealed record OutboxOptions
{
    /// <summary>Longest wait between two looks at the table when nobody signals.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Rows published per transaction.</summary>
    public int BatchSize { get; init; } = 50;

    /// <summary>Longest back-off after failed publishes (it doubles from one second).</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Sent outbox rows and inbox records older than this are deleted.</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>How often the clean-up runs.</summary>
    public TimeSpan CleanupInterval { get; init; } = TimeSpan.FromHours(1);
}

/// <summary>
/// Publishes unsent outbox rows in insertion order and marks them sent. A row whose publish failed
/// backs off (1 s, doubling, at most <see cref="OutboxOptions.MaxBackoff"/>) without holding back the
/// rows behind it, so the order is not guaranteed across failures. Rows are claimed with
/// FOR UPDATE SKIP LOCKED, so several dispatchers (several service instances) share the work without
/// publishing a row twice in the normal case. A crash between the publish and the commit publishes
/// the row again later with the same message id (at least once; inboxes drop the copy).
/// </summary>
public sealed class OutboxDispatcher(
    IDbContextFactory<ResultsDbContext> contextFactory,
    IOutboxPublisher publisher,
    OutboxSignal signal,
    OutboxOptions options,
    TimeProvider clock,
    ILogger<OutboxDispatcher> logger) : BackgroundService
{
    private DateTimeOffset _nextCleanup = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await DispatchPendingAsync(stoppingToken) == options.BatchSize) { }
                if (clock.GetUtcNow() >= _nextCleanup)
                {
                    await CleanupAsync(stoppingToken);
                    _nextCleanup = clock.GetUtcNow() + options.CleanupInterval;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // The database is away: try again at the next poll; nothing is lost, the rows stay unsent.
                logger.LogError(e, "Outbox dispatch failed; retrying in {Interval}", options.PollInterval);
            }
            try
            {
                await signal.WaitAsync(options.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>One batch: publishes up to <see cref="OutboxOptions.BatchSize"/> due rows; returns how many were sent.</summary>
    public async Task<int> DispatchPendingAsync(CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var rows = await db.OutboxMessages
            .FromSql($"SELECT * FROM outbox_messages WHERE sent_at IS NULL AND next_attempt_at <= {now} ORDER BY sequence LIMIT {options.BatchSize} FOR UPDATE SKIP LOCKED")
            .ToListAsync(cancellationToken);
        var sent = 0;
        foreach (var row in rows)
        {
            row.Attempts++;
            try
            {
                var (message, type) = OutboxSerializer.Deserialize(row.MessageType, row.Body);
                await publisher.PublishAsync(message, type, row.Id, cancellationToken);
                row.SentAt = clock.GetUtcNow();
                row.LastError = null;
                sent++;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var backoff = TimeSpan.FromSeconds(Math.Min(options.MaxBackoff.TotalSeconds, Math.Pow(2, Math.Min(row.Attempts - 1, 20))));
                row.NextAttemptAt = clock.GetUtcNow() + backoff;
                row.LastError = e.Message;
                logger.LogWarning(e, "Publishing outbox message {MessageId} ({MessageType}) failed (attempt {Attempts}); next try in {Backoff}",
                    row.Id, row.MessageType, row.Attempts, backoff);
                break;   // the broker is likely away: the rest of the batch waits for the next pass
            }
        }
        await db.SaveChangesAsync(CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
        if (sent > 0) logger.LogDebug("Published {Count} outbox message(s)", sent);
        return sent;
    }

    private async Task CleanupAsync(CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        var before = clock.GetUtcNow() - options.Retention;
        var outbox = await db.OutboxMessages.Where(m => m.SentAt != null && m.SentAt < before).ExecuteDeleteAsync(cancellationToken);
        var inbox = await db.ProcessedMessages.Where(m => m.ProcessedAt < before).ExecuteDeleteAsync(cancellationToken);
        if (outbox + inbox > 0)
            logger.LogInformation("Outbox clean-up deleted {Outbox} sent message(s) and {Inbox} inbox record(s) older than {Before}", outbox, inbox, before);
    }
}

public static class OutboxServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="OutboxSignal"/>, the options and the <see cref="OutboxDispatcher"/>
    /// publishing through <typeparamref name="TPublisher"/>, as a hosted service unless
    /// <paramref name="runAsHostedService"/> is false (then it can be started by hand). Needs
    /// <see cref="PersistenceServiceCollectionExtensions.AddResultsDatabase"/>.
    /// </summary>
    public static IServiceCollection AddOutboxDispatcher<TPublisher>(this IServiceCollection services, OutboxOptions? options = null, bool runAsHostedService = true)
        where TPublisher : class, IOutboxPublisher
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(options ?? new OutboxOptions());
        services.AddSingleton<OutboxSignal>();
        services.AddSingleton<IOutboxPublisher, TPublisher>();
        services.AddSingleton<OutboxDispatcher>();
        if (runAsHostedService) services.AddHostedService(sp => sp.GetRequiredService<OutboxDispatcher>());
        return services;
    }
}
