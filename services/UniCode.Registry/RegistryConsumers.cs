using MassTransit;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Pretraining;
using UniCode.Contracts.Registry;
using UniCode.Hosting;

namespace UniCode.Registry;

// Queue names come from the consumer class names (kebab case, behind the host's prefix): they are
// unique to the registry so no other service's consumer can end up competing on the same queue.

/// <summary>
/// RegisterCheckpoint → CheckpointRegistered, or CheckpointRejected with the reason. Both are published;
/// when the command came as a request the outcome is also the response. A message without a checkpoint
/// cannot be answered and faults (it ends in the queue's _error queue).
/// </summary>
public sealed class RegisterCheckpointConsumer(CheckpointRegistry registry, ILogger<RegisterCheckpointConsumer> logger) : IConsumer<RegisterCheckpoint>
{
    public async Task Consume(ConsumeContext<RegisterCheckpoint> context)
    {
        var m = context.Message;
        if (m.Checkpoint is null)
            throw new ArgumentException("RegisterCheckpoint.Checkpoint is missing; expected the CheckpointInfo of the file to register");
        using var scope = RegistryScope.Begin(logger, m.ChainId, m.Checkpoint.Sha256, m.Checkpoint.RunId);
        var outcome = await registry.RegisterAsync(m.Checkpoint, context.CancellationToken);
        await RegistryScope.ReportAsync(context, outcome, m.ChainId);
    }
}

/// <summary>
/// PretrainCompleted → registers the reported checkpoint (run = the job; the rest from the file), then
/// CheckpointRegistered or CheckpointRejected, published.
/// </summary>
public sealed class RegisterPretrainedCheckpointConsumer(CheckpointRegistry registry, ILogger<RegisterPretrainedCheckpointConsumer> logger) : IConsumer<PretrainCompleted>
{
    public async Task Consume(ConsumeContext<PretrainCompleted> context)
    {
        var m = context.Message;
        using var job = JobLogScope.Begin(logger, m.JobId, m.ChainId, m.StepKey);
        using var scope = RegistryScope.Begin(logger, m.ChainId, m.CheckpointSha256, m.JobId);
        var outcome = await registry.RegisterCompletedAsync(m, context.CancellationToken);
        await RegistryScope.ReportAsync(context, outcome, m.ChainId);
    }
}

/// <summary>SetCheckpointAlias → CheckpointAliasSet or CheckpointAliasRejected (published; also the response to a request).</summary>
public sealed class SetCheckpointAliasConsumer(CheckpointRegistry registry, ILogger<SetCheckpointAliasConsumer> logger) : IConsumer<SetCheckpointAlias>
{
    public async Task Consume(ConsumeContext<SetCheckpointAlias> context)
    {
        var m = context.Message;
        using var scope = JobLogScope.Begin(logger, null, new Dictionary<string, object?> { ["alias"] = m.Alias, ["checkpoint_sha256"] = m.Sha256 });
        var outcome = await registry.SetAliasAsync(m.Alias, m.Sha256, context.CancellationToken);
        var now = DateTimeOffset.UtcNow;
        object message = outcome switch
        {
            AliasOutcome.Set s => new CheckpointAliasSet(s.Alias, s.Sha256, s.PreviousSha256, now),
            AliasOutcome.Rejected r => new CheckpointAliasRejected(r.Alias, r.Sha256, r.Reason, now),
            _ => throw new InvalidOperationException($"unexpected alias outcome {outcome}"),
        };
        await RegistryScope.PublishAndRespondAsync(context, message);
    }
}

/// <summary>GetCheckpoint → CheckpointFound / CheckpointNotFound; GetCheckpointLineage → CheckpointLineage / CheckpointNotFound.</summary>
public sealed class CheckpointQueryConsumer(CheckpointRegistry registry) : IConsumer<GetCheckpoint>, IConsumer<GetCheckpointLineage>
{
    public async Task Consume(ConsumeContext<GetCheckpoint> context)
    {
        var query = context.Message.ShaOrAlias;
        var (checkpoint, reason) = await registry.FindAsync(query, context.CancellationToken);
        if (checkpoint is not null) await context.RespondAsync(new CheckpointFound(query, checkpoint));
        else await context.RespondAsync(new CheckpointNotFound(query, reason!));
    }

    public async Task Consume(ConsumeContext<GetCheckpointLineage> context)
    {
        var query = context.Message.ShaOrAlias;
        var (lineage, reason) = await registry.LineageAsync(query, context.CancellationToken);
        if (lineage is not null) await context.RespondAsync(new CheckpointLineage(query, lineage.Checkpoint, lineage.Ancestors, lineage.Children));
        else await context.RespondAsync(new CheckpointNotFound(query, reason!));
    }
}

internal static class RegistryScope
{
    public static IDisposable? Begin(ILogger logger, Guid? chainId, string sha256, Guid runId) =>
        JobLogScope.Begin(logger, chainId, new Dictionary<string, object?> { ["checkpoint_sha256"] = sha256, ["run_id"] = runId });

    public static Task ReportAsync(ConsumeContext context, RegistrationOutcome outcome, Guid? chainId)
    {
        var now = DateTimeOffset.UtcNow;
        object message = outcome switch
        {
            RegistrationOutcome.Registered r => new CheckpointRegistered(r.Checkpoint, chainId, now),
            RegistrationOutcome.Rejected r => new CheckpointRejected(r.Checkpoint, chainId, r.Reason, now),
            _ => throw new InvalidOperationException($"unexpected registration outcome {outcome}"),
        };
        return PublishAndRespondAsync(context, message);
    }

    /// <summary>
    /// Publishes the outcome (subscribers such as the coordinator see every outcome) and, when the command came
    /// as a request, responds with it too. A re-registration publishes again: subscribers are idempotent.
    /// </summary>
    public static async Task PublishAndRespondAsync(ConsumeContext context, object message)
    {
        await context.Publish(message, message.GetType());
        if (context.ResponseAddress is not null) await context.RespondAsync(message, message.GetType());
    }
}
