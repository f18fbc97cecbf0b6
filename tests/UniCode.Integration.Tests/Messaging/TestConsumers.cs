using System.Collections.Concurrent;
using System.Text;
using MassTransit;
using UniCode.Contracts.Common;
using UniCode.Contracts.Pretraining;
using UniCode.Contracts.Registry;
using UniCode.Messaging;

namespace UniCode.Integration.Tests.Messaging;

/// <summary>Test-only request: fail <see cref="FailTimes"/> times with <see cref="Failure"/> ("timeout" or "argument"), then answer.</summary>
public sealed record FlakyWork(Guid Id, int FailTimes, string Failure);

public sealed record FlakyWorkDone(Guid Id, int Attempts);

/// <summary>Test-only command for the prefetch test: blocks until the test opens <see cref="BusObservations.Gate"/>.</summary>
public sealed record GatedWork(Guid Id);

/// <summary>What the test consumers saw, shared with the test through DI.</summary>
public sealed class BusObservations
{
    public ConcurrentDictionary<Guid, TaskCompletionSource<PretrainCompleted>> Completed { get; } = new();
    public ConcurrentDictionary<Guid, int> Attempts { get; } = new();
    public ConcurrentBag<Uri> InputAddresses { get; } = [];

    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inFlight;
    private int _maxInFlight;
    private int _gatedDone;
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);
    public int InFlight => Volatile.Read(ref _inFlight);
    public int GatedDone => Volatile.Read(ref _gatedDone);

    public TaskCompletionSource<PretrainCompleted> CompletionOf(Guid jobId) =>
        Completed.GetOrAdd(jobId, _ => new TaskCompletionSource<PretrainCompleted>(TaskCreationOptions.RunContinuationsAsynchronously));

    public async Task RunGatedAsync()
    {
        var now = Interlocked.Increment(ref _inFlight);
        int max;
        while (now > (max = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max) { }
        await Gate.Task;
        Interlocked.Decrement(ref _inFlight);
        Interlocked.Increment(ref _gatedDone);
    }
}

/// <summary>Answers GetCheckpoint like the registry: one known checkpoint, reachable by sha or by the alias "best-val".</summary>
public sealed class FakeRegistryConsumer(BusObservations observations) : IConsumer<GetCheckpoint>
{
    public static readonly CheckpointInfo Known = new(
        Sha256: StepKeys.Sha256Hex("checkpoint-file"u8), RunId: Guid.Parse("0b5c6a3e-59e4-4d3e-9a55-0c1a2b3c4d5e"),
        Step: 1200, Epoch: 3, ParentSha256: null, Uri: "file:///checkpoints/a.pt", SizeBytes: 3_290_361,
        ConfigHash: StepKeys.Sha256Hex("{}"u8), DatasetHash: StepKeys.Sha256Hex("dataset"u8), Seed: 43, CodeVersion: "abc1234",
        CreatedAt: new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

    public async Task Consume(ConsumeContext<GetCheckpoint> context)
    {
        observations.InputAddresses.Add(context.ReceiveContext.InputAddress);
        var query = context.Message.ShaOrAlias;
        if (query == Known.Sha256 || query == "best-val")
            await context.RespondAsync(new CheckpointFound(query, Known));
        else
            await context.RespondAsync(new CheckpointNotFound(query, $"no checkpoint with sha256 or alias '{query}'"));
    }
}

/// <summary>Plays a trainer: PretrainModel in, PretrainCompleted out (checkpoint sha = sha256 of the step key).</summary>
public sealed class FakeTrainerConsumer(BusObservations observations) : IConsumer<PretrainModel>
{
    public async Task Consume(ConsumeContext<PretrainModel> context)
    {
        observations.InputAddresses.Add(context.ReceiveContext.InputAddress);
        var m = context.Message;
        await context.Publish(new PretrainCompleted(
            m.JobId, m.ChainId, m.StepKey,
            CheckpointSha256: StepKeys.Sha256Hex(Encoding.UTF8.GetBytes(m.StepKey)),
            CheckpointUri: $"file:///checkpoints/{m.JobId:N}.pt",
            Step: 100, Epoch: 1,
            Metrics: [new MetricValue("loss", 0.125), new MetricValue("seed", m.Run.Seed)],
            CompletedAt: m.RequestedAt.AddMinutes(5)));
    }
}

/// <summary>Plays the coordinator: records every PretrainCompleted it sees.</summary>
public sealed class PretrainCompletedObserver(BusObservations observations) : IConsumer<PretrainCompleted>
{
    public Task Consume(ConsumeContext<PretrainCompleted> context)
    {
        observations.CompletionOf(context.Message.JobId).TrySetResult(context.Message);
        return Task.CompletedTask;
    }
}

public sealed class FlakyConsumer(BusObservations observations) : IConsumer<FlakyWork>
{
    public async Task Consume(ConsumeContext<FlakyWork> context)
    {
        var m = context.Message;
        var attempt = observations.Attempts.AddOrUpdate(m.Id, 1, (_, n) => n + 1);
        if (attempt <= m.FailTimes)
        {
            throw m.Failure switch
            {
                "timeout" => new TimeoutException($"attempt {attempt}: the GPU did not answer"),
                _ => new ArgumentException($"attempt {attempt}: config field 'codebook_size' must be positive"),
            };
        }
        await context.RespondAsync(new FlakyWorkDone(m.Id, attempt));
    }
}

public sealed class GatedConsumer(BusObservations observations) : IConsumer<GatedWork>
{
    public Task Consume(ConsumeContext<GatedWork> context) => observations.RunGatedAsync();
}
