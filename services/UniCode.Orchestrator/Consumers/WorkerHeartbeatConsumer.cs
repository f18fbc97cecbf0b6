using MassTransit;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Common;
using UniCode.Messaging;
using UniCode.Orchestrator.Chains;

namespace UniCode.Orchestrator.Consumers;

/// <summary>
/// Workers' heartbeats (queue "orchestrator-worker-heartbeat", apart from the events that end steps): the workers
/// table, and the leases of the steps whose jobs are running. No inbox record: a heartbeat repeated changes nothing
/// that the next one would not, and one every few seconds per worker would fill processed_messages. A heartbeat that
/// meets a database outage is dropped, not retried for minutes and dead-lettered: the next one comes a few seconds later.
/// </summary>
public sealed class WorkerHeartbeatConsumer(ChainStore store, ChainEngine engine, ILogger<WorkerHeartbeatConsumer> logger)
    : IConsumer<WorkerHeartbeat>
{
    public async Task Consume(ConsumeContext<WorkerHeartbeat> context)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["worker"] = context.Message.Worker });
        try
        {
            await store.RunAsync(null, null, db => engine.OnHeartbeatAsync(db, context.Message, context.CancellationToken), context.CancellationToken);
        }
        catch (Exception e) when (TransientErrors.IsTransient(e))
        {
            logger.LogWarning("Heartbeat of worker {Worker} dropped (the next one renews the lease): {Error}", context.Message.Worker, e.GetBaseException().Message);
        }
    }
}
