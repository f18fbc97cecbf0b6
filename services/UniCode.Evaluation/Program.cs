using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using UniCode.Hosting;
using UniCode.Jobs;

namespace UniCode.Evaluation;

/// <summary>
/// unicode-evaluation: consumes EvaluateHead (queue "evaluate-head"), one job at a time per host; writes
/// downstream_results and publishes HeadEvaluated, JobFailed, JobCancelled; listens for CancelJob.
/// `unicode-evaluation health` checks its dependencies. Settings: UNICODE_PG, UNICODE_RABBITMQ_*, and the
/// job settings of <see cref="JobSettings"/> (UNICODE_DEVICE, UNICODE_WORK, UNICODE_ARTIFACTS, …).
/// </summary>
public static class Program
{
    public static Task<int> Main(string[] args) => ServiceHost.RunAsync("evaluation", args, b => b.AddJobService("evaluation", AddConsumers));

    /// <summary>The evaluation job consumer and its job (tests build evaluation hosts with it too).</summary>
    public static void AddConsumers(IBusRegistrationConfigurator x, JobHostOptions options)
    {
        x.AddSingleton<EvaluateJob>();
        x.AddJobConsumer<EvaluateHeadConsumer>(options);
    }
}
