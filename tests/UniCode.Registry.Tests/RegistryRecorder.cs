using MassTransit;
using UniCode.Contracts.Registry;

namespace UniCode.Registry.Tests;

/// <summary>Plays the registry's subscribers (coordinator, CLI): records every outcome it publishes.</summary>
public sealed class RegistryRecorder(PublishedMessages published) :
    IConsumer<CheckpointRegistered>, IConsumer<CheckpointRejected>, IConsumer<CheckpointAliasSet>, IConsumer<CheckpointAliasRejected>,
    IConsumer<Fault<RegisterCheckpoint>>
{
    public Task Consume(ConsumeContext<CheckpointRegistered> context) => Record(context.Message);
    public Task Consume(ConsumeContext<CheckpointRejected> context) => Record(context.Message);
    public Task Consume(ConsumeContext<CheckpointAliasSet> context) => Record(context.Message);
    public Task Consume(ConsumeContext<CheckpointAliasRejected> context) => Record(context.Message);
    public Task Consume(ConsumeContext<Fault<RegisterCheckpoint>> context) => Record(context.Message);

    private Task Record(object message)
    {
        published.Add(message);
        return Task.CompletedTask;
    }
}
