using MassTransit;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Common;

namespace UniCode.Jobs;

/// <summary>
/// CancelJob → cancels the job if it runs on this worker (it stops at its next step and publishes
/// JobCancelled), else remembers it for a delivery that has not started yet. Every worker has its own
/// temporary queue for this (the publisher does not know which worker holds the job).
/// </summary>
public sealed class CancelJobConsumer(JobCancellations cancellations, ILogger<CancelJobConsumer> logger) : IConsumer<CancelJob>
{
    public Task Consume(ConsumeContext<CancelJob> context)
    {
        var m = context.Message;
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["job_id"] = m.JobId, ["chain_id"] = m.ChainId });
        if (cancellations.Cancel(m.JobId, m.Reason ?? "cancelled", m.RequestedAt))
            logger.LogInformation("CancelJob for job {JobId} running here: stopping it ({Reason})", m.JobId, m.Reason);
        else
            logger.LogDebug("CancelJob for job {JobId}, not running here: remembered", m.JobId);
        return Task.CompletedTask;
    }
}
