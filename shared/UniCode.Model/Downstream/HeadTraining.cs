using UniCode.Model.Config;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UniCode.Model.Downstream;

/// <summary>A head and its loss, as the shared training loop drives them.</summary>
internal abstract class HeadTask : IDisposable
{
    /// <summary>Modules moved to the run's device/dtype and switched between train and eval.</summary>
    public abstract IReadOnlyList<nn.Module> Modules { get; }
    /// <summary>Everything the optimiser updates.</summary>
    public abstract IEnumerable<Parameter> Optimised { get; }
    /// <summary>What the gradient clip applies to (the heads; the reference does not clip AVVP's α's).</summary>
    public abstract IEnumerable<Parameter> Clipped { get; }
    /// <summary>What determines the predictions (saved at the best validation epoch).</summary>
    public abstract IEnumerable<Parameter> Predictive { get; }
    /// <summary>Modalities besides the trained one whose codes a training batch needs (retrieval: the audio gallery).</summary>
    public virtual IReadOnlyList<Modality> Partners => [];
    /// <summary>The number that picks the reported epoch (a key of <see cref="Evaluate"/>'s result; higher is better).</summary>
    public abstract string SelectionMetric { get; }

    /// <summary>Labels of the clips <paramref name="indices"/> (in that order) for <paramref name="modality"/>, on the run's device; null when the task has none.</summary>
    public abstract Tensor? Labels(LabeledClips data, Modality modality, string split, int[] indices, Device device, ScalarType dtype);

    /// <summary>Training loss of one batch: codes [B, T, D], partner codes, labels of the batch.</summary>
    public abstract Tensor Loss(Tensor codes, IReadOnlyList<Tensor> partners, Tensor? labels);

    /// <summary>Scores cached codes of a whole split (eval mode, no_grad; reads results to the host).</summary>
    public abstract IReadOnlyDictionary<string, double> Evaluate(Tensor codes, IReadOnlyList<Tensor> partners, Tensor? labels, int batchSize);

    public virtual void Dispose()
    {
        foreach (var m in Modules) m.Dispose();
    }

    /// <summary>
    /// PyTorch's default Linear initialisation, U(−1/√fan_in, 1/√fan_in) for weight and bias, drawn
    /// from a private generator so that a run's numbers do not depend on other users of torch's global one.
    /// </summary>
    protected static void Initialise(nn.Module module, Generator generator)
    {
        using var _ = no_grad();
        foreach (var m in module.modules())
        {
            if (m is not Linear linear) continue;
            var bound = 1.0 / Math.Sqrt(linear.weight!.shape[1]);
            // Tensor.uniform_, not nn.init.uniform_: TorchSharp 0.107's init ignores its generator argument.
            linear.weight.uniform_(-bound, bound, generator);
            linear.bias?.uniform_(-bound, bound, generator);
        }
    }
}

/// <summary>Clips whose codes are scored: one direction's test set, or the validation set.</summary>
internal sealed record EvalTarget(Direction Direction, LabeledClips Data, string Split, int[] Indices)
{
    public ScoredSet Scored => new(Data.ContentHash, Direction.Test, Split, Indices);
    public string Key(string metric) => $"{Split}/{Direction.Name}/{metric}";
}

/// <summary>What a run trains on.</summary>
internal sealed record TrainingSet(LabeledClips Data, Modality Modality, string Split, int[] Indices)
{
    public ScoredSet Scored => new(Data.ContentHash, Modality, Split, Indices);
}

/// <summary>The reported numbers of one target, with the epoch they come from.</summary>
internal sealed record TargetScore(EvalTarget Target, int Epoch, IReadOnlyDictionary<string, double> Metrics);

internal sealed record TrainingOutcome(IReadOnlyList<EpochLog> History, IReadOnlyList<TargetScore> Scores);

/// <summary>
/// The loop every downstream protocol shares (docs/reference-behaviour.md §3): frozen encoder under no_grad,
/// Adam on the head, gradient-norm clip, MultiStepLR per epoch (held-out: at least MinSteps steps), shuffled batches; evaluation codes
/// are encoded once in eval mode and cached. Host reads happen once per epoch (loss and metrics).
/// </summary>
internal static class HeadTraining
{
    public static ScalarType Dtype(DownstreamOptions o) => o.Precision == Precision.Float64 ? ScalarType.Float64 : ScalarType.Float32;

