using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Preprocessing;
using UniCode.Hosting;
using UniCode.Persistence.Artifacts;

namespace UniCode.Preprocessing;

/// <summary>
/// PreprocessDataset → DatasetPreprocessed, or DatasetRejected with the reader's message (bad input is not
/// retried). Both are published, and are the response when the command came as a request. Any other
/// failure (disk full, database down) is an exception: retried when transient, then a Fault and the
/// message in the queue's _error queue.
/// </summary>
public sealed class PreprocessDatasetConsumer(DatasetPreprocessor preprocessor, ILogger<PreprocessDatasetConsumer> logger) : IConsumer<PreprocessDataset>
{
    public async Task Consume(ConsumeContext<PreprocessDataset> context)
    {
        var m = context.Message;
        if (m.Dataset is null)
            throw new ArgumentException("PreprocessDataset.Dataset is missing; expected a KIND:PATH dataset name");
        using var scope = JobLogScope.Begin(logger, m.JobId, m.ChainId, m.StepKey);
        logger.LogInformation("Preprocessing {Dataset}", m.Dataset);
        var outcome = await preprocessor.RunAsync(m.Dataset, context.CancellationToken);
        var now = DateTimeOffset.UtcNow;
        object message = outcome switch
        {
            PreprocessOutcome.Preprocessed p => new DatasetPreprocessed(m.JobId, m.ChainId, m.StepKey, p.DatasetId, p.Dataset, p.ContentHash, p.ClipCount, now),
            PreprocessOutcome.Rejected r => new DatasetRejected(m.JobId, m.ChainId, m.StepKey, m.Dataset, r.Reason, now),
            _ => throw new InvalidOperationException($"unexpected preprocessing outcome {outcome}"),
        };
        await context.Publish(message, message.GetType());
        if (context.ResponseAddress is not null) await context.RespondAsync(message, message.GetType());
    }
}

/// <summary>How a host (the service's Program, or a test) assembles the preprocessing service.</summary>
public static class PreprocessingServices
{
    /// <summary>Adds <see cref="DatasetPreprocessor"/> over <paramref name="store"/> (the results database must be added too).</summary>
    public static IServiceCollection AddDatasetPreprocessor(this IServiceCollection services, ArtifactStore store, PreprocessingOptions options)
    {
        services.AddSingleton(store);
        services.AddSingleton(options);
        services.AddSingleton<DatasetPreprocessor>();
        return services;
    }

    /// <summary>
    /// Registers <see cref="PreprocessDatasetConsumer"/>; its endpoint runs one dataset at a time (packing is
    /// memory- and disk-bound; more instances of the service share the queue). <paramref name="endpoint"/>
    /// adjusts the endpoint (tests make it temporary).
    /// </summary>
    public static IBusRegistrationConfigurator AddPreprocessingConsumers(this IBusRegistrationConfigurator bus, Action<IEndpointRegistrationConfigurator>? endpoint = null)
    {
        bus.AddConsumer<PreprocessDatasetConsumer>().Endpoint(e =>
        {
            e.ConcurrentMessageLimit = 1;
            endpoint?.Invoke(e);
        });
        return bus;
    }
}
