using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Quartz;
using UniCode.Contracts.Evaluation;
using UniCode.Orchestrator.Reevaluation;

namespace UniCode.Orchestrator.Consumers;

/// <summary>
/// TriggerReevaluation: fires the Quartz job now (queue "orchestrator-trigger-reevaluation"). Going through the
/// scheduler, not calling the planner, keeps [DisallowConcurrentExecution] in force against the
/// nightly trigger on every node. A duplicate trigger is harmless: the sweep is idempotent.
/// </summary>
public sealed class TriggerReevaluationConsumer(IServiceProvider services, OrchestratorOptions options, ILogger<TriggerReevaluationConsumer> logger)
    : IConsumer<TriggerReevaluation>
{
    public async Task Consume(ConsumeContext<TriggerReevaluation> context)
    {
        // A named scheduler's parts are keyed services under its name.
        var scheduler = await services.GetRequiredKeyedService<ISchedulerFactory>(options.SchedulerName).GetScheduler(context.CancellationToken);
        await scheduler.TriggerJob(ReevaluateCheckpointsJob.Key, context.CancellationToken);
        logger.LogInformation("Re-evaluation sweep triggered on demand: {Reason}", context.Message.Reason);
    }
}