    /// <summary>
    /// Trains the head <paramref name="createTask"/> builds (given the code width D) on
    /// <paramref name="train"/>, then scores <paramref name="targets"/> according to <see cref="DownstreamOptions.Protocol"/>:
    /// Reference: every target every epoch, each reported at its best epoch; HeldOut: <paramref name="selection"/>
    /// (if any) every epoch, every target once with the head of the best selection epoch (else of the last epoch).
    /// </summary>
    public static TrainingOutcome Run(
        Func<int, Generator, HeadTask> createTask, CodeEncoder encoder, DownstreamOptions o,
        TrainingSet train, EvalTarget? selection, IReadOnlyList<EvalTarget> targets, Action<EpochLog>? onEpoch,
        HeadCapture? capture = null)
    {
        o.Validate();
        var device = torch.device(o.Device);
        var dtype = Dtype(o);
        var reference = o.Protocol == EvaluationProtocol.Reference;

        // The encoder's train-mode dropout draws from torch's global generator: seed it as the reference
        // does, so that one run per process is reproducible (the head and the shuffling use private generators).
        if (o.EncoderTrainMode) manual_seed(o.Seed);

        using var scope = NewDisposeScope();
        var codes = new CodeCache(encoder, device, dtype, o.EvalBatchSize);

        // The code width comes from the encoder: probe it with the first training clip.
        var codeDim = (int)codes.Encode(train.Data, train.Modality, [train.Indices[0]], training: false).shape[2];
        capture?.SetCodeDim(codeDim);
        using var generator = new Generator((ulong)o.Seed);
        using var task = createTask(codeDim, generator);
        foreach (var m in task.Modules) m.to(device).to(dtype);
        using var optimizer = optim.Adam(task.Optimised, o.LearningRate, o.AdamBeta1, o.AdamBeta2, o.AdamEpsilon);
        var clipped = task.Clipped.ToList();

        var trainLabels = task.Labels(train.Data, train.Modality, train.Split, train.Indices, device, dtype);
        // Without train-mode dropout the training codes never change: encode them once.
        Tensor? cachedTrain = o.EncoderTrainMode ? null : codes.All(train.Data, train.Modality, train.Indices);
        var cachedPartners = o.EncoderTrainMode ? null : task.Partners.Select(p => codes.All(train.Data, p, train.Indices)).ToList();

        var evalSets = new Dictionary<EvalTarget, (Tensor Codes, List<Tensor> Partners, Tensor? Labels)>(ReferenceEqualityComparer.Instance);
        (Tensor, List<Tensor>, Tensor?) Prepared(EvalTarget t)
        {
            if (evalSets.TryGetValue(t, out var set)) return set;
            set = (codes.All(t.Data, t.Direction.Test, t.Indices),
                   task.Partners.Select(p => codes.All(t.Data, p, t.Indices)).ToList(),
                   task.Labels(t.Data, t.Direction.Test, t.Split, t.Indices, device, dtype));
            evalSets[t] = set;
            return set;
        }
        IReadOnlyDictionary<string, double> Score(EvalTarget t)
        {
            var (c, p, l) = Prepared(t);
            return task.Evaluate(c, p, l, o.EvalBatchSize);
        }

        var history = new List<EpochLog>();
        var best = targets.ToDictionary<EvalTarget, EvalTarget, (double Value, int Epoch, IReadOnlyDictionary<string, double> Metrics)>(t => t, _ => (Value: double.NegativeInfinity, Epoch: -1, Metrics: (IReadOnlyDictionary<string, double>)new Dictionary<string, double>()), ReferenceEqualityComparer.Instance);
        var bestSelection = double.NegativeInfinity;
        var bestSelectionEpoch = -1;
        List<Tensor>? snapshot = null;

        var rng = new Random(o.Seed);
        var order = Enumerable.Range(0, train.Indices.Length).ToArray();
        var lossSum = zeros(1, ScalarType.Float64, device);
        var epochs = o.EpochsFor(train.Indices.Length);
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            var lr = o.LearningRateAt(epoch, epochs);
            foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
            foreach (var m in task.Modules) m.train();
            rng.Shuffle(order);
            lossSum.zero_();
            for (var start = 0; start < order.Length; start += o.BatchSize)
            {
                using var step = NewDisposeScope();
                var positions = order.AsSpan(start, Math.Min(o.BatchSize, order.Length - start)).ToArray();
                var pos = tensor(positions.Select(p => (long)p).ToArray(), ScalarType.Int64).to(device);
                Tensor batchCodes;
                List<Tensor> partners;
                if (cachedTrain is not null)
                {
                    batchCodes = cachedTrain.index_select(0, pos);
                    partners = cachedPartners!.Select(c => c.index_select(0, pos)).ToList();
                }
                else
                {
                    var clips = positions.Select(p => train.Indices[p]).ToArray();
                    batchCodes = codes.Encode(train.Data, train.Modality, clips, training: true);
                    partners = task.Partners.Select(p => codes.Encode(train.Data, p, clips, training: true)).ToList();
                }
                var loss = task.Loss(batchCodes, partners, trainLabels?.index_select(0, pos));
                optimizer.zero_grad();
                loss.backward();
                if (o.GradientClip > 0) Training.GradientClipping.ClipByNorm(clipped, o.GradientClip);
                optimizer.step();
                using (no_grad()) lossSum.add_(loss.detach().to(ScalarType.Float64), alpha: positions.Length);
            }
            var trainLoss = lossSum.item<double>() / order.Length;  // the one per-epoch loss readout

            foreach (var m in task.Modules) m.eval();
            var metrics = new Dictionary<string, double>();
            var metricName = "";
            var metric = double.NaN;
            if (reference)
            {
                foreach (var t in targets)
                {
                    var scores = Score(t);
                    foreach (var (k, v) in scores) metrics[t.Key(k)] = v;
                    var value = scores[task.SelectionMetric];
                    if (best[t].Epoch < 0 || value > best[t].Value) best[t] = (value, epoch, scores);  // strict: the first best epoch, as the reference's ">"
                }
                if (targets.Count > 0)   // none when the head is only trained (scored later)
                {
                    var last = targets[^1];
                    metricName = last.Key(task.SelectionMetric);
                    metric = metrics[metricName];
                }
            }
            else if (selection is not null)
            {
                var scores = Score(selection);
                foreach (var (k, v) in scores) metrics[selection.Key(k)] = v;
                metricName = selection.Key(task.SelectionMetric);
                metric = metrics[metricName];
                if (bestSelectionEpoch < 0 || metric > bestSelection)
                {
                    bestSelection = metric;
                    bestSelectionEpoch = epoch;
                    foreach (var s in snapshot ?? []) s.Dispose();
                    snapshot = task.Predictive.Select(p => p.detach().clone()).ToList();
                }
            }
            var log = new EpochLog(epoch, epochs, lr, trainLoss, metricName, metric, metrics);
            history.Add(log);
            onEpoch?.Invoke(log);
            // Reference: each direction is later reported at its own best epoch, so every epoch's head is kept.
            if (capture is not null && reference) capture.Add(epoch, task.Predictive);
        }

