using System.Text;
using MassTransit;
using UniCode.Contracts.Common;
using UniCode.Contracts.Pretraining;
using UniCode.Contracts.Registry;
using UniCode.Integration.Tests.Infrastructure;
using UniCode.Messaging;

namespace UniCode.Integration.Tests.Messaging;

/// <summary>Messages through the real RabbitMQ with the bus set up by AddUniCodeBus.</summary>
[Collection(ServerCollection.Name)]
public sealed class RabbitMqBusTests(ServerFixture servers)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Request_response_returns_found_or_not_found_from_the_consumer()
    {
        await using var bus = await TestBus.StartAsync(servers.RabbitMq);
        var client = bus.Bus.CreateRequestClient<GetCheckpoint>(RequestTimeout.After(s: 30));

        var byAlias = await client.GetResponse<CheckpointFound, CheckpointNotFound>(new GetCheckpoint("best-val"));
        var missing = await client.GetResponse<CheckpointFound, CheckpointNotFound>(new GetCheckpoint("no-such-alias"));

        Assert.True(byAlias.Is(out Response<CheckpointFound>? found));
        Assert.Equal("best-val", found!.Message.Query);
        Assert.Equal(FakeRegistryConsumer.Known, found.Message.Checkpoint);   // every field survived JSON both ways
        Assert.True(missing.Is(out Response<CheckpointNotFound>? notFound));
        Assert.Equal("no checkpoint with sha256 or alias 'no-such-alias'", notFound!.Message.Reason);
        // kebab-case queue name from the consumer name, behind this run's prefix
        Assert.Contains(bus.Observations.InputAddresses, a => a.AbsolutePath.EndsWith($"/{bus.Prefix}-fake-registry", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Published_command_reaches_the_consumer_and_its_published_event_is_observed()
    {
        await using var bus = await TestBus.StartAsync(servers.RabbitMq);
        var run = new RunIdentity("{\"codebook_size\":400}", StepKeys.Sha256Hex("{\"codebook_size\":400}"u8), 43, "abc1234", StepKeys.Sha256Hex("ave"u8));
        var stepKey = StepKeys.Compute("pretrain", run.ConfigJson, [run.DatasetHash], run.CodeVersion);
        var command = new PretrainModel(StepKeys.JobId(stepKey), Guid.NewGuid(), stepKey, run, "ave:/data/ave", null,
            new DateTimeOffset(2026, 11, 25, 13, 0, 0, TimeSpan.Zero));
        var completion = bus.Observations.CompletionOf(command.JobId);

        await bus.Bus.Publish(command);
        var completed = await completion.Task.WaitAsync(Wait);

        Assert.Equal(command.JobId, completed.JobId);
        Assert.Equal(command.ChainId, completed.ChainId);
        Assert.Equal(stepKey, completed.StepKey);
        Assert.Equal(StepKeys.Sha256Hex(Encoding.UTF8.GetBytes(stepKey)), completed.CheckpointSha256);
        Assert.Equal([new MetricValue("loss", 0.125), new MetricValue("seed", 43)], completed.Metrics);
        Assert.Equal(command.RequestedAt.AddMinutes(5), completed.CompletedAt);
        Assert.Contains(bus.Observations.InputAddresses, a => a.AbsolutePath.EndsWith($"/{bus.Prefix}-fake-trainer", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Transient_failures_are_retried_until_the_consumer_succeeds()
    {
        await using var bus = await TestBus.StartAsync(servers.RabbitMq);
        var id = Guid.NewGuid();

        var response = await bus.Bus.CreateRequestClient<FlakyWork>(RequestTimeout.After(s: 30))
            .GetResponse<FlakyWorkDone>(new FlakyWork(id, FailTimes: 2, Failure: "timeout"));

        Assert.Equal(3, response.Message.Attempts);   // two TimeoutExceptions retried, third attempt answered
    }

    [Fact]
    public async Task Permanent_failures_are_not_retried_and_fault_the_request()
    {
        await using var bus = await TestBus.StartAsync(servers.RabbitMq);
        var id = Guid.NewGuid();

        var fault = await Assert.ThrowsAsync<RequestFaultException>(() =>
            bus.Bus.CreateRequestClient<FlakyWork>(RequestTimeout.After(s: 30))
                .GetResponse<FlakyWorkDone>(new FlakyWork(id, FailTimes: 1, Failure: "argument")));

        Assert.Equal(1, bus.Observations.Attempts[id]);   // ArgumentException: one attempt, no retry
        Assert.Contains(fault.Fault!.Exceptions, e => e.ExceptionType == typeof(ArgumentException).FullName);
    }

    [Theory]
    [InlineData(1, 1)]   // a trainer endpoint: one job at a time
    [InlineData(4, 3)]   // the default shape: all three queued messages are taken at once
    public async Task Prefetch_count_bounds_how_many_messages_a_consumer_runs_at_once(int prefetch, int expectedMaxInFlight)
    {
        await using var bus = await TestBus.StartAsync(servers.RabbitMq, s => s with { PrefetchCount = (ushort)prefetch });
        var observations = bus.Observations;

        for (var i = 0; i < 3; i++) await bus.Bus.Publish(new GatedWork(Guid.NewGuid()));
        // Wait until the expected number are in flight, then give the broker time to (wrongly) deliver more.
        var deadline = DateTime.UtcNow + Wait;
        while (observations.InFlight < expectedMaxInFlight && DateTime.UtcNow < deadline) await Task.Delay(20);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var maxInFlight = observations.MaxInFlight;
        observations.Gate.SetResult();
        while (observations.GatedDone < 3 && DateTime.UtcNow < deadline) await Task.Delay(20);

        Assert.Equal(expectedMaxInFlight, maxInFlight);
        Assert.Equal(3, observations.GatedDone);
    }
}
