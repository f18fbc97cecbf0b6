using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Common;
using UniCode.Contracts.Evaluation;
using UniCode.Experiments;
using UniCode.Jobs;
using UniCode.Model.Checkpoints;
using UniCode.Model.Config;
using UniCode.Model.Downstream;
using UniCode.Persistence;
using UniCode.Persistence.Entities;
using UniCode.Persistence.Writers;

namespace UniCode.Evaluation;

/// <summary>EvaluateHead → <see cref="EvaluateJob"/>, one at a time (see <see cref="JobExecutor"/>).</summary>
public sealed class EvaluateHeadConsumer(JobExecutor executor, EvaluateJob job) : IConsumer<EvaluateHead>
{
    public Task Consume(ConsumeContext<EvaluateHead> context) => executor.ConsumeAsync(context, job);
}

/// <summary>
/// Scores a fine-tuned head (HeadSha256, from the artifact store) on the target modality's codes of the
/// frozen checkpoint: held-out (default) on <see cref="EvaluateHead.Split"/>; reference (the paper's
/// protocol, an explicit choice) on the split the head trained on when the data are the same, each
/// direction at its own best epoch. One downstream_results row per metric, inserted under the table's
/// natural key (ON CONFLICT DO NOTHING), so a re-delivered or repeated evaluation writes nothing new;
/// eval_code_version is Run.CodeVersion (the evaluation code version the step was planned with). Beside the score
/// it writes the learning check of <see cref="Experiment.HeadLearning"/> (learned, collapsed, chance, probe_ceiling
/// rows) and logs a warning when the head did not learn.
/// </summary>
public sealed class EvaluateJob(IDbContextFactory<ResultsDbContext> contexts, TimeProvider time) : IJob<EvaluateHead>
{
    public string Kind => RunKinds.Evaluate;

    public JobIdentity Identify(EvaluateHead m) => new(m.JobId, m.ChainId, m.StepKey, m.Run, m.RequestedAt);

    public object? ProgressEvent(JobIdentity job, ProgressPoint point) => null;

    public async Task<object?> FindCompletionAsync(EvaluateHead m, JobExecution execution, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await db.DownstreamResults.AsNoTracking().Where(r => r.RunId == m.JobId).OrderBy(r => r.Metric).ToListAsync(ct);
        if (rows.Count == 0) return null;
        var r0 = rows[0];
        return new HeadEvaluated(m.JobId, m.ChainId, m.StepKey, m.CheckpointSha256, m.HeadSha256, m.Task, r0.SourceModality, r0.TargetModality,
            r0.Split, r0.Protocol, r0.EvalCodeVersion, r0.DatasetHash, rows.Select(r => new MetricValue(r.Metric, r.Value)).ToList(), rows.Max(r => r.CreatedAt));
    }

    public async Task<object> RunAsync(EvaluateHead m, JobExecution execution)
    {
        var ct = execution.CancellationToken;
        var task = DownstreamJobs.Task(m.Task, "EvaluateHead.Task");
        var source = DownstreamJobs.Modality(m.SourceModality, "EvaluateHead.SourceModality");
        var target = DownstreamJobs.Modality(m.TargetModality, "EvaluateHead.TargetModality");
        var protocol = DownstreamJobs.Protocol(m.Protocol, "EvaluateHead.Protocol");
        if (string.IsNullOrWhiteSpace(m.Split)) throw new JobRejectedException("EvaluateHead.Split is empty; expected the split to score, e.g. \"test\"");
        var config = DownstreamJobs.Config(m.Run.ConfigJson, "EvaluateHead.Run.ConfigJson");
        var options = DownstreamJobs.WithOverrides(task.Defaults, config["options"], "EvaluateHead.Run.ConfigJson.options") with
        {
            Protocol = protocol,
            TestSplit = m.Split,
            Device = execution.Runtime.DeviceName,
        };
        // downstream_results.checkpoint_sha256 references checkpoints: the registry must know the checkpoint.
        if (!await execution.Checkpoints.IsRegisteredAsync(m.CheckpointSha256, ct))
            throw new JobRejectedException($"EvaluateHead.CheckpointSha256 {m.CheckpointSha256} is not registered (no checkpoints row); results reference it, so register it first (RegisterCheckpoint, or the registry on PretrainCompleted)");
        var checkpoint = await execution.Checkpoints.LocateAsync(m.CheckpointSha256, "EvaluateHead.CheckpointSha256", ct);
        var headPath = await execution.Checkpoints.LocateAsync(m.HeadSha256, "EvaluateHead.HeadSha256", ct);

        var rows = await execution.OnJobThread(() => Score(m, execution, task, source, target, options, checkpoint, headPath));
        await InsertAsync(m, rows, execution.Logger, ct);
        var r0 = rows[0];
        execution.Logger.LogInformation("Scored head {Head} {Direction} on {Split}: {Metrics}", m.HeadSha256, $"{source}→{target}", r0.Split,
            string.Join(", ", rows.Select(r => $"{r.Metric} {r.Value:0.###}")));
        return new HeadEvaluated(m.JobId, m.ChainId, m.StepKey, m.CheckpointSha256, m.HeadSha256, m.Task,
            DownstreamJobs.Name(source), DownstreamJobs.Name(target), r0.Split, RunInfo.Name(protocol), m.Run.CodeVersion, r0.DatasetHash,
            rows.Select(r => new MetricValue(r.Metric, r.Value)).ToList(), time.GetUtcNow());
    }

