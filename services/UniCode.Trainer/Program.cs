using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using UniCode.Hosting;
using UniCode.Jobs;

namespace UniCode.Trainer;

/// <summary>
/// unicode-trainer: consumes PretrainModel (queue "pretrain-model"), one job at a time per host; publishes
/// PretrainProgressed, PretrainCompleted, JobFailed, JobCancelled; listens for CancelJob.
/// `unicode-trainer health` checks its dependencies. Settings: UNICODE_PG, UNICODE_RABBITMQ_*, and the
/// job settings of <see cref="JobSettings"/> (UNICODE_DEVICE, UNICODE_WORK, UNICODE_ARTIFACTS, …).
/// </summary>
public static class Program
{
    public static Task<int> Main(string[] args) => ServiceHost.RunAsync("trainer", args, b => b.AddJobService("trainer", AddConsumers));

    /// <summary>The trainer's job consumer and its job (tests build trainer hosts with it too).</summary>
    public static void AddConsumers(IBusRegistrationConfigurator x, JobHostOptions options)
    {
        x.AddSingleton<PretrainJob>();
        x.AddJobConsumer<PretrainModelConsumer>(options);
    }
}
