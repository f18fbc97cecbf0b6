using System.Diagnostics;
using System.Globalization;
using UniCode.Data;
using UniCode.Data.Synthetic;
using UniCode.Model;
using UniCode.Model.Checkpoints;
using UniCode.Model.Config;
using UniCode.Model.Downstream;
using UniCode.Model.Runtime;
using UniCode.Model.Training;
using static TorchSharp.torch;

namespace UniCode.Experiments;

/// <summary>Which downstream protocol an experiment scores (docs/reference-behaviour.md §3).</summary>
public enum DownstreamTask
{
    /// <summary>AVE-style cross-modal event classification (accuracy).</summary>
    Ave,
    /// <summary>AVVP-style per-second cross-modal localization (F1).</summary>
    Avvp,
    /// <summary>X-to-audio retrieval (R@1/5/10).</summary>
    Retrieval,
}

/// <summary>The ablation switches of the paper's Tables 2–3 as overrides on top of a method (null = the method's value).</summary>
public sealed record Ablation(bool? Club = null, bool? Cpc = null, bool? MultiModalEma = null, bool? CodeReset = null, bool? Cmcm = null)
{
    public UniCodeConfig Apply(UniCodeConfig c) => c with
    {
        UseClub = Club ?? c.UseClub,
        UseCpc = Cpc ?? c.UseCpc,
        UseMultiModalEma = MultiModalEma ?? c.UseMultiModalEma,
        UseCodeReset = CodeReset ?? c.UseCodeReset,
        UseCmcm = Cmcm ?? c.UseCmcm,
    };

    public bool IsEmpty => this == new Ablation();

    /// <summary>"w/o CLUB, w/o Cross-CPC" style label.</summary>
    public string Label => IsEmpty ? "" : string.Join(", ", new[]
    {
        Club == false ? "w/o CLUB" : null, Cpc == false ? "w/o Cross-CPC" : null, MultiModalEma == false ? "w/o MM-EMA" : null,
        CodeReset == false ? "w/o reset" : null, Cmcm == false ? "w/o CMCM" : null,
        Club == true ? "+CLUB" : null, Cpc == true ? "+Cross-CPC" : null, MultiModalEma == true ? "+MM-EMA" : null,
        CodeReset == true ? "+reset" : null, Cmcm == true ? "+CMCM" : null,
    }.OfType<string>());
}

/// <summary>Everything that defines one experiment: a pre-training and a downstream protocol on one dataset.</summary>
public sealed record ExperimentSpec
{
    /// <summary>KIND:PATH (ave:, vggsound:, avvp:, npy:, synth:).</summary>
    public required string Dataset { get; init; }
    public Method Method { get; init; } = Method.UniCode;
    public Ablation Ablation { get; init; } = new();
    public string Preset { get; init; } = "small";
    public ModalitySet Modalities { get; init; } = ModalitySet.AudioVisual;
    public DownstreamTask Task { get; init; } = DownstreamTask.Ave;
    public long Seed { get; init; } = 43;
    public int? PretrainEpochs { get; init; }
    public int? DownstreamEpochs { get; init; }
    public int? CodebookSize { get; init; }
    public Precision? Precision { get; init; }
    public EvaluationProtocol Protocol { get; init; } = EvaluationProtocol.HeldOut;
    /// <summary>Pre-train on this split only (null = every clip; labels are never used in pre-training).</summary>
    public string? PretrainSplit { get; init; } = "train";
    public string Device { get; init; } = "auto";
    /// <summary>Checkpoints go here (resumed when present); null = a temporary folder, deleted afterwards.</summary>
    public string? CheckpointDirectory { get; init; }
    /// <summary>Extra config fields as JSON, applied last (e.g. {"learningRate": 1e-3}).</summary>
    public string? ConfigOverrides { get; init; }
    /// <summary>Diagnostic (AVE): also train the head on each modality's continuous semantic features, before quantisation.</summary>
    public bool SemanticProbe { get; init; }
    /// <summary>
    /// The cross-modal terms on training, held-out and shuffled held-out clips measured this many times, evenly, during
    /// pre-training (<see cref="LearningReport.CrossModalCurve"/>: when memorisation sets in, if it does); 0 = only at the
    /// end. The measurement runs in eval mode on its own random streams and changes no result.
    /// </summary>
    public int CrossModalCurvePoints { get; init; } = 10;
    /// <summary>
    /// Diagnostic (AVE): also the raw-feature probe of video on every grid cell — the head's per-step linear map on each
    /// of the T·G² cells, max over all of them — beside the grid-mean probe that is the ceiling (<see cref="LearningReport.CellProbes"/>).
    /// </summary>
    public bool CellProbe { get; init; }

