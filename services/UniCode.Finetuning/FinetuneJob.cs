using System.Text.Json.Nodes;
using MassTransit;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Common;
using UniCode.Contracts.Finetuning;
using UniCode.Experiments;
using UniCode.Jobs;
using UniCode.Model.Checkpoints;
using UniCode.Model.Config;
using UniCode.Model.Downstream;
using UniCode.Persistence.Entities;

namespace UniCode.Finetuning;

/// <summary>FinetuneHead → <see cref="FinetuneJob"/>, one at a time (see <see cref="JobExecutor"/>).</summary>
public sealed class FinetuneHeadConsumer(JobExecutor executor, FinetuneJob job) : IConsumer<FinetuneHead>
{
    public Task Consume(ConsumeContext<FinetuneHead> context) => executor.ConsumeAsync(context, job);
}

/// <summary>
/// Trains the task's head on the frozen checkpoint's codes of the source modality (the dataset's train
/// split; held-out: the epoch picked on its val split in the same modality) and stores the head file
/// (<see cref="HeadFile"/>) in the artifact store; HeadFinetuned names it by sha256 for the evaluations.
/// Run.ConfigJson is the step config {options, protocol, seed, sourceModality, task}: options are
/// DownstreamOptions fields over the task's reference settings; protocol "held-out" (default) or
/// "reference"; seed defaults to Run.Seed. Cancellation takes effect at the next epoch.
/// </summary>
public sealed class FinetuneJob(TimeProvider time) : IJob<FinetuneHead>
{
    public string Kind => RunKinds.Finetune;

    public JobIdentity Identify(FinetuneHead m) => new(m.JobId, m.ChainId, m.StepKey, m.Run, m.RequestedAt);

    public object ProgressEvent(JobIdentity job, ProgressPoint p) =>
        new FinetuneProgressed(job.JobId, job.ChainId, p.Step, p.TotalSteps, p.Epoch, p.Metrics, time.GetUtcNow());

    public Task<object?> FindCompletionAsync(FinetuneHead m, JobExecution execution, CancellationToken ct) =>
        Task.FromResult<object?>(Stored(execution));

    public async Task<object> RunAsync(FinetuneHead m, JobExecution execution)
    {
        if (Stored(execution) is { } done) return done;
        var task = DownstreamJobs.Task(m.Task, "FinetuneHead.Task");
        var source = DownstreamJobs.Modality(m.SourceModality, "FinetuneHead.SourceModality");
        var config = DownstreamJobs.Config(m.Run.ConfigJson, "FinetuneHead.Run.ConfigJson");
        DownstreamJobs.RequireAgrees(config, "task", m.Task, "FinetuneHead.Task");
        DownstreamJobs.RequireAgrees(config, "sourceModality", m.SourceModality, "FinetuneHead.SourceModality");
        var protocol = DownstreamJobs.Protocol(config["protocol"]?.GetValue<string>(), "FinetuneHead.Run.ConfigJson.protocol");
        var seed = config["seed"] is JsonValue s ? s.GetValue<long>() : m.Run.Seed;
        if (seed is < int.MinValue or > int.MaxValue)
            throw new JobRejectedException($"FinetuneHead seed {seed} is out of range; expected a 32-bit integer (head initialisation and shuffling seed)");
        var options = DownstreamJobs.WithOverrides(task.Defaults, config["options"], "FinetuneHead.Run.ConfigJson.options") with
        {
            Seed = (int)seed,
            Protocol = protocol,
            Device = execution.Runtime.DeviceName,
        };
        var checkpoint = await execution.Checkpoints.LocateAsync(m.CheckpointSha256, "FinetuneHead.CheckpointSha256", execution.CancellationToken);

        var head = await execution.OnJobThread(() => Train(m, execution, task, source, options, checkpoint));

        Directory.CreateDirectory(execution.WorkDirectory);
        var temp = Path.Combine(execution.WorkDirectory, "head.partial.bin");
        var sha = HeadFile.Save(temp, head, m.CheckpointSha256);
        var stored = execution.Artifacts.PathOf(execution.Artifacts.Put(temp, sha));
        File.Delete(temp);
        var metrics = new List<MetricValue> { new("train_loss", head.History[^1].TrainLoss), new("epochs", head.History.Count) };
        // Held-out keeps one head: say which epoch, and its selection score (val of the source modality) if any.
        if (head.Weights is [var kept])
        {
            metrics.Add(new("selected_epoch", kept.Epoch));
            if (head.History.FirstOrDefault(h => h.Epoch == kept.Epoch) is { } at && !double.IsNaN(at.Metric)) metrics.Add(new(at.MetricName, at.Metric));
        }
        var completion = new HeadFinetuned(m.JobId, m.ChainId, m.StepKey, m.CheckpointSha256, sha, stored, m.Task, DownstreamJobs.Name(source),
            metrics, time.GetUtcNow());
        CompletionRecord.Write(execution.WorkDirectory, completion);
        execution.Logger.LogInformation("Head {Task} on {Source} trained ({Protocol}, {Epochs} epochs): {Sha256} at {Uri}",
            m.Task, source, RunInfo.Name(protocol), head.History.Count, sha, stored);
        return completion;
    }

    private static TrainedHead Train(FinetuneHead m, JobExecution execution, DownstreamJobTask task, Modality source, DownstreamOptions options, string checkpoint)
    {
        var (model, _) = LoadModel(checkpoint, m.CheckpointSha256, execution);
        using (model)
        {
            if (!model.Modalities.Contains(source))
                throw new JobRejectedException($"FinetuneHead.SourceModality is {DownstreamJobs.Name(source)}, but checkpoint {m.CheckpointSha256} was pre-trained on {model.Config.Modalities.Code()}");
            using var data = JobData.Load(m.Dataset, "FinetuneHead.Dataset", source.ToSet() | task.Partners, m.Run.DatasetHash);
            var clips = data.Labeled();
            var ct = execution.CancellationToken;
            return task.Train(Experiment.Encoder(model), clips, source, options with { Precision = model.Config.Precision }, log =>
            {
                ct.ThrowIfCancellationRequested();
                var metrics = new List<MetricValue> { new("train_loss", log.TrainLoss), new("learning_rate", log.LearningRate) };
                metrics.AddRange(log.Metrics.Select(kv => new MetricValue(kv.Key, kv.Value)));
                execution.ReportProgress(new ProgressPoint(log.Epoch + 1, log.Epochs, log.Epoch, metrics));
            });
        }
    }

    /// <summary>The frozen pre-trained model of a checkpoint (its sha256 verified).</summary>
    public static (UniCode.Model.UniCodeModel Model, CheckpointMetadata Metadata) LoadModel(string path, string sha256, JobExecution execution)
    {
        try
        {
            return CheckpointFile.LoadModel(path, execution.Runtime.Device, sha256);
        }
        catch (CheckpointException e)
        {
            throw new JobRejectedException($"checkpoint {sha256}: {e.Message}");
        }
    }

    private static HeadFinetuned? Stored(JobExecution execution) =>
        CompletionRecord.TryRead<HeadFinetuned>(execution.WorkDirectory) is { } c
        && c.JobId == execution.Job.JobId && c.StepKey == execution.Job.StepKey && execution.Artifacts.Exists(c.HeadSha256)
            ? c : null;
}
