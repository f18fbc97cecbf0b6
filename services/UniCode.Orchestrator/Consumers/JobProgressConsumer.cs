using MassTransit;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Finetuning;
using UniCode.Contracts.Pretraining;
using UniCode.Messaging;
using UniCode.Orchestrator.Chains;

namespace UniCode.Orchestrator.Consumers;

/// <summary>
/// Progress reports (queue "orchestrator-job-progress", apart from the events that end steps, so a flood of
/// progress never delays a completion): the step is running, and how far it is. A report that meets a database outage
/// is dropped (logged), not retried for minutes and dead-lettered: progress is lossy by design, and the job's heartbeats
/// carry its latest progress too.
/// </summary>
public sealed class JobProgressConsumer(ChainStore store, ChainEngine engine, ILogger<JobProgressConsumer> logger)
    : IConsumer<PretrainProgressed>, IConsumer<FinetuneProgressed>
{
    public const string InboxName = "orchestrator.job-progress";

    public Task Consume(ConsumeContext<PretrainProgressed> context) =>
        Handle(context, context.Message.ChainId, context.Message.JobId, context.Message.Step, context.Message.TotalSteps);

    public Task Consume(ConsumeContext<FinetuneProgressed> context) =>
        Handle(context, context.Message.ChainId, context.Message.JobId, context.Message.Step, context.Message.TotalSteps);

    private async Task Handle<T>(ConsumeContext<T> context, Guid? chainId, Guid jobId, long step, long total) where T : class
    {
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["chain_id"] = chainId, ["job_id"] = jobId });
        try
        {
            await store.RunAsync(InboxName, context.MessageId, db => engine.OnProgressAsync(db, jobId, step, total, context.CancellationToken), context.CancellationToken);
        }
        catch (Exception e) when (TransientErrors.IsTransient(e))
        {
            logger.LogWarning("Progress {Step}/{Total} of job {JobId} dropped: {Error}", step, total, jobId, e.GetBaseException().Message);
        }
    }
}