        List<TargetScore> results;
        if (reference)
        {
            results = targets.Select(t => new TargetScore(t, best[t].Epoch, best[t].Metrics)).ToList();
        }
        else
        {
            var epoch = epochs - 1;
            if (snapshot is not null)
            {
                using (no_grad())
                    foreach (var (p, s) in task.Predictive.Zip(snapshot)) p.copy_(s);
                epoch = bestSelectionEpoch;
            }
            foreach (var m in task.Modules) m.eval();
            if (capture is not null) capture.Add(epoch, task.Predictive);
            results = targets.Select(t => new TargetScore(t, epoch, Score(t))).ToList();
        }
        capture?.SetHistory(history);
        return new TrainingOutcome(history, results);
    }

    /// <summary>
    /// Scores a head trained earlier (<see cref="HeadCapture"/>) on <paramref name="targets"/> exactly as
    /// <see cref="Run"/> would have at the end of its training: HeldOut with the one kept head; Reference with
    /// every epoch's head, each target reported at its own first best epoch by the head's selection metric.
    /// </summary>
    public static List<TargetScore> Score(
        Func<int, Generator, HeadTask> createTask, TrainedHead head, CodeEncoder encoder, DownstreamOptions o, IReadOnlyList<EvalTarget> targets)
    {
        o.Validate();
        if (o.Protocol != head.Protocol)
            throw new ArgumentException($"head '{head.Task}' on {head.Source} was trained for the {RunInfo.Name(head.Protocol)} protocol: expected DownstreamOptions.Protocol = {head.Protocol}, got {o.Protocol}");
        if (head.Weights.Count == 0 || (o.Protocol == EvaluationProtocol.HeldOut && head.Weights.Count != 1))
            throw new ArgumentException($"head '{head.Task}' holds {head.Weights.Count} weight sets: expected {(o.Protocol == EvaluationProtocol.HeldOut ? "exactly 1 (held-out)" : "one per epoch (reference)")}");
        var device = torch.device(o.Device);
        var dtype = Dtype(o);

        using var scope = NewDisposeScope();
        var codes = new CodeCache(encoder, device, dtype, o.EvalBatchSize);
        // The generator only satisfies the constructor: every predictive weight is overwritten below.
        using var generator = new Generator((ulong)o.Seed);
        using var task = createTask(head.CodeDim, generator);
        foreach (var m in task.Modules) m.to(device).to(dtype);
        var parameters = task.Predictive.ToList();

        var prepared = targets.Select(t => (Target: t,
            Codes: codes.All(t.Data, t.Direction.Test, t.Indices),
            Partners: task.Partners.Select(p => codes.All(t.Data, p, t.Indices)).ToList(),
            Labels: task.Labels(t.Data, t.Direction.Test, t.Split, t.Indices, device, dtype))).ToList();
        foreach (var p in prepared)
            if (p.Codes.shape[2] != head.CodeDim)
                throw new ArgumentException($"head '{head.Task}' was trained on {head.CodeDim}-wide codes, but the encoder gives {p.Codes.shape[2]}-wide codes for {p.Target.Direction.Test}: expected the checkpoint the head was trained on");

        var best = prepared.Select(_ => (Value: double.NegativeInfinity, Epoch: -1, Metrics: (IReadOnlyDictionary<string, double>)new Dictionary<string, double>())).ToArray();
        foreach (var weights in head.Weights)
        {
            weights.CopyTo(parameters, head.Task);
            foreach (var m in task.Modules) m.eval();
            for (var i = 0; i < prepared.Count; i++)
            {
                var (_, c, partners, labels) = prepared[i];
                var scores = task.Evaluate(c, partners, labels, o.EvalBatchSize);
                var value = scores[task.SelectionMetric];
                if (best[i].Epoch < 0 || value > best[i].Value) best[i] = (value, weights.Epoch, scores);  // strict: the first best epoch
            }
        }
        return prepared.Select((p, i) => new TargetScore(p.Target, best[i].Epoch, best[i].Metrics)).ToList();
    }

    /// <summary>Encodes clips with the frozen encoder, batch by batch, and checks what it returns.</summary>
    private sealed class CodeCache(CodeEncoder encoder, Device device, ScalarType dtype, int batchSize)
    {
        private readonly Dictionary<(LabeledClips, Modality, int[]), Tensor> cache = new(new KeyComparer());
        private long codeDim = -1;

        public Tensor Encode(LabeledClips data, Modality modality, int[] clips, bool training)
        {
            using var _ = no_grad();
            var idx = tensor(clips.Select(i => (long)i).ToArray(), ScalarType.Int64);
            var raw = data.FeaturesOf(modality).index_select(0, idx).to(dtype, device);
            var z = encoder(modality, raw, training);
            if (z.dim() != 3 || z.shape[0] != clips.Length || (codeDim >= 0 && z.shape[2] != codeDim))
                throw new InvalidOperationException($"CodeEncoder for {modality} returned shape [{string.Join(", ", z.shape)}] for {clips.Length} clips: expected [{clips.Length}, T, {(codeDim >= 0 ? codeDim.ToString() : "D")}]");
            codeDim = z.shape[2];
            return z.detach().to(dtype, device);
        }

        /// <summary>Eval-mode codes of all <paramref name="clips"/> [n, T, D], encoded once per (data, modality, clips).</summary>
        public Tensor All(LabeledClips data, Modality modality, int[] clips)
        {
            if (cache.TryGetValue((data, modality, clips), out var hit)) return hit;
            var parts = new List<Tensor>();
            for (var start = 0; start < clips.Length; start += batchSize)
                parts.Add(Encode(data, modality, clips[start..Math.Min(clips.Length, start + batchSize)], training: false));
            var all = cat(parts, 0);
            foreach (var p in parts) p.Dispose();
            cache[(data, modality, clips)] = all;
            return all;
        }

        private sealed class KeyComparer : IEqualityComparer<(LabeledClips, Modality, int[])>
        {
            public bool Equals((LabeledClips, Modality, int[]) a, (LabeledClips, Modality, int[]) b) =>
                ReferenceEquals(a.Item1, b.Item1) && a.Item2 == b.Item2 && (ReferenceEquals(a.Item3, b.Item3) || a.Item3.AsSpan().SequenceEqual(b.Item3));
            public int GetHashCode((LabeledClips, Modality, int[]) k) => HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(k.Item1), k.Item2, k.Item3.Length);
        }
    }
}
