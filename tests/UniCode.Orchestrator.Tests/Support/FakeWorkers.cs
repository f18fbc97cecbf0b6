using System.Collections.Concurrent;
using System.Text;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using UniCode.Contracts.Common;
using UniCode.Contracts.Evaluation;
using UniCode.Contracts.Finetuning;
using UniCode.Contracts.Pretraining;
using UniCode.Contracts.Registry;
using UniCode.Messaging;
using UniCode.Persistence;
using UniCode.Persistence.Entities;

namespace UniCode.Orchestrator.Tests.Support;

/// <summary>What a fake worker does with a job command.</summary>
public enum Act
{
    /// <summary>Reports progress, then completes.</summary>
    Complete,
    /// <summary>Publishes JobFailed with <see cref="FakeWorld.FailureReason"/>.</summary>
    Fail,
    /// <summary>Reports progress, then waits for a CancelJob of its job id and answers JobCancelled.</summary>
    HoldUntilCancelled,
    /// <summary>Waits until the test opens <see cref="FakeWorld.Gate"/>, then completes.</summary>
    WaitForGate,
    /// <summary>Swallows the first delivery of its job (a lost command), completes later ones.</summary>
    DropFirst,
    /// <summary>Swallows every delivery (a worker that never answers).</summary>
    Ignore,
    /// <summary>Throws <see cref="FakeWorld.CrashMessage"/>: MassTransit publishes a Fault of the command.</summary>
    Throw,
}

/// <summary>
/// The workers' side of the test: what they received, how they behave, and the rows the registry and
/// the results writer would write (runs, checkpoints, downstream_results), so the coordinator's
/// cache sees the same tables it sees in production. Results are deterministic: a checkpoint's sha256
/// is sha256("checkpoint:" + step key), a head's sha256("head:" + step key).
/// </summary>
public sealed class FakeWorld
{
    public const string FailureReason = "CUDA out of memory at step 12 (tried to allocate 2.00 GiB)";
    public const double Accuracy = 0.625;
    public const string CrashMessage = "evaluator crashed: head file truncated";

    public required string ConnectionString { get; init; }

    /// <summary>Every job command and CancelJob the fakes received, with its message id.</summary>
    public ConcurrentQueue<(object Message, Guid? MessageId)> Received { get; } = new();

    public Func<PretrainModel, Act> Pretrain { get; set; } = _ => Act.Complete;
    public Func<FinetuneHead, Act> Finetune { get; set; } = _ => Act.Complete;
    public Func<EvaluateHead, Act> Evaluate { get; set; } = _ => Act.Complete;

    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<CancelJob>> _cancellations = new();
    private readonly ConcurrentDictionary<Guid, int> _deliveries = new();

