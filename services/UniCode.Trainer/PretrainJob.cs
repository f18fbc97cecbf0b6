using System.Globalization;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Common;
using UniCode.Contracts.Pretraining;
using UniCode.Experiments;
using UniCode.Jobs;
using UniCode.Model.Checkpoints;
using UniCode.Model.Config;
using UniCode.Model.Training;
using UniCode.Persistence;
using UniCode.Persistence.Entities;

namespace UniCode.Trainer;

/// <summary>PretrainModel → <see cref="PretrainJob"/>, one at a time (see <see cref="JobExecutor"/>).</summary>
public sealed class PretrainModelConsumer(JobExecutor executor, PretrainJob job) : IConsumer<PretrainModel>
{
    public Task Consume(ConsumeContext<PretrainModel> context) => executor.ConsumeAsync(context, job);
}

/// <summary>
/// Pre-training of one run: the config (Run.ConfigJson, a UniCodeConfig) on the dataset's train split
/// (all clips when it has none), checkpointing into <c>UNICODE_WORK/pretrain/&lt;JobId&gt;/</c> every epoch
/// and every UNICODE_CHECKPOINT_EVERY_STEPS steps. <see cref="PretrainLoop"/> resumes from the newest
/// valid checkpoint there, so a re-delivered job (worker crash, restart, shutdown) continues where the
/// last delivery stopped, with the same batch order and random state: its result equals an
/// uninterrupted run's. The final checkpoint goes into the artifact store; PretrainCompleted names it.
/// </summary>
public sealed class PretrainJob(IDbContextFactory<ResultsDbContext> contexts, TimeProvider time) : IJob<PretrainModel>
{
    private const string PublishedFile = "final.ckpt";

    public string Kind => RunKinds.Pretrain;

    public JobIdentity Identify(PretrainModel m) => new(m.JobId, m.ChainId, m.StepKey, m.Run, m.RequestedAt);

    public object ProgressEvent(JobIdentity job, ProgressPoint p) =>
        new PretrainProgressed(job.JobId, job.ChainId, p.Step, p.TotalSteps, p.Epoch, p.Metrics, time.GetUtcNow());

    public async Task<object?> FindCompletionAsync(PretrainModel m, JobExecution execution, CancellationToken ct)
    {
        if (Stored(execution) is { } recorded) return recorded;
        // The registry records the checkpoint that PretrainCompleted announced (run_id = the job).
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.Checkpoints.AsNoTracking().Where(c => c.RunId == m.JobId).OrderByDescending(c => c.Step).FirstOrDefaultAsync(ct);
        if (row is null || CheckpointLocator.LocalPath(row.Uri) is not { } path || !File.Exists(path)) return null;
        var metrics = await execution.Ledger.LastMetricsAsync(m.JobId, ct);
        return new PretrainCompleted(m.JobId, m.ChainId, m.StepKey, row.Sha256, row.Uri, row.Step, row.Epoch,
            metrics is { } x && x.Step == row.Step ? x.Metrics : [], row.CreatedAt);
    }

    public async Task<object> RunAsync(PretrainModel m, JobExecution execution)
    {
        var dir = execution.WorkDirectory;
        // Finished by an earlier delivery that died before the run row said so.
        if (Stored(execution) is { } done) return done;
        Directory.CreateDirectory(dir);
        if (m.ResumeFromSha256 is { } parent && !Directory.EnumerateFiles(dir, "step-*.ckpt").Any())
            await SeedFromAsync(parent, execution);

        var (result, usage, seconds) = await execution.OnJobThread(() => Train(m, execution, dir));
        var final = result.LastCheckpoint ?? throw new InvalidOperationException($"pre-training of job {m.JobId} ended without a checkpoint in {dir}");
        // Inside the run each checkpoint names the previous one as its parent; those scratch files are never
        // registered. The published checkpoint's parent is where the run started: ResumeFromSha256, or none.
        if (final.Metadata.ParentSha256 != m.ResumeFromSha256 && final.Sha256 != m.ResumeFromSha256)
            final = CheckpointFile.CopyWithParent(final.Path, Path.Combine(dir, PublishedFile), m.ResumeFromSha256, final.Sha256);
        var sha = execution.Artifacts.Put(final.Path, final.Sha256);
        var stored = execution.Artifacts.PathOf(sha);
        var metrics = result.FinalLosses.Select(kv => new MetricValue("loss/" + kv.Key, kv.Value))
            .Concat(Codebook(usage))
            .Append(new MetricValue("resumed_from_step", result.ResumedFromStep))
            .Append(new MetricValue("time/seconds", seconds))
            .ToList();
        var completion = new PretrainCompleted(m.JobId, m.ChainId, m.StepKey, sha, stored, final.Metadata.Step, final.Metadata.Epoch,
            metrics, time.GetUtcNow());
        CompletionRecord.Write(dir, completion);
        // The final checkpoint is in the store and the record names it: the scratch checkpoints can go.
        foreach (var f in Directory.EnumerateFiles(dir, "step-*.ckpt*").Concat(Directory.EnumerateFiles(dir, PublishedFile + "*"))) File.Delete(f);
        execution.Logger.LogInformation("Pre-training done at step {Step} (resumed from {Resumed}): checkpoint {Sha256} at {Uri}",
            final.Metadata.Step, result.ResumedFromStep, sha, stored);
        return completion;
    }