    /// <summary>The model config this spec trains, fitted to the dataset's shapes.</summary>
    public UniCodeConfig Config(DatasetTensors data) => Config(data, out _);

    /// <summary>
    /// The model config this spec trains, fitted to the dataset: its input shapes (segments, feature widths, grid)
    /// are the dataset's, and a pre-training split smaller than the batch size shrinks the batch to it unless
    /// <see cref="ConfigOverrides"/> sets <c>batchSize</c> (then that is an error naming it). <paramref name="notices"/>
    /// says what the fitting changed from the preset (<see cref="DatasetTensors.FitNotices"/>: not for <c>synth:</c>,
    /// whose widths are its spec's own keys; <see cref="DatasetTensors.FitBatchSize"/>), for the user to see.
    /// </summary>
    public UniCodeConfig Config(DatasetTensors data, out IReadOnlyList<string> notices)
    {
        var preset = UniCodeConfig.Preset(Preset);
        var c = data.Fit(preset).WithMethod(Method);
        c = Ablation.Apply(c) with { Modalities = Modalities, Seed = Seed };
        // Epochs given explicitly are exactly that many epochs: the minimum-steps rule is off.
        if (PretrainEpochs is { } e) c = c with { Epochs = e, PretrainMinSteps = 0 };
        if (CodebookSize is { } l) c = c with { CodebookSize = l };
        if (Precision is { } p) c = c with { Precision = p };
        if (ConfigOverrides is { } json) c = Merge(c, json);
        var list = DatasetName.Parse(data.Dataset.Name).Kind == DatasetKind.Synth
            ? new List<string>()
            : DatasetTensors.FitNotices(preset, Preset, data.Dataset, Modalities).ToList();
        c = DatasetTensors.FitBatchSize(c, data.Dataset, PretrainSplit, SetsBatchSize(ConfigOverrides) ? "--config (batchSize)" : null, out var batch);
        if (batch is not null) list.Add(batch);
        notices = list;
        return c.Validate();
    }

    /// <summary>True when the config overrides name <c>batchSize</c> (the user chose the batch size).</summary>
    private static bool SetsBatchSize(string? overrides)
    {
        if (overrides is null) return false;
        try
        {
            return System.Text.Json.Nodes.JsonNode.Parse(overrides) is System.Text.Json.Nodes.JsonObject o && o.ContainsKey("batchSize");   // config JSON is camelCase, case-sensitive
        }
        catch (System.Text.Json.JsonException)
        {
            return false;   // Merge has refused it already
        }
    }

    private static UniCodeConfig Merge(UniCodeConfig c, string overrides)
    {
        var baseNode = System.Text.Json.Nodes.JsonNode.Parse(c.ToCanonicalJson())!.AsObject();
        System.Text.Json.Nodes.JsonObject extra;
        try { extra = System.Text.Json.Nodes.JsonNode.Parse(overrides)?.AsObject() ?? throw new FormatException("empty"); }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException)
        {
            throw new ConfigException("(overrides)", overrides, $"a JSON object of config fields ({e.Message})");
        }
        foreach (var (k, v) in extra) baseNode[k] = v?.DeepClone();
        return UniCodeConfig.FromJson(baseNode.ToJsonString(), "config overrides");
    }

    /// <summary>Short label: "Uni-Code", "Baseline w/o CLUB" …</summary>
    public string Label => (Method switch
    {
        Method.Baseline => "Baseline",
        Method.Cmcm => "CMCM",
        Method.DcidCmcm => "DCID+CMCM",
        _ => "Uni-Code",
    } + (Ablation.IsEmpty ? "" : " " + Ablation.Label) + (CodebookSize is { } l ? $" (L={l})" : "")).Trim();
}

