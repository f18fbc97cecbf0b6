using MassTransit;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Chains;
using UniCode.Orchestrator.Chains;

namespace UniCode.Orchestrator.Consumers;

/// <summary>SubmitChain and CancelChain (queue "orchestrator-chain-command"). Each message is one unit of work with an inbox record.</summary>
public sealed class ChainCommandConsumer(ChainStore store, ChainEngine engine, ILogger<ChainCommandConsumer> logger)
    : IConsumer<SubmitChain>, IConsumer<CancelChain>
{
    /// <summary>The consumer's name in processed_messages.</summary>
    public const string InboxName = "orchestrator.chain-command";

    public Task Consume(ConsumeContext<SubmitChain> context) =>
        Handle(context, context.Message.ChainId, db => engine.SubmitAsync(db, context.Message, context.CancellationToken));

    public Task Consume(ConsumeContext<CancelChain> context) =>
        Handle(context, context.Message.ChainId, db => engine.CancelAsync(db, context.Message, context.CancellationToken));

    private async Task Handle<T>(ConsumeContext<T> context, Guid chainId, Func<UniCode.Persistence.ResultsDbContext, Task> work) where T : class
    {
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["chain_id"] = chainId });
        if (!await store.RunAsync(InboxName, context.MessageId, work, context.CancellationToken))
            logger.LogInformation("{MessageType} {MessageId} was handled before; duplicate ignored", typeof(T).Name, context.MessageId);
    }
}
