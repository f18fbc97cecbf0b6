using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using UniCode.Hosting;
using UniCode.Jobs;

namespace UniCode.Finetuning;

/// <summary>
/// unicode-finetuning: consumes FinetuneHead (queue "finetune-head"), one job at a time per host; publishes
/// FinetuneProgressed, HeadFinetuned, JobFailed, JobCancelled; listens for CancelJob.
/// `unicode-finetuning health` checks its dependencies. Settings: UNICODE_PG, UNICODE_RABBITMQ_*, and the
/// job settings of <see cref="JobSettings"/> (UNICODE_DEVICE, UNICODE_WORK, UNICODE_ARTIFACTS, …).
/// </summary>
public static class Program
{
    public static Task<int> Main(string[] args) => ServiceHost.RunAsync("finetuning", args, b => b.AddJobService("finetuning", AddConsumers));

    /// <summary>The fine-tuning job consumer and its job (tests build fine-tuning hosts with it too).</summary>
    public static void AddConsumers(IBusRegistrationConfigurator x, JobHostOptions options)
    {
        x.AddSingleton<FinetuneJob>();
        x.AddJobConsumer<FinetuneHeadConsumer>(options);
    }
}
