using MassTransit;
using UniCode.Persistence.Outbox;

namespace UniCode.Orchestrator.Hosting;

/// <summary>Publishes outbox rows on the MassTransit bus with the row id as message id (publisher confirms on: returns once RabbitMQ has it).</summary>
public sealed class MassTransitOutboxPublisher(IBus bus) : IOutboxPublisher
{
    public Task PublishAsync(object message, Type messageType, Guid messageId, CancellationToken cancellationToken) =>
        bus.Publish(message, messageType, Pipe.Execute<PublishContext>(context => context.MessageId = messageId), cancellationToken);
}
