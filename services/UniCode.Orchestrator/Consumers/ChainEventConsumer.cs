using MassTransit;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Common;
using UniCode.Contracts.Evaluation;
using UniCode.Contracts.Finetuning;
using UniCode.Contracts.Pretraining;
using UniCode.Contracts.Registry;
using UniCode.Core;
using UniCode.Orchestrator.Chains;
using UniCode.Persistence;

namespace UniCode.Orchestrator.Consumers;

/// <summary>
/// The job events that end steps (queue "orchestrator-chain-event"), and the faults MassTransit
/// publishes when a worker's consumer throws for good (a worker that crashed instead of publishing
/// JobFailed fails the step all the same). Duplicates are harmless twice over: the
/// inbox drops a redelivered message id, and an event for a step that is no longer waiting (a
/// re-published event with a new id) matches no step.
/// </summary>
public sealed class ChainEventConsumer(ChainStore store, ChainEngine engine, ILogger<ChainEventConsumer> logger)
    : IConsumer<PretrainCompleted>, IConsumer<CheckpointRegistered>, IConsumer<HeadFinetuned>, IConsumer<HeadEvaluated>,
      IConsumer<JobFailed>, IConsumer<JobCancelled>,
      IConsumer<Fault<PretrainModel>>, IConsumer<Fault<FinetuneHead>>, IConsumer<Fault<EvaluateHead>>
{
    public const string InboxName = "orchestrator.chain-event";

    public Task Consume(ConsumeContext<PretrainCompleted> context) =>
        Handle(context, context.Message.ChainId, context.Message.JobId, (db, ct) => engine.OnPretrainCompletedAsync(db, context.Message, ct));

    public Task Consume(ConsumeContext<CheckpointRegistered> context) =>
        Handle(context, context.Message.ChainId, context.Message.Checkpoint.RunId, (db, ct) => engine.OnCheckpointRegisteredAsync(db, context.Message, ct));

    public Task Consume(ConsumeContext<HeadFinetuned> context) =>
        Handle(context, context.Message.ChainId, context.Message.JobId, (db, ct) => engine.OnHeadFinetunedAsync(db, context.Message, ct));

    public Task Consume(ConsumeContext<HeadEvaluated> context) =>
        Handle(context, context.Message.ChainId, context.Message.JobId, (db, ct) => engine.OnHeadEvaluatedAsync(db, context.Message, ct));

    public Task Consume(ConsumeContext<JobFailed> context) =>
        Handle(context, context.Message.ChainId, context.Message.JobId, (db, ct) => engine.OnJobFailedAsync(db, context.Message, ct));

    public Task Consume(ConsumeContext<JobCancelled> context) =>
        Handle(context, context.Message.ChainId, context.Message.JobId, (db, ct) => engine.OnJobCancelledAsync(db, context.Message, ct));

    public Task Consume(ConsumeContext<Fault<PretrainModel>> context) =>
        HandleFault(context, JobKinds.Pretrain, context.Message.Message.JobId, context.Message.Message.ChainId, context.Message.Message.StepKey);

    public Task Consume(ConsumeContext<Fault<FinetuneHead>> context) =>
        HandleFault(context, JobKinds.Finetune, context.Message.Message.JobId, context.Message.Message.ChainId, context.Message.Message.StepKey);

    public Task Consume(ConsumeContext<Fault<EvaluateHead>> context) =>
        HandleFault(context, JobKinds.Evaluate, context.Message.Message.JobId, context.Message.Message.ChainId, context.Message.Message.StepKey);

    private Task HandleFault<T>(ConsumeContext<Fault<T>> context, string kind, Guid jobId, Guid? chainId, string stepKey) where T : class
    {
        var exception = context.Message.Exceptions.FirstOrDefault();
        var failed = new JobFailed(jobId, kind,
            $"the worker's consumer failed: {exception?.Message ?? "(no exception information)"}",
            exception?.ExceptionType ?? "", chainId, stepKey, new DateTimeOffset(context.Message.Timestamp, TimeSpan.Zero));
        return Handle(context, chainId, jobId, (db, ct) => engine.OnJobFailedAsync(db, failed, ct));
    }

    private async Task Handle<T>(ConsumeContext<T> context, Guid? chainId, Guid jobId, Func<ResultsDbContext, CancellationToken, Task> work) where T : class
    {
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["chain_id"] = chainId, ["job_id"] = jobId });
        if (!await store.RunAsync(InboxName, context.MessageId, db => work(db, context.CancellationToken), context.CancellationToken))
            logger.LogInformation("{MessageType} {MessageId} was handled before; duplicate ignored", typeof(T).Name, context.MessageId);
    }
}
