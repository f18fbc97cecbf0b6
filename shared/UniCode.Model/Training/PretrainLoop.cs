using System.Diagnostics;
using System.Globalization;
using UniCode.Model.Checkpoints;
using UniCode.Model.Runtime;
using static TorchSharp.torch;

namespace UniCode.Model.Training;

/// <summary>How a pre-training run is driven; the model's hyper-parameters live in the config.</summary>
public sealed record PretrainOptions
{
    /// <summary>Epochs to train (default: the config's, lengthened to its <see cref="Config.UniCodeConfig.PretrainMinSteps"/>).</summary>
    public int? Epochs { get; init; }
    /// <summary>Stop after this many steps in all (e.g. for benchmarks and tests).</summary>
    public long? MaxSteps { get; init; }
    /// <summary>Report progress every this many steps (the only host syncs of the loop).</summary>
    public int ReportEvery { get; init; } = 10;
    /// <summary>Where checkpoints go (<c>step-000000123.ckpt</c>); null = none.</summary>
    public string? CheckpointDirectory { get; init; }
    /// <summary>Also checkpoint every this many steps (0 = only at the end of each epoch).</summary>
    public long CheckpointEverySteps { get; init; }
    /// <summary>Checkpoints kept besides the newest (older ones are deleted); null = keep all.</summary>
    public int? KeepCheckpoints { get; init; }
    /// <summary>Continue from the newest valid checkpoint in <see cref="CheckpointDirectory"/> when there is one.</summary>
    public bool Resume { get; init; } = true;
}

/// <summary>Codebook use so far: codes chosen by any modality, by every modality, and by one modality only.</summary>
public sealed record CodebookUsageSummary(int Codes, int Used, int UsedByAll, int UsedByOneOnly);

/// <summary>A progress report of a running pre-training.</summary>
public sealed record PretrainProgress(
    long Step,
    long TotalSteps,
    int Epoch,
    IReadOnlyDictionary<string, double> Losses,
    double StepsPerSecond,
    double SamplesPerSecond,
    CodebookUsageSummary Codebook,
    TimeSpan Elapsed)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"step {Step}/{TotalSteps} epoch {Epoch} loss {Losses.GetValueOrDefault("total"):F4} {StepsPerSecond:F2} steps/s codes used {Codebook.Used}/{Codebook.Codes} (by all modalities {Codebook.UsedByAll})");
}

public sealed record PretrainResult(long Steps, IReadOnlyDictionary<string, double> FinalLosses, CheckpointInfo? LastCheckpoint, long ResumedFromStep);