    private static (PretrainResult Result, CodebookUsageSummary Usage, double Seconds) Train(PretrainModel m, JobExecution execution, string dir)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var config = UniCodeConfig.FromJson(m.Run.ConfigJson, "PretrainModel.Run.ConfigJson");
        using var data = JobData.Load(m.Dataset, "PretrainModel.Dataset", config.Modalities, m.Run.DatasetHash);
        RequireShapes(config, data, m.Dataset);
        var split = data.Dataset.Splits.ContainsKey("train") ? "train" : null;   // labels are never used; the test split stays unseen
        using var source = data.BatchSource(split);
        using var trainer = new Pretrainer(config, execution.Runtime.Device);
        var options = new PretrainOptions
        {
            CheckpointDirectory = dir,
            CheckpointEverySteps = execution.Settings.CheckpointEverySteps,
            KeepCheckpoints = execution.Settings.KeepCheckpoints,
            ReportEvery = execution.Settings.ReportEverySteps,
            Resume = true,
        };
        execution.Logger.LogInformation("Pre-training config {ConfigHash} on {Dataset} ({Split}, {Clips} clips) on {Device}, checkpoints in {Directory}",
            config.Hash(), m.Dataset, split ?? "all clips", source.Count, execution.Runtime.DeviceName, dir);
        var result = PretrainLoop.Run(trainer, source, options, p => execution.ReportProgress(Point(p)), execution.CancellationToken);
        return (result, PretrainLoop.Usage(trainer), clock.Elapsed.TotalSeconds);
    }

    /// <summary>The config must already have the dataset's shapes (the coordinator fits it; a fitted config is part of the step key).</summary>
    private static void RequireShapes(UniCodeConfig config, DatasetTensors data, string dataset)
    {
        var fitted = data.Fit(config);
        foreach (var (field, want, got) in new[]
        {
            (nameof(config.Segments), fitted.Segments, config.Segments),
            (nameof(config.AudioInputDim), fitted.AudioInputDim, config.AudioInputDim),
            (nameof(config.VideoInputDim), fitted.VideoInputDim, config.VideoInputDim),
            (nameof(config.VideoGrid), fitted.VideoGrid, config.VideoGrid),
            (nameof(config.TextTokenDim), fitted.TextTokenDim, config.TextTokenDim),
        })
        {
            if (want != got)
                throw new ConfigException(field, got, $"{want}, the shape of dataset '{dataset}' (PretrainModel.Run.ConfigJson must be fitted to the dataset)");
        }
    }

    private static ProgressPoint Point(PretrainProgress p) => new(p.Step, p.TotalSteps, p.Epoch,
        p.Losses.Select(kv => new MetricValue("loss/" + kv.Key, kv.Value))
            .Append(new MetricValue("rate/steps_per_second", p.StepsPerSecond))
            .Append(new MetricValue("rate/samples_per_second", p.SamplesPerSecond))
            .Concat(Codebook(p.Codebook))
            .ToList());

    private static IEnumerable<MetricValue> Codebook(CodebookUsageSummary u) =>
    [
        new("codebook/size", u.Codes), new("codebook/used", u.Used), new("codebook/used_by_all", u.UsedByAll), new("codebook/used_by_one_only", u.UsedByOneOnly),
    ];

    private static PretrainCompleted? Stored(JobExecution execution) =>
        CompletionRecord.TryRead<PretrainCompleted>(execution.WorkDirectory) is { } c
        && c.JobId == execution.Job.JobId && c.StepKey == execution.Job.StepKey
        && (execution.Artifacts.Exists(c.CheckpointSha256) || (CheckpointLocator.LocalPath(c.CheckpointUri) is { } p && File.Exists(p)))
            ? c : null;

    /// <summary>
    /// PretrainModel.ResumeFromSha256: start from that checkpoint by placing a copy in the job's checkpoint
    /// directory (the loop then checks it has this run's config and dataset, and continues from its step).
    /// </summary>
    private static async Task SeedFromAsync(string sha256, JobExecution execution)
    {
        var path = await execution.Checkpoints.LocateAsync(sha256, "PretrainModel.ResumeFromSha256", execution.CancellationToken);
        CheckpointMetadata meta;
        try { meta = CheckpointFile.Verify(path, sha256).Metadata; }
        catch (CheckpointException e) { throw new JobRejectedException($"PretrainModel.ResumeFromSha256 {sha256}: {e.Message}"); }
        var target = Path.Combine(execution.WorkDirectory, PretrainLoop.FileName(meta.Step));
        File.Copy(path, target + ".partial", overwrite: true);
        File.Move(target + ".partial", target, overwrite: true);
        File.WriteAllText(target + ".sha256", $"{sha256}  {Path.GetFileName(target)}\n");
        execution.Logger.LogInformation("Resuming from checkpoint {Sha256} at step {Step}", sha256, meta.Step.ToString(CultureInfo.InvariantCulture));
    }
}
