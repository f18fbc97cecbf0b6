using Microsoft.Extensions.Logging;
using Quartz;

namespace UniCode.Orchestrator.Reevaluation;

/// <summary>
/// The nightly re-evaluation sweep as a Quartz job (PostgreSQL job store, clustered: one node of the
/// cluster fires each trigger). Never runs twice at once, in this process or anywhere in the cluster.
/// The result (submissions) is left in <see cref="IJobExecutionContext.Result"/> for listeners.
/// </summary>
[DisallowConcurrentExecution]
public sealed class ReevaluateCheckpointsJob(ReevaluationPlanner planner, ILogger<ReevaluateCheckpointsJob> logger) : IJob
{
    public static readonly JobKey Key = new("reevaluate-checkpoints", "unicode");
    public static readonly TriggerKey NightlyTrigger = new("reevaluate-checkpoints-nightly", "unicode");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["quartz_fire_id"] = context.FireInstanceId });
        var submitted = await planner.RunAsync(cancellationToken);
        context.Result = submitted;
    }
}
