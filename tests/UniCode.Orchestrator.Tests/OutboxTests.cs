using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using UniCode.Contracts.Chains;
using UniCode.Contracts.Common;
using UniCode.Persistence;
using UniCode.Persistence.Outbox;

namespace UniCode.Orchestrator.Tests;

/// <summary>The reusable outbox and inbox on the real PostgreSQL, with a publisher the test controls.</summary>
[Collection(ServerCollection.Name)]
public sealed class OutboxTests(ServerFixture servers) : IAsyncLifetime
{
    private TestDatabase _db = null!;

    public async Task InitializeAsync()
    {
        _db = await servers.DatabaseForClassAsync(typeof(OutboxTests));
        await DatabaseMigrator.MigrateAsync(_db.ConnectionString, CancellationToken.None);
        await using var db = Db();
        await db.OutboxMessages.ExecuteDeleteAsync();   // each test starts with an empty outbox
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private ResultsDbContext Db() => ResultsDbContextOptions.CreateContext(_db.ConnectionString);

    private sealed class Factory(string cs) : IDbContextFactory<ResultsDbContext>
    {
        public ResultsDbContext CreateDbContext() => ResultsDbContextOptions.CreateContext(cs);
    }

    /// <summary>Fails while <see cref="Down"/> is set, like a broker that is away.</summary>
    private sealed class Publisher : IOutboxPublisher
    {
        public bool Down { get; set; }
        public ConcurrentQueue<(object Message, Type Type, Guid Id)> Published { get; } = new();

        public Task PublishAsync(object message, Type messageType, Guid messageId, CancellationToken cancellationToken)
        {
            if (Down) throw new InvalidOperationException("broker unreachable");
            Published.Enqueue((message, messageType, messageId));
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task Rows_go_out_with_their_ids_and_a_failed_publish_backs_off_without_losing_the_row()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        var publisher = new Publisher { Down = true };
        var dispatcher = new OutboxDispatcher(new Factory(_db.ConnectionString), publisher, new OutboxSignal(), new OutboxOptions(), clock, NullLogger<OutboxDispatcher>.Instance);
        var chainId = Guid.NewGuid();
        OutboxMessage first, second;
        await using (var db = Db())
        {
            first = db.AddToOutbox(new ChainAccepted(chainId, 6, clock.Now), clock.Now);
            second = db.AddToOutbox(new ChainCompleted(chainId, clock.Now), clock.Now);
            await db.SaveChangesAsync();
        }

        Assert.Equal(0, await dispatcher.DispatchPendingAsync(CancellationToken.None));
        await using (var db = Db())
        {
            var rows = await db.OutboxMessages.AsNoTracking().OrderBy(m => m.Sequence).ToListAsync();
            Assert.Equal([first.Id, second.Id], rows.Select(r => r.Id));
            Assert.Equal((1, "broker unreachable", clock.Now.AddSeconds(1), (DateTimeOffset?)null), (rows[0].Attempts, rows[0].LastError, rows[0].NextAttemptAt, rows[0].SentAt));
            Assert.Equal((0, clock.Now), (rows[1].Attempts, rows[1].NextAttemptAt));   // not tried: the order is kept
        }

        // The broker is back: the second row is due now; the first backs off for a second (a row that
        // keeps failing must not hold back the rows behind it for ever).
        publisher.Down = false;
        Assert.Equal(1, await dispatcher.DispatchPendingAsync(CancellationToken.None));
        clock.Now = clock.Now.AddSeconds(1);
        Assert.Equal(1, await dispatcher.DispatchPendingAsync(CancellationToken.None));

        Assert.Equal([second.Id, first.Id], publisher.Published.Select(p => p.Id));
        Assert.Equal(new ChainAccepted(chainId, 6, clock.Now.AddSeconds(-1)), publisher.Published.Last().Message);
        Assert.Equal(typeof(ChainCompleted), publisher.Published.First().Type);
        await using (var db = Db())
        {
            Assert.All(await db.OutboxMessages.ToListAsync(), m => Assert.NotNull(m.SentAt));
            Assert.Equal(2, (await db.OutboxMessages.SingleAsync(m => m.Id == first.Id)).Attempts);
        }
        Assert.Equal(0, await dispatcher.DispatchPendingAsync(CancellationToken.None));   // nothing twice
        Assert.Equal(2, publisher.Published.Count);
    }

    [Fact]
    public async Task Rows_added_in_one_unit_of_work_are_sequenced_in_the_order_they_were_added()
    {
        var now = DateTimeOffset.UtcNow;   // one instant for all: only the ids' counter orders them
        var chainId = Guid.NewGuid();
        List<Guid> added;
        await using (var db = Db())
        {
            added = Enumerable.Range(0, 20).Select(i => db.AddToOutbox(new ChainAccepted(chainId, i, now), now).Id).ToList();
            await db.SaveChangesAsync();
        }

        await using var read = Db();
        var rows = await read.OutboxMessages.AsNoTracking().OrderBy(m => m.Sequence).ToListAsync();
        Assert.Equal(added, rows.Select(r => r.Id));
        Assert.Equal(Enumerable.Range(0, 20), rows.Select(r => OutboxSerializer.Deserialize<ChainAccepted>(r.Body).StepCount));
    }

    [Fact]
    public async Task The_inbox_admits_a_message_id_once_per_consumer_and_only_inside_a_transaction()
    {
        var id = Guid.NewGuid();
        var now = DateTimeOffset.UtcNow;
        await using var db = Db();

        await Assert.ThrowsAsync<InvalidOperationException>(() => Inbox.TryRecordAsync(db, "a", id, now, CancellationToken.None));
        await using (var tx = await db.Database.BeginTransactionAsync())
        {
            Assert.True(await Inbox.TryRecordAsync(db, "a", id, now, CancellationToken.None));
            Assert.False(await Inbox.TryRecordAsync(db, "a", id, now, CancellationToken.None));
            Assert.True(await Inbox.TryRecordAsync(db, "b", id, now, CancellationToken.None));   // another consumer handles it once too
            await tx.RollbackAsync();
        }
        await using (var tx = await db.Database.BeginTransactionAsync())
        {
            Assert.True(await Inbox.TryRecordAsync(db, "a", id, now, CancellationToken.None));   // the rolled-back record does not count
            await tx.CommitAsync();
        }
        Assert.Equal(1, await db.ProcessedMessages.CountAsync(m => m.MessageId == id));
    }

    [Fact]
    public void Messages_round_trip_through_the_outbox_format()
    {
        var message = new JobFailed(Guid.NewGuid(), "pretrain", "out of memory", "System.OutOfMemoryException", null, new string('a', 64), DateTimeOffset.UnixEpoch);

        var (read, type) = OutboxSerializer.Deserialize(OutboxSerializer.TypeName(typeof(JobFailed)), OutboxSerializer.Serialize(message, typeof(JobFailed)));

        Assert.Equal("UniCode.Contracts.Common.JobFailed, UniCode.Contracts", OutboxSerializer.TypeName(typeof(JobFailed)));
        Assert.Equal(typeof(JobFailed), type);
        Assert.Equal(message, read);
        var e = Assert.Throws<InvalidOperationException>(() => OutboxSerializer.Deserialize("UniCode.Contracts.Nope, UniCode.Contracts", "{}"));
        Assert.StartsWith("outbox_messages.message_type 'UniCode.Contracts.Nope, UniCode.Contracts': no such type is loaded", e.Message);
    }
}