    public TaskCompletionSource<CancelJob> CancellationOf(Guid jobId) =>
        _cancellations.GetOrAdd(jobId, _ => new TaskCompletionSource<CancelJob>(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>1 for the first delivery of a job, 2 for the second, …</summary>
    public int Delivery(Guid jobId) => _deliveries.AddOrUpdate(jobId, 1, (_, n) => n + 1);

    /// <summary>Lets every held fake finish (at the end of a test, so the bus can stop).</summary>
    public void ReleaseAll()
    {
        Gate.TrySetResult();
        foreach (var (jobId, cancellation) in _cancellations)
            cancellation.TrySetResult(new CancelJob(jobId, "test ended", null, DateTimeOffset.UtcNow));
    }

    public List<T> Commands<T>() => Received.Select(r => r.Message).OfType<T>().ToList();

    public static string CheckpointSha(string stepKey) => StepKeys.Sha256Hex(Encoding.UTF8.GetBytes("checkpoint:" + stepKey));
    public static string HeadSha(string stepKey) => StepKeys.Sha256Hex(Encoding.UTF8.GetBytes("head:" + stepKey));

    /// <summary>Writes a succeeded run (id = job id) unless it exists.</summary>
    public async Task EnsureRunAsync(ResultsDbContext db, Guid jobId, string kind, string stepKey, RunIdentity? run, DateTimeOffset now)
    {
        if (await db.Runs.AnyAsync(r => r.Id == jobId)) return;
        db.Runs.Add(new Run
        {
            Id = jobId, Kind = kind, StepKey = stepKey, ConfigJson = run?.ConfigJson ?? "{}", ConfigHash = run?.ConfigHash ?? "",
            Seed = run?.Seed ?? 0, CodeVersion = run?.CodeVersion ?? "", DatasetHash = run?.DatasetHash ?? "",
            Status = RunStatuses.Succeeded, CreatedAt = now, FinishedAt = now, Device = "fake",
        });
        await db.SaveChangesAsync();
    }

    public ResultsDbContext Db() => ResultsDbContextOptions.CreateContext(ConnectionString);
}

/// <summary>
/// Plays a trainer for PretrainModel and FinetuneHead. Progress of a held job goes out through
/// <see cref="IBus"/>: the bus's in-memory outbox holds what a consumer publishes through its
/// context until the consumer returns, which a long job never does while it runs.
/// </summary>
public sealed class FakeTrainer(FakeWorld world, IBus bus) : IConsumer<PretrainModel>, IConsumer<FinetuneHead>
{
    public async Task Consume(ConsumeContext<PretrainModel> context)
    {
        var m = context.Message;
        world.Received.Enqueue((m, context.MessageId));
        switch (world.Pretrain(m))
        {
            case Act.DropFirst when world.Delivery(m.JobId) == 1:
            case Act.Ignore:
                return;
            case Act.Fail:
                await context.Publish(new JobFailed(m.JobId, "pretrain", FakeWorld.FailureReason, typeof(InvalidOperationException).FullName!, m.ChainId, m.StepKey, DateTimeOffset.UtcNow));
                return;
            case Act.HoldUntilCancelled:
                await bus.Publish(new PretrainProgressed(m.JobId, m.ChainId, 1, 100, 0, [new MetricValue("loss", 2.0)], DateTimeOffset.UtcNow));
                var cancel = await world.CancellationOf(m.JobId).Task.WaitAsync(TimeSpan.FromSeconds(30));
                await context.Publish(new JobCancelled(m.JobId, "pretrain", cancel.Reason, m.ChainId, m.StepKey, DateTimeOffset.UtcNow));
                return;
        }
        await context.Publish(new PretrainProgressed(m.JobId, m.ChainId, 50, 100, 0, [new MetricValue("loss", 1.0)], DateTimeOffset.UtcNow));
        await context.Publish(new PretrainCompleted(m.JobId, m.ChainId, m.StepKey, FakeWorld.CheckpointSha(m.StepKey),
            $"file:///artifacts/{m.JobId:N}.ckpt", 100, 1, [new MetricValue("loss", 0.5)], DateTimeOffset.UtcNow));
    }

    public async Task Consume(ConsumeContext<FinetuneHead> context)
    {
        var m = context.Message;
        world.Received.Enqueue((m, context.MessageId));
        switch (world.Finetune(m))
        {
            case Act.DropFirst when world.Delivery(m.JobId) == 1:
                return;
            case Act.Fail:
                await context.Publish(new JobFailed(m.JobId, "finetune", FakeWorld.FailureReason, typeof(InvalidOperationException).FullName!, m.ChainId, m.StepKey, DateTimeOffset.UtcNow));
                return;
            case Act.WaitForGate:
                await world.Gate.Task.WaitAsync(TimeSpan.FromSeconds(30));
                break;
        }
        var head = FakeWorld.HeadSha(m.StepKey);
        await using (var db = world.Db())
        {
            await world.EnsureRunAsync(db, m.JobId, RunKinds.Finetune, m.StepKey, m.Run, DateTimeOffset.UtcNow);
            if (!await db.Checkpoints.AnyAsync(c => c.Sha256 == head))
            {
                db.Checkpoints.Add(new Checkpoint
                {
                    Sha256 = head, RunId = m.JobId, Step = 10, Epoch = 1, ConfigHash = m.Run.ConfigHash, DatasetHash = m.Run.DatasetHash,
                    Seed = m.Run.Seed, CodeVersion = m.Run.CodeVersion, ParentSha256 = m.CheckpointSha256, Uri = $"file:///artifacts/{m.JobId:N}.head",
                    SizeBytes = 1024, CreatedAt = DateTimeOffset.UtcNow,
                });
                await db.SaveChangesAsync();
            }
        }
        await context.Publish(new FinetuneProgressed(m.JobId, m.ChainId, 10, 10, 0, [new MetricValue("loss", 0.3)], DateTimeOffset.UtcNow));
        await context.Publish(new HeadFinetuned(m.JobId, m.ChainId, m.StepKey, m.CheckpointSha256, head, $"file:///artifacts/{m.JobId:N}.head",
            m.Task, m.SourceModality, [new MetricValue("train/accuracy", 0.9)], DateTimeOffset.UtcNow));
    }
}

/// <summary>Plays the evaluation service and the results writer (a downstream_results row per score).</summary>
public sealed class FakeEvaluator(FakeWorld world) : IConsumer<EvaluateHead>
{
    public async Task Consume(ConsumeContext<EvaluateHead> context)
    {
        var m = context.Message;
        world.Received.Enqueue((m, context.MessageId));
        switch (world.Evaluate(m))
        {
            case Act.DropFirst when world.Delivery(m.JobId) == 1:
                return;
            case Act.Throw:
                throw new InvalidOperationException(FakeWorld.CrashMessage);
            case Act.Fail:
                await context.Publish(new JobFailed(m.JobId, "evaluate", FakeWorld.FailureReason, typeof(InvalidOperationException).FullName!, m.ChainId, m.StepKey, DateTimeOffset.UtcNow));
                return;
            case Act.WaitForGate:
                await world.Gate.Task.WaitAsync(TimeSpan.FromSeconds(30));
                break;
        }
        await using (var db = world.Db())
        {
            await world.EnsureRunAsync(db, m.JobId, RunKinds.Evaluate, m.StepKey, m.Run, DateTimeOffset.UtcNow);
            var exists = await db.DownstreamResults.AnyAsync(r => r.CheckpointSha256 == m.CheckpointSha256 && r.Task == m.Task
                && r.SourceModality == m.SourceModality && r.TargetModality == m.TargetModality && r.Split == m.Split
                && r.Protocol == m.Protocol && r.Metric == "accuracy" && r.EvalCodeVersion == m.Run.CodeVersion && r.DatasetHash == m.Run.DatasetHash);
            if (!exists)
            {
                db.DownstreamResults.Add(new DownstreamResult
                {
                    Id = Guid.NewGuid(), RunId = m.JobId, CheckpointSha256 = m.CheckpointSha256, Task = m.Task,
                    SourceModality = m.SourceModality, TargetModality = m.TargetModality, Split = m.Split, Protocol = m.Protocol,
                    Metric = "accuracy", Value = FakeWorld.Accuracy, Seed = m.Run.Seed, EvalCodeVersion = m.Run.CodeVersion,
                    DatasetHash = m.Run.DatasetHash, CreatedAt = DateTimeOffset.UtcNow,
                });
                await db.SaveChangesAsync();
            }
        }
        await context.Publish(new HeadEvaluated(m.JobId, m.ChainId, m.StepKey, m.CheckpointSha256, m.HeadSha256, m.Task, m.SourceModality,
            m.TargetModality, m.Split, m.Protocol, m.Run.CodeVersion, m.Run.DatasetHash, [new MetricValue("accuracy", FakeWorld.Accuracy)], DateTimeOffset.UtcNow));
    }
}

/// <summary>Plays the registry: PretrainCompleted in, runs + checkpoints rows, CheckpointRegistered out.</summary>
public sealed class FakeRegistry(FakeWorld world) : IConsumer<PretrainCompleted>
{
    public async Task Consume(ConsumeContext<PretrainCompleted> context)
    {
        var m = context.Message;
        var info = new CheckpointInfo(m.CheckpointSha256, m.JobId, m.Step, m.Epoch, null, m.CheckpointUri, 4096, "", "", 0, "", m.CompletedAt);
        await using (var db = world.Db())
        {
            await world.EnsureRunAsync(db, m.JobId, RunKinds.Pretrain, m.StepKey, null, DateTimeOffset.UtcNow);
            if (!await db.Checkpoints.AnyAsync(c => c.Sha256 == m.CheckpointSha256))
            {
                db.Checkpoints.Add(new Checkpoint
                {
                    Sha256 = info.Sha256, RunId = info.RunId, Step = info.Step, Epoch = info.Epoch, ConfigHash = "", DatasetHash = "",
                    Seed = 0, CodeVersion = "", Uri = info.Uri, SizeBytes = info.SizeBytes, CreatedAt = info.CreatedAt,
                });
                await db.SaveChangesAsync();
            }
        }
        await context.Publish(new CheckpointRegistered(info, m.ChainId, DateTimeOffset.UtcNow));
    }
}

/// <summary>Every worker listens for CancelJob; this one hands it to the held job.</summary>
public sealed class FakeCancellationListener(FakeWorld world) : IConsumer<CancelJob>
{
    public Task Consume(ConsumeContext<CancelJob> context)
    {
        world.Received.Enqueue((context.Message, context.MessageId));
        world.CancellationOf(context.Message.JobId).TrySetResult(context.Message);
        return Task.CompletedTask;
    }
}