/// <summary>
/// The pre-training loop: seeded shuffles per epoch, one <see cref="Pretrainer.TrainStep"/> per batch
/// (each in its own dispose scope), progress every few steps, checkpoints, and resumption from the
/// newest checkpoint, continuing the same batch order. Runs synchronously on the calling thread.
/// </summary>
public static class PretrainLoop
{
    public static PretrainResult Run(Pretrainer trainer, IBatchSource data, PretrainOptions options,
        Action<PretrainProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var c = trainer.Config;
        var batchSize = c.BatchSize;
        if (data.Count < batchSize)
            throw new ArgumentException($"the dataset has {data.Count} clips, fewer than one batch ({nameof(c.BatchSize)}={batchSize})");
        var stepsPerEpoch = data.Count / batchSize;   // the last partial batch is dropped
        var epochs = options.Epochs ?? c.PretrainEpochsFor(stepsPerEpoch);
        var total = (long)stepsPerEpoch * epochs;
        if (options.MaxSteps is { } max) total = Math.Min(total, max);

        CheckpointInfo? last = null;
        long resumedFrom = 0;
        if (options.CheckpointDirectory is { } dir && options.Resume)
        {
            last = LatestValid(dir, trainer, data.ContentHash);
            resumedFrom = trainer.Step;
        }
        // A fresh run fits the input scaling on its own pre-training data before the first step (a resumed one has it).
        if (trainer.Step == 0 && trainer.Model.Inputs.Enabled) trainer.Model.Inputs.Fit(data);

        var dtype = trainer.Model.DType;
        var indices = new int[batchSize];
        var clock = Stopwatch.StartNew();
        var windowClock = Stopwatch.StartNew();
        var windowStart = trainer.Step;
        Pretrainer.StepResult? lastResult = null;
        IReadOnlyDictionary<string, double> lastLosses = new Dictionary<string, double>();
        int[]? order = null;
        var orderEpoch = -1;
        try
        {
            while (trainer.Step < total)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var epoch = (int)(trainer.Step / stepsPerEpoch);
                var position = (int)(trainer.Step % stepsPerEpoch);
                if (orderEpoch != epoch)
                {
                    order = Shuffle(data.Count, c.Seed, epoch);
                    orderEpoch = epoch;
                }
                Array.Copy(order!, position * batchSize, indices, 0, batchSize);
                using (var scope = NewDisposeScope())
                {
                    var batch = data.ReadBatch(indices, trainer.Device, dtype);
                    lastResult?.Values.Dispose();
                    lastResult = trainer.TrainStep(batch);
                    lastResult.Values.MoveToOuterDisposeScope();
                }

                var endOfEpoch = trainer.Step % stepsPerEpoch == 0;
                var done = trainer.Step >= total;
                if (progress is not null && (trainer.Step % options.ReportEvery == 0 || done))
                {
                    lastLosses = ToDictionary(trainer, lastResult);
                    var seconds = windowClock.Elapsed.TotalSeconds;
                    var steps = trainer.Step - windowStart;
                    var rate = seconds > 0 ? steps / seconds : 0;
                    progress(new PretrainProgress(trainer.Step, total, (int)((trainer.Step - 1) / stepsPerEpoch), lastLosses,
                        rate, rate * batchSize, Usage(trainer), clock.Elapsed));
                    windowClock.Restart();
                    windowStart = trainer.Step;
                }
                if (options.CheckpointDirectory is { } cdir &&
                    (endOfEpoch || done || (options.CheckpointEverySteps > 0 && trainer.Step % options.CheckpointEverySteps == 0)))
                {
                    last = CheckpointFile.Save(Path.Combine(cdir, FileName(trainer.Step)), trainer, data.ContentHash,
                        (int)((trainer.Step - 1) / stepsPerEpoch), last?.Sha256);
                    Prune(cdir, options.KeepCheckpoints);
                }
            }
            if (lastResult is not null) lastLosses = ToDictionary(trainer, lastResult);
        }
        finally
        {
            lastResult?.Values.Dispose();
        }
        return new PretrainResult(trainer.Step, lastLosses, last, resumedFrom);
    }

    /// <summary>The checkpoint file name of a step: sorts by step.</summary>
    public static string FileName(long step) => $"step-{step:D9}.ckpt";

    /// <summary>The clip order of an epoch: a function of (seed, epoch) only, so a resumed run continues the same order.</summary>
    public static int[] Shuffle(int count, long seed, int epoch)
    {
        var order = Enumerable.Range(0, count).ToArray();
        new Random(StableSeed.Derive(seed, epoch, 0x5eed)).Shuffle(order);
        return order;
    }

    /// <summary>Summarises the quantizer's per-modality usage counters (one host copy).</summary>
    public static CodebookUsageSummary Usage(Pretrainer trainer)
    {
        var u = trainer.Model.Quantizer.Usage();
        return new CodebookUsageSummary(u.CodebookSize, u.CodebookSize - u.CodesUsedByNone(), u.CodesUsedByAll(),
            u.Modalities.Sum(u.CodesUsedOnlyBy));
    }

    private static IReadOnlyDictionary<string, double> ToDictionary(Pretrainer trainer, Pretrainer.StepResult result)
    {
        var values = result.Values.cpu().data<double>().ToArray();
        var d = new Dictionary<string, double>(values.Length);
        for (var i = 0; i < values.Length; i++) d[trainer.LossNames[i]] = values[i];
        return d;
    }

    /// <summary>
    /// Restores the newest checkpoint in <paramref name="dir"/> that verifies; corrupt ones are skipped
    /// (and reported on stderr). A sound checkpoint of another config or dataset is an error: the
    /// directory belongs to another run.
    /// </summary>
    private static CheckpointInfo? LatestValid(string dir, Pretrainer trainer, string datasetHash)
    {
        if (!Directory.Exists(dir)) return null;
        foreach (var path in Directory.GetFiles(dir, "step-*.ckpt").OrderByDescending(p => p, StringComparer.Ordinal))
        {
            CheckpointMetadata meta;
            string sha;
            try { (meta, sha) = CheckpointFile.Verify(path); }
            catch (CheckpointException e)
            {
                Console.Error.WriteLine($"warning: skipping {e.Message}");
                continue;
            }
            if (meta.DatasetHash != datasetHash)
                throw new CheckpointMismatchException(path, $"was trained on dataset {CheckpointFile.Short(meta.DatasetHash)}, this run's is {CheckpointFile.Short(datasetHash)}");
            CheckpointFile.RestoreVerified(path, meta, trainer);
            return new CheckpointInfo(path, sha, new FileInfo(path).Length, meta);
        }
        return null;
    }

    private static void Prune(string dir, int? keep)
    {
        if (keep is not { } k) return;
        foreach (var old in Directory.GetFiles(dir, "step-*.ckpt").OrderByDescending(p => p, StringComparer.Ordinal).Skip(k + 1))
        {
            File.Delete(old);
            File.Delete(old + ".sha256");
        }
    }
}