/// <summary>What an experiment produced: the headline number per direction and every metric row.</summary>
public sealed record ExperimentResult
{
    public required string Method { get; init; }
    public required string Label { get; init; }
    public required string Task { get; init; }
    public required long Seed { get; init; }
    public required string Metric { get; init; }
    /// <summary>Headline metric in percent per direction ("v2a", "a2v", "v2v", "a2a" …).</summary>
    public required IReadOnlyDictionary<string, double> Results { get; init; }
    public required IReadOnlyList<MetricRow> Rows { get; init; }
    public required string Dataset { get; init; }
    public required string DatasetHash { get; init; }
    public required string ConfigHash { get; init; }
    public required string ConfigJson { get; init; }
    public required string CodeVersion { get; init; }
    public required string CheckpointSha256 { get; init; }
    public required CodebookUsageSummary Codebook { get; init; }
    public required IReadOnlyDictionary<string, double> FinalLosses { get; init; }
    public required double PretrainSeconds { get; init; }
    public required double DownstreamSeconds { get; init; }
    /// <summary>
    /// Intra-op threads torch used. Float sums in another order move a run's numbers (docs/results.md, "Issue 9"), so a
    /// result is reproducible for a given (config, data, seed, code version) and thread count. 0 in JSON files written
    /// before it was recorded.
    /// </summary>
    public int Threads { get; init; }
    /// <summary>Whether the run learned: code statistics, head fit, raw-feature probes, chance (<see cref="LearningReport"/>).</summary>
    public required LearningReport Learning { get; init; }
}

/// <summary>Progress of a running experiment, for a CLI or a job's progress events.</summary>
public sealed record ExperimentProgress(string Phase, string Message, double Fraction)
{
    /// <summary>The phase of a one-off message to show the user as it is (e.g. what fitting the config to the dataset changed), not a progress step.</summary>
    public const string Notice = "notice";
}

/// <summary>
/// Runs one experiment in process: load the dataset, pre-train (or resume), freeze the encoder, train
/// a head on one modality's codes and score it on every modality (zero-shot cross-modal transfer).
/// </summary>
public static class Experiment
{
    public static ExperimentResult Run(ExperimentSpec spec, Action<ExperimentProgress>? progress = null, CancellationToken ct = default)
    {
        using var dataset = DatasetOpener.Open(spec.Dataset);
        using var data = DatasetTensors.Load(dataset, spec.Modalities,
            (done, total) => progress?.Invoke(new ExperimentProgress("load", $"read {done}/{total} clips of {spec.Dataset}", (double)done / total)));
        return Run(spec, data, progress, ct);
    }