    private static IReadOnlyList<MetricRow> Score(EvaluateHead m, JobExecution execution, DownstreamJobTask task, Modality source, Modality target,
        DownstreamOptions options, string checkpoint, string headPath)
    {
        HeadFileContent content;
        try { content = HeadFile.Load(headPath, m.HeadSha256); }
        catch (InvalidDataException e) { throw new JobRejectedException($"EvaluateHead.HeadSha256 {m.HeadSha256}: {e.Message}"); }
        var head = content.Head;
        if (head.Task != m.Task || head.Source != source)
            throw new JobRejectedException($"head {m.HeadSha256} was trained for task '{head.Task}' on {DownstreamJobs.Name(head.Source)}, but EvaluateHead says task '{m.Task}' on {m.SourceModality}");
        if (content.ParentSha256 is { } parent && parent != m.CheckpointSha256)
            throw new JobRejectedException($"head {m.HeadSha256} was trained on checkpoint {parent}, but EvaluateHead.CheckpointSha256 is {m.CheckpointSha256}");
        if (head.Protocol != options.Protocol)
            throw new JobRejectedException($"head {m.HeadSha256} was trained for the {RunInfo.Name(head.Protocol)} protocol, but EvaluateHead.Protocol is '{m.Protocol}'");
        CheckpointMetadata meta;
        UniCode.Model.UniCodeModel model;
        try { (model, meta) = CheckpointFile.LoadModel(checkpoint, execution.Runtime.Device, m.CheckpointSha256); }
        catch (CheckpointException e) { throw new JobRejectedException($"checkpoint {m.CheckpointSha256}: {e.Message}"); }
        using (model)
        {
            if (!model.Modalities.Contains(target))
                throw new JobRejectedException($"EvaluateHead.TargetModality is {m.TargetModality}, but checkpoint {m.CheckpointSha256} was pre-trained on {model.Config.Modalities.Code()}");
            execution.CancellationToken.ThrowIfCancellationRequested();
            using var data = JobData.Load(m.Dataset, "EvaluateHead.Dataset", target.ToSet() | task.Partners, m.Run.DatasetHash);
            var clips = data.Labeled();
            try
            {
                var scored = options with { Seed = head.Seed, Precision = model.Config.Precision };
                var rows = task.Score(head, Experiment.Encoder(model), clips, target, scored);
                // Whether it learned: the target's codes, the head's fit, the raw-feature ceiling and chance, as rows beside the score.
                var learning = Experiment.HeadLearning(model, clips, head, target, scored, rows);
                foreach (var warning in learning.Warnings)
                    execution.Logger.LogWarning("Head {Head} {Direction}: {Warning} — {Consequence}",
                        m.HeadSha256, $"{source}→{target}", warning, LearningReport.NotAScore);
                return [.. rows, .. Experiment.LearningRows(learning, rows)];
            }
            catch (ArgumentException e) when (e is not JobRejectedException)
            {
                throw new JobRejectedException($"head {m.HeadSha256} cannot score {m.Dataset}: {e.Message}");
            }
        }
    }

    /// <summary>One row per metric; a row already under the natural key stays as it is (a repeat writes nothing).</summary>
    private async Task InsertAsync(EvaluateHead m, IReadOnlyList<MetricRow> rows, ILogger logger, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        var inserted = await DownstreamResultsWriter.InsertAsync(db, rows.Select(r => new DownstreamResult
        {
            Id = Guid.CreateVersion7(), RunId = m.JobId, CheckpointSha256 = m.CheckpointSha256, Task = r.Task,
            SourceModality = DownstreamJobs.Name(r.Source), TargetModality = DownstreamJobs.Name(r.Target), Split = r.Split,
            Protocol = r.Protocol, Metric = r.Metric, Value = r.Value, Seed = r.Seed, EvalCodeVersion = m.Run.CodeVersion,
            DatasetHash = r.DatasetHash, CreatedAt = now,
        }).ToList(), ct);
        if (inserted < rows.Count)
            logger.LogInformation("{Existing} of {Rows} result rows were already stored under their natural key: kept as they are", rows.Count - inserted, rows.Count);
    }
}
