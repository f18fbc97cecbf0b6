using TorchSharp;
using TorchSharp.Modules;
using UniCode.Model.Augmentation;
using UniCode.Model.Config;
using UniCode.Model.Runtime;
using static TorchSharp.torch;

namespace UniCode.Model.Training;

/// <summary>
/// One optimisation step of pre-training (docs/reference-behaviour.md §1.9): encoder forward (MM-EMA, reset, CMCM,
/// commitment), CLUB estimator fit on detached inputs, the full objective, backward, per-module
/// clipping, Adam. Owns the model and its optimisers. Not thread-safe: TorchSharp dispose scopes are
/// per thread, so a training loop runs synchronously on one thread.
/// </summary>
public sealed class Pretrainer : IDisposable
{
    private readonly Adam optimizer;
    private readonly Dictionary<Modality, Adam> clubOptimizers = new();
    private readonly IReadOnlyList<(string Name, IReadOnlyList<Parameter> Parameters)> groups;
    private readonly Generator generator;

    public UniCodeModel Model { get; }
    public UniCodeConfig Config => Model.Config;
    public Device Device { get; }

    /// <summary>Optimisation steps taken so far (restored from a checkpoint on resume).</summary>
    public long Step { get; set; }

    /// <summary>Names of the values in <see cref="StepResult.Values"/>, in order.</summary>
    public IReadOnlyList<string> LossNames { get; }

    public Pretrainer(UniCodeConfig config, Device device) : this(CreateModel(config), device) { }

    private static UniCodeModel CreateModel(UniCodeConfig config)
    {
        random.manual_seed(config.Seed);   // parameter init and dropout follow the run's seed
        return new UniCodeModel(config);
    }

    public Pretrainer(UniCodeModel model, Device device)
    {
        Model = model;
        Device = device;
        model.to(device);
        var c = model.Config;
        groups = model.MainParameterGroups();
        optimizer = optim.Adam(groups.SelectMany(g => g.Parameters), c.LearningRate, c.AdamBeta1, c.AdamBeta2, c.AdamEpsilon);
        if (c.UseClub)
        {
            foreach (var m in model.Modalities)
                clubOptimizers[m] = optim.Adam(model.ClubFor(m)!.parameters(), c.ClubLearningRate);
        }
        generator = new Generator((ulong)c.Seed, device);
        var names = new List<string> { "total" };
        foreach (var m in model.Modalities) names.Add($"recon_{UniCodeModel.Key(m)}");
        foreach (var m in model.Modalities) names.Add($"commit_{UniCodeModel.Key(m)}");
        if (c.UseClub) foreach (var m in model.Modalities) names.Add($"club_mi_{UniCodeModel.Key(m)}");
        if (c.UseCpc) names.Add("cpc");
        if (c.UseCmcm) names.Add("cmcm");
        if (c.SegmentCorrespondence is not null) names.Add("correspondence");
        names.Add("agreeing_samples");
        LossNames = names;
    }

    /// <summary>The loss terms of one step, detached, as one vector in <see cref="LossNames"/> order; read it on the host only when reporting.</summary>
    public sealed record StepResult(Tensor Values);

    /// <summary>
    /// One step. Runs inside its own dispose scope, so native memory does not grow with the number
    /// of steps; the returned tensor lives in the caller's scope.
    /// </summary>
    public StepResult TrainStep(PretrainBatch batch)
    {
        var c = Config;
        using var scope = NewDisposeScope();
        Model.train();
        // Host-side and device-side randomness of this step depend only on (seed, step): a resumed run repeats them.
        var rng = new Random(StableSeed.Derive(c.Seed, Step));
        generator.manual_seed(c.Seed * 1_000_003 + Step);
        if (c.StyleMixing is { } mixing) batch = ClipStyleMixing.Apply(batch, mixing, rng);   // not in the paper

        EncoderOutput enc;
        if (c.Loop == TrainingLoop.PaperEra && c.UseClub)
        {
            // Paper-era loop: the encoder forward is re-run for each estimator step (6 EMA updates per batch).
            for (var i = 0; i < c.ClubEstimatorSteps; i++)
            {
                var e = Model.Encode(batch);
                FitClub(e, 1);
            }
            enc = Model.Encode(batch);
        }
        else
        {
            enc = Model.Encode(batch);
            if (c.UseClub) FitClub(enc, c.ClubEstimatorSteps);
        }

        var losses = Model.Losses(enc, batch, rng, generator);
        optimizer.zero_grad();
        losses.Total.backward();
        foreach (var (_, parameters) in groups) GradientClipping.ClipByNorm(parameters, c.GradientClip);
        optimizer.step();
        // The MI term's gradients reached the CLUB nets too; they are not theirs to use.
        foreach (var o in clubOptimizers.Values) o.zero_grad();
        Step++;

        var values = new List<Tensor> { losses.Total };
        values.AddRange(Model.Modalities.Select(m => losses.Reconstruction[m]));
        values.AddRange(Model.Modalities.Select(m => losses.Commitment[m]));
        if (c.UseClub) values.AddRange(Model.Modalities.Select(m => losses.MutualInformation[m]));
        if (losses.Cpc is not null) values.Add(losses.Cpc);
        if (losses.Cmcm is not null) values.Add(losses.Cmcm);
        if (losses.Correspondence is not null) values.Add(losses.Correspondence);
        values.Add(enc.Quantizer.AgreeingSamples);
        var vector = stack(values.Select(v => v.detach().to(ScalarType.Float64).reshape(1)).ToArray()).reshape(-1);
        return new StepResult(vector.MoveToOuterDisposeScope());
    }

    /// <summary>CLUB estimator fit (docs/reference-behaviour.md §1.7): maximise the variational log-likelihood on detached (ẑ, z̄); order video, text, audio.</summary>
    private void FitClub(EncoderOutput enc, int steps)
    {
        var order = new[] { Modality.Video, Modality.Text, Modality.Audio }.Where(Model.Modalities.Contains).ToList();
        for (var i = 0; i < steps; i++)
        {
            foreach (var m in order)
            {
                using var scope = NewDisposeScope();
                var net = Model.ClubFor(m)!;
                var opt = clubOptimizers[m];
                opt.zero_grad();
                var loss = net.LearningLoss(enc.Quantizer.Quantized[m].detach(), enc.Specific[m].ClubTarget.detach());
                loss.backward();
                opt.step();
            }
        }
    }

    /// <summary>Optimiser states, in a fixed order, for checkpoints.</summary>
    internal IEnumerable<(string Name, OptimizerHelper Optimizer)> Optimizers()
    {
        yield return ("main", optimizer);
        foreach (var m in Model.Modalities)
            if (clubOptimizers.TryGetValue(m, out var o)) yield return ($"club_{UniCodeModel.Key(m)}", o);
    }

    public void Dispose()
    {
        optimizer.Dispose();
        foreach (var o in clubOptimizers.Values) o.Dispose();
        generator.Dispose();
        Model.Dispose();
    }
}