    /// <summary>As <see cref="Run(ExperimentSpec, Action{ExperimentProgress}?, CancellationToken)"/> on data already in memory (grids reuse it).</summary>
    /// <param name="inspect">Called with the frozen pre-trained model before it is disposed (e.g. for codebook analysis).</param>
    public static ExperimentResult Run(ExperimentSpec spec, DatasetTensors data, Action<ExperimentProgress>? progress = null,
        CancellationToken ct = default, Action<UniCodeModel>? inspect = null)
    {
        var config = spec.Config(data, out var notices);
        foreach (var notice in notices) progress?.Invoke(new ExperimentProgress(ExperimentProgress.Notice, notice, 0));
        var device = DeviceSelector.Select(spec.Device);
        var temporary = spec.CheckpointDirectory is null;
        var dir = spec.CheckpointDirectory ?? Directory.CreateTempSubdirectory("unicode-run-").FullName;
        try
        {
            var clock = Stopwatch.StartNew();
            PretrainResult pre;
            CodebookUsageSummary usage;
            var curve = new List<CrossModalCurvePoint>();
            using (var source = data.BatchSource(spec.PretrainSplit))
            using (var trainer = new Pretrainer(config, device))
            {
                var measureCurve = CrossModalCurve(spec, data, trainer.Model);
                pre = PretrainLoop.Run(trainer, source, new PretrainOptions { CheckpointDirectory = dir, KeepCheckpoints = 1, ReportEvery = ReportEvery },
                    p =>
                    {
                        progress?.Invoke(new ExperimentProgress("pretrain", p.ToString(), (double)p.Step / p.TotalSteps));
                        if (measureCurve is not null && IsCurveStep(p.Step, p.TotalSteps, spec.CrossModalCurvePoints))
                            curve.AddRange(measureCurve().Select(g => new CrossModalCurvePoint(p.Step, g.Term, g.Train, g.HeldOut, g.Shuffled, g.CarriedOver)));
                    }, ct);
                usage = PretrainLoop.Usage(trainer);
            }
            var pretrainSeconds = clock.Elapsed.TotalSeconds;
            var checkpoint = pre.LastCheckpoint ?? throw new InvalidOperationException("pre-training wrote no checkpoint");
            clock.Restart();
            var (model, _) = CheckpointFile.LoadModel(checkpoint.Path, device, checkpoint.Sha256);
            using (model)
            {
                var (metric, results, rows, heads, probes) = Downstream(spec, model, data, device, progress, ct);
                var semantic = spec.SemanticProbe && spec.Task == DownstreamTask.Ave ? SemanticProbes(spec, model, data, device) : null;
                var cells = spec.CellProbe && spec.Task == DownstreamTask.Ave ? CellProbes(spec, model, data, device) : null;
                model.eval();
                var attention = spec.SemanticProbe ? ObjectAttention(model, data) : null;
                var learning = Learning(model, data, heads, probes, metric == "accuracy" ? results : null, Split(spec))
                    with { SemanticProbes = semantic, CellProbes = cells, VideoAttention = attention, CrossModalCurve = curve.Count > 0 ? curve : null };
                rows = [.. rows, .. LearningRows(learning, rows)];
                inspect?.Invoke(model);
                return new ExperimentResult
                {
                    Method = MethodName(spec.Method),
                    Label = spec.Label,
                    Task = spec.Task.ToString().ToLowerInvariant(),
                    Seed = spec.Seed,
                    Metric = metric,
                    Results = results,
                    Rows = rows,
                    Dataset = spec.Dataset,
                    DatasetHash = data.ContentHash,
                    ConfigHash = config.Hash(),
                    ConfigJson = config.ToCanonicalJson(),
                    CodeVersion = CodeVersion.Current,
                    CheckpointSha256 = checkpoint.Sha256,
                    Codebook = usage,
                    FinalLosses = pre.FinalLosses,
                    PretrainSeconds = pretrainSeconds,
                    Threads = TorchSharp.torch.get_num_threads(),
                    DownstreamSeconds = clock.Elapsed.TotalSeconds,
                    Learning = learning,
                };
            }
        }
        finally
        {
            if (temporary) Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Pre-training reports (and may measure the curve) every this many steps.</summary>
    private const int ReportEvery = 10;

    /// <summary>
    /// Measures the cross-modal terms of the model being pre-trained, as the learning report does; null when no curve is
    /// asked or the data has no held-out split (a model without cross-modal terms measures to an empty list).
    /// </summary>
    private static Func<IReadOnlyList<Model.Diagnostics.CrossModalTermGap>>? CrossModalCurve(ExperimentSpec spec, DatasetTensors data, UniCodeModel model) =>
        spec.CrossModalCurvePoints > 0 && CrossModalTermsOf(data.Labeled()) is { } measure ? () => measure(model) : null;

    /// <summary>
    /// The cross-modal terms of a model on the training split against the held-out split the learning report uses
    /// (<see cref="CodeSplit"/>); null when the data has no training split or no separate held-out one.
    /// </summary>
    private static Func<UniCodeModel, IReadOnlyList<Model.Diagnostics.CrossModalTermGap>>? CrossModalTermsOf(LabeledClips clips)
    {
        var split = CodeSplit(clips);
        if (!clips.Splits.TryGetValue(DownstreamOptions.Ave.TrainSplit, out var train) || train.Length == 0 || split == DownstreamOptions.Ave.TrainSplit) return null;
        var heldOut = clips.Split(split);
        return model => Model.Diagnostics.CrossModalGeneralization.Measure(model, clips.Features, train, heldOut);
    }

    /// <summary>The curve's steps: <paramref name="points"/> evenly spaced report steps, the last one included.</summary>
    public static bool IsCurveStep(long step, long total, int points)
    {
        if (points <= 0 || step <= 0) return false;
        if (step >= total) return true;
        var every = Math.Max(ReportEvery, (total + points - 1) / points / ReportEvery * ReportEvery);
        return step % every == 0;
    }

    /// <summary>CLI/JSON name of a method: baseline, cmcm, dcid-cmcm, unicode.</summary>
    public static string MethodName(Method m) => m switch
    {
        Method.Baseline => "baseline",
        Method.Cmcm => "cmcm",
        Method.DcidCmcm => "dcid-cmcm",
        _ => "unicode",
    };

    /// <summary>The frozen encoder as the protocols see it (docs/reference-behaviour.md §3: train mode while the head trains, if asked).</summary>
    public static CodeEncoder Encoder(UniCodeModel model) => (m, raw, training) =>
    {
        model.train(training);
        return model.QuantizedCodes(m, raw);
    };

    /// <summary>Code statistics on the validation split (else test), the heads' fit and the probes, as one report.</summary>
    /// <param name="accuracies">The headline accuracy per direction (AVE), whose in-modality directions are checked against chance; null for other metrics.</param>
    /// <param name="scoredSplit">The split the accuracies were measured on.</param>
    public static LearningReport Learning(UniCodeModel model, DatasetTensors data, IReadOnlyList<HeadFitCheck> heads, IReadOnlyList<ProbeScore> probes,
        IReadOnlyDictionary<string, double>? accuracies = null, string scoredSplit = "test")
    {
        var clips = data.Labeled();
        var split = CodeSplit(clips);
        var codes = Model.Diagnostics.CodeStatistics.Measure(model, clips.Features, clips.Split(split));
        var classes = clips.ForegroundClasses;
        var chance = 100.0 / classes;
        var checks = accuracies is null ? [] : accuracies.Where(kv => kv.Key[0] == kv.Key[^1])
            .Select(kv => new ChanceCheck(kv.Key, scoredSplit, kv.Value, chance)).OrderBy(c => c.Direction, StringComparer.Ordinal).ToList();
        var content = clips.Splits.TryGetValue(DownstreamOptions.Ave.TrainSplit, out var train) && train.Length > 0
            ? Model.Diagnostics.CodeContent.Measure(model, clips.Features, clips.LabelsFor, train, clips.Split(split))
            : null;
        var terms = CrossModalTermsOf(clips)?.Invoke(model);
        return new LearningReport(split, chance, classes, codes, heads, probes, checks, CodeContent: content, CrossModalTerms: terms);
    }

    /// <summary>The AVE head on each modality's semantic features z (before quantisation), in-modality, as <see cref="LearningReport.BeforeQuantisation"/>.</summary>
    private static IReadOnlyList<ProbeScore> SemanticProbes(ExperimentSpec spec, UniCodeModel model, DatasetTensors data, Device device)
    {
        var clips = data.Labeled();
        var options = HeadOptions(spec, DownstreamOptions.Ave, model, device);
        CodeEncoder z = (m, raw, training) =>
        {
            model.train(training);
            return model.SemanticFeatures(m, raw);
        };
        return model.Modalities.Select(m =>
        {
            var r = EventClassification.Run(z, clips, m, [m], options, "ave-semantic-probe");
            return new ProbeScore(m.ToString().ToLowerInvariant(), r.Scores[0].Direction.Name, r.Scores[0].Accuracy);
        }).ToList();
    }

    /// <summary>
    /// On synthetic data (whose generator knows which grid cells show the event): the share of the video pooler's
    /// attention that falls on those cells in the event seconds of the validation split (else test), against the share
    /// of a pooler that looks everywhere alike. Null for other data or without video.
    /// </summary>
    public static ObjectAttention? ObjectAttention(UniCodeModel model, DatasetTensors data)
    {
        if (data.Dataset is not SyntheticDataset synth || !model.Modalities.Contains(Modality.Video)) return null;
        var clips = data.Labeled();
        var split = CodeSplit(clips);
        var indices = clips.Split(split);
        var raw = clips.FeaturesOf(Modality.Video);
        if (indices.Length == 0) return null;
        var (t, cells) = ((int)raw.shape[1], (int)(raw.shape[2] * raw.shape[3]));
        using var attention = Model.Diagnostics.CodeStatistics.Encode(model, raw, indices, model.VideoAttention);   // [n, T, G·G]
        var alpha = attention.to(ScalarType.Float64).cpu().data<double>().ToArray();
        double onObject = 0;
        var segments = 0;
        for (var i = 0; i < indices.Length; i++)
        {
            var clip = synth.Describe(indices[i]);
            for (var s = 0; s < t; s++)
            {
                if (!clip.InEvent(s)) continue;
                segments++;
                foreach (var g in clip.ObjectCells) onObject += alpha[(i * t + s) * cells + g];
            }
        }
        return segments == 0 ? null : new ObjectAttention(split, segments, 100 * onObject / segments, 100.0 * synth.Spec.ObjectCells / cells);
    }

    /// <summary>The raw-feature probe on every video grid cell (<see cref="ExperimentSpec.CellProbe"/>); none without video.</summary>
    private static IReadOnlyList<ProbeScore> CellProbes(ExperimentSpec spec, UniCodeModel model, DatasetTensors data, Device device)
    {
        if (!model.Modalities.Contains(Modality.Video)) return [];
        return [Probe(data.Labeled(), Modality.Video, HeadOptions(spec, DownstreamOptions.Ave, model, device), RawCells, "ave-cell-probe")];
    }

    /// <summary>The raw features with every video grid cell a step of its own: [B, T·G·G, W] (other modalities unchanged).</summary>
    public static CodeEncoder RawCells => (m, raw, _) => raw.dim() == 5 ? raw.reshape(raw.shape[0], raw.shape[1] * raw.shape[2] * raw.shape[3], raw.shape[4]) : raw;

    /// <summary>A task's head settings with the spec's seed, protocol and epochs, on the model's device and precision.</summary>
    private static DownstreamOptions HeadOptions(ExperimentSpec spec, DownstreamOptions task, UniCodeModel model, Device device)
    {
        var options = task with
        {
            Seed = checked((int)spec.Seed),
            Protocol = spec.Protocol,
            Device = device.ToString(),
            Precision = model.Config.Precision,
        };
        // Epochs given explicitly are exactly that many epochs: the minimum-steps rule is off.
        return spec.DownstreamEpochs is { } e ? options with { Epochs = e, MinSteps = 0 } : options;
    }

    /// <summary>The split the code statistics are measured on: val, else test.</summary>
    private static string CodeSplit(LabeledClips clips) => clips.Splits.ContainsKey("val") ? "val" : "test";

    /// <summary>The split a spec's scores are measured on: test under held-out, the training split under the reference protocol.</summary>
    private static string Split(ExperimentSpec spec) => spec.Protocol == EvaluationProtocol.HeldOut ? "test" : "train";

    /// <summary>
    /// The learning check as result rows beside each direction's score (so the results database and its views carry
    /// it): "learned" (1 or 0: no collapse, the source head fitted and, where checked, scored above twice chance in its own modality), "collapsed" (1 or 0, the target modality's
    /// codes), "probe_ceiling" (the target modality's raw-feature probe, when there is one), for accuracy rows
    /// only (100 / classes is no chance level of an F1 or a recall) "chance", and for cross-modal rows of a run that measured
    /// its cross-modal terms "memorised_terms" (how many of them paired training clips but not held-out ones).
    /// </summary>
    public static IEnumerable<MetricRow> LearningRows(LearningReport learning, IReadOnlyList<MetricRow> rows)
    {
        var collapsed = learning.CollapsedModalities.ToHashSet();
        foreach (var r in rows.Where(r => r.Metric is "accuracy" or "f1" or "r@5").DistinctBy(r => (r.Task, r.Source, r.Target, r.Split, r.Protocol)))
        {
            string Name(Modality m) => m.ToString().ToLowerInvariant();
            var fits = learning.HeadLearned(Name(r.Source));
            var targetCollapsed = collapsed.Contains(Name(r.Target));
            yield return r with { Metric = "learned", Value = !learning.Collapsed && fits ? 1 : 0 };
            yield return r with { Metric = "collapsed", Value = targetCollapsed ? 1 : 0 };
            if (r.Metric == "accuracy") yield return r with { Metric = "chance", Value = learning.Chance };
            if (learning.Probes.FirstOrDefault(p => p.Modality == Name(r.Target)) is { } probe)
                yield return r with { Metric = "probe_ceiling", Value = probe.Value };
            if (learning.CrossModalTerms is { Count: > 0 } && r.Source != r.Target)
                yield return r with { Metric = "memorised_terms", Value = learning.MemorisedTerms.Count };
        }
    }

    /// <summary>
    /// The ceiling of one modality: the AVE protocol with the head on its raw features (no encoder, so no train-mode
    /// dropout), trained on <paramref name="options"/>' training split and scored on its test split. <paramref name="raw"/>:
    /// how the head sees the raw features (default <see cref="RawFeatures"/>; <see cref="RawCells"/> for the cell probe).
    /// </summary>
    public static ProbeScore Probe(LabeledClips clips, Modality modality, DownstreamOptions options, CodeEncoder? raw = null, string task = "ave-probe")
    {
        var probe = EventClassification.Run(raw ?? RawFeatures, clips, modality, [modality], options with { EncoderTrainMode = false }, task);
        return new ProbeScore(modality.ToString().ToLowerInvariant(), probe.Scores[0].Direction.Name, probe.Scores[0].Accuracy);
    }

    /// <summary>
    /// The learning check of one scored head, as the evaluation service runs it (one head, one target modality, the
    /// target's data only): the target's code statistics on the validation split (else test); for a classification
    /// head, its in-modality score in <paramref name="scores"/> against chance (when target = source), its fit on its own training data (the last epoch of the head's stored history against the class prior of
    /// <paramref name="options"/>' training split) and the target's raw-feature probe. <see cref="LearningRows"/> turns it into rows.
    /// </summary>
    public static LearningReport HeadLearning(UniCodeModel model, LabeledClips clips, TrainedHead head, Modality target, DownstreamOptions options,
        IReadOnlyList<MetricRow> scores)
    {
        var split = CodeSplit(clips);
        var codes = Model.Diagnostics.CodeStatistics.Measure(model, clips.Features, clips.Split(split), only: [target]);
        var classes = clips.ForegroundClasses;
        var heads = new List<HeadFitCheck>();
        var probes = new List<ProbeScore>();
        if (head.Kind == HeadKind.Classification && head.History.Count > 0)
        {
            heads.Add(new HeadFitCheck(head.Source.ToString().ToLowerInvariant(), head.History[^1].TrainLoss, PriorEntropy(clips, options.TrainSplit)));
            probes.Add(Probe(clips, target, options));
        }
        return new LearningReport(split, 100.0 / classes, classes, codes, heads, probes, ChanceChecks(head, target, scores, 100.0 / classes));
    }

    /// <summary>The in-modality accuracy among <paramref name="scores"/> against chance (none for a cross-modal or non-classification head).</summary>
    private static List<ChanceCheck> ChanceChecks(TrainedHead head, Modality target, IReadOnlyList<MetricRow> scores, double chance) =>
        head.Kind != HeadKind.Classification || head.Source != target ? [] :
            scores.Where(r => r.Metric == "accuracy" && r.Source == target && r.Target == target)
                .Select(r => new ChanceCheck($"{target.Letter()}2{target.Letter()}", r.Split, r.Value, chance)).ToList();

    /// <summary>The raw features as a probe head sees them: [B, T, W] (video: the mean over the grid cells of each channel).</summary>
    public static CodeEncoder RawFeatures => (m, raw, _) => raw.dim() == 5 ? raw.mean([2, 3]) : raw;

    /// <summary>Entropy (nats) of the clip-class frequencies of a split: the loss of a head that always predicts the prior.</summary>
    private static double PriorEntropy(LabeledClips clips, string split)
    {
        using var _ = NewDisposeScope();
        var idx = tensor(clips.Split(split).Select(i => (long)i).ToArray(), ScalarType.Int64);
        var classes = LabeledClips.ClipClasses(clips.SegmentLabels.index_select(0, idx)).data<long>().ToArray();
        return -classes.GroupBy(c => c).Sum(g => (double)g.Count() / classes.Length * Math.Log((double)g.Count() / classes.Length));
    }

    /// <summary>Trains a head on each modality's codes in turn and scores it on every modality; also the raw-feature probes (AVE).</summary>
    public static (string Metric, IReadOnlyDictionary<string, double> Results, IReadOnlyList<MetricRow> Rows, IReadOnlyList<HeadFitCheck> Heads, IReadOnlyList<ProbeScore> Probes) Downstream(
        ExperimentSpec spec, UniCodeModel model, DatasetTensors data, Device device, Action<ExperimentProgress>? progress, CancellationToken ct)
    {
        var clips = data.Labeled();
        var modalities = model.Modalities;
        var options = HeadOptions(spec, spec.Task == DownstreamTask.Avvp ? DownstreamOptions.Avvp : DownstreamOptions.Ave, model, device);
        var encoder = Encoder(model);
        var results = new Dictionary<string, double>();
        var rows = new List<MetricRow>();
        var heads = new List<HeadFitCheck>();
        var probes = new List<ProbeScore>();
        double? prior = null;   // the training split's class-prior entropy, the same for every head
        var metric = spec.Task switch { DownstreamTask.Ave => "accuracy", DownstreamTask.Avvp => "f1", _ => "r@5" };
        var sources = spec.Task == DownstreamTask.Retrieval ? modalities.Where(m => m != Modality.Audio).ToList() : modalities;
        var targets = spec.Task == DownstreamTask.Retrieval ? modalities.Where(m => m != Modality.Audio).ToList() : modalities;
        if (sources.Count == 0) throw new ArgumentException("retrieval needs a query modality besides audio (e.g. --modalities avt)");
        foreach (var train in sources)
        {
            ct.ThrowIfCancellationRequested();
            void OnEpoch(EpochLog log) => progress?.Invoke(new ExperimentProgress(spec.Task.ToString().ToLowerInvariant(),
                string.Create(CultureInfo.InvariantCulture, $"head on {train.ToString().ToLowerInvariant()} codes: epoch {log.Epoch + 1}/{log.Epochs} loss {log.TrainLoss:F4} {log.MetricName} {log.Metric:F1}"),
                (log.Epoch + 1.0) / log.Epochs));
            switch (spec.Task)
            {
                case DownstreamTask.Ave:
                {
                    var r = EventClassification.Run(encoder, clips, train, targets, options, "ave", OnEpoch);
                    foreach (var s in r.Scores) results[s.Direction.Name] = s.Accuracy;
                    rows.AddRange(r.Rows());
                    var name = train.ToString().ToLowerInvariant();
                    prior ??= PriorEntropy(clips, options.TrainSplit);
                    heads.Add(new HeadFitCheck(name, r.Run.History[^1].TrainLoss, prior.Value));
                    probes.Add(Probe(clips, train, options));
                    break;
                }
                case DownstreamTask.Avvp:
                {
                    var r = EventLocalization.Run(encoder, clips, train, targets, options, LocalizationSelection.Precision, "avvp", OnEpoch);
                    foreach (var s in r.Scores) results[s.Direction.Name] = 100 * s.Reference.F1;
                    rows.AddRange(r.Rows());
                    break;
                }
                default:
                {
                    var r = AudioRetrieval.Run(encoder, clips, train, targets, options, "retrieval", OnEpoch);
                    foreach (var s in r.Scores) results[s.Direction.Name] = s.RecallAt5;
                    rows.AddRange(r.Rows());
                    break;
                }
            }
        }
        return (metric, results, rows, heads, probes);
    }
}
