using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace UniCode.Model.Config;

/// <summary>
/// Every hyper-parameter of Uni-Code in one record. Defaults are the reference code's
/// (docs/reference-behaviour.md §1.1, §1.9), i.e. the <see cref="Paper"/> preset, except the input scaling and the codebook's
/// initialisation (issue 9: <see cref="WithReferenceInputs"/> restores the reference's); <see cref="Small"/> is a
/// CPU-sized model that keeps every mechanism. Where the reference departs from the paper
/// (docs/reference-behaviour.md §5) the reference's behaviour is the default and the paper's an option.
/// </summary>
public sealed record UniCodeConfig
{
    // ------------------------------------------------------------------ modalities and inputs
    /// <summary>Modalities pre-trained together (AV, AT, VT or AVT).</summary>
    public ModalitySet Modalities { get; init; } = ModalitySet.AudioVisual;
    /// <summary>T: one-second segments per clip.</summary>
    public int Segments { get; init; } = 10;
    /// <summary>VGGish width of an audio segment.</summary>
    public int AudioInputDim { get; init; } = 128;
    /// <summary>Channels of a video segment's pool5 map.</summary>
    public int VideoInputDim { get; init; } = 512;
    /// <summary>Side of a video segment's spatial grid (7 for VGG-19 pool5; at least 5 for the valid 3×3 convolutions).</summary>
    public int VideoGrid { get; init; } = 7;
    /// <summary>Width of a text token vector (BERT-base: 768).</summary>
    public int TextTokenDim { get; init; } = 768;
    /// <summary>Hidden units per direction of the trainable text BiLSTM (output 2× this).</summary>
    public int TextLstmHidden { get; init; } = 128;
    public int TextLstmLayers { get; init; } = 2;

    /// <summary>
    /// How raw input features are scaled before every encoder (and as the reconstruction target). Standardize
    /// (default): per channel, (x − mean) / std fitted on the pre-training data before the first step and kept in the
    /// checkpoint. Center: per-channel mean, one std per modality. None: raw features, as the reference (whose real AVE
    /// features are non-negative with channel means far from zero: every token's semantic vector then points the same
    /// way; docs/results.md, "Issue 9"). <see cref="WithReferenceInputs"/> sets None and the uniform codebook.
    /// </summary>
    public InputNormalization InputNormalization { get; init; } = InputNormalization.Standardize;

    // ------------------------------------------------------------------ semantic encoders Φ (Eq. 1)
    /// <summary>D: width of semantic features and of every code.</summary>
    public int CodeDim { get; init; } = 256;
    /// <summary>Transformer layers in each temporal relation module.</summary>
    public int TrmLayers { get; init; } = 2;
    public int TrmHeads { get; init; } = 4;
    public int TrmFeedForwardDim { get; init; } = 1024;
    public double Dropout { get; init; } = 0.1;
    /// <summary>Bottleneck of the video pooler's channel gate (512 → 64 → 512).</summary>
    public int VideoPoolerGateDim { get; init; } = 64;
    /// <summary>Width of the video pooler's query/key projections.</summary>
    public int VideoPoolerAttentionDim { get; init; } = 256;

    // ------------------------------------------------------------------ modality-specific encoders Ψ
    public int AudioSpecificDim { get; init; } = 256;
    public int TextSpecificDim { get; init; } = 256;
    /// <summary>Channels of the video-specific conv encoder's output map (paper 2048; "reduced" 256).</summary>
    public int VideoSpecificWidth { get; init; } = 2048;
    /// <summary>Channels of its first convolution (paper 1024).</summary>
    public int VideoSpecificMidWidth { get; init; } = 1024;
    /// <summary>Hidden width of the video CLUB-feature MLP (2048 → 1024 → 512).</summary>
    public int VideoClubHiddenDim { get; init; } = 1024;
    /// <summary>Width of the video CLUB feature (the y of video's CLUB).</summary>
    public int VideoClubFeatureDim { get; init; } = 512;

    // ------------------------------------------------------------------ shared codebook quantizer (Eq. 2, 7, 8)
    /// <summary>L: number of codes in the one shared codebook.</summary>
    public int CodebookSize { get; init; } = 400;
    /// <summary>
    /// Initial codebook. DataSample (default): L semantic vectors of the first training batch, EMA counts 1.
    /// Uniform: the reference's e ~ U(−1/L, 1/L) with zero EMA counts (codes not chosen in the first forward explode
    /// to ~1e3 in norm and stay dead until a reset; docs/results.md, "Issue 9").
    /// </summary>
    public CodebookInit CodebookInit { get; init; } = CodebookInit.DataSample;
    /// <summary>γ of the EMA codebook update.</summary>
    public double EmaDecay { get; init; } = 0.99;
    /// <summary>ε of the Laplace smoothing of code counts.</summary>
    public double EmaEpsilon { get; init; } = 1e-5;
    /// <summary>Weight of a modality's own vectors in its EMA update; the others share the rest equally (reference 0.5).</summary>
    public double EmaSelfWeight { get; init; } = 0.5;
    public EmaForm EmaForm { get; init; } = EmaForm.Reference;
    /// <summary>Commitment to the modality's own code (reference 0.5; paper β = 0.25).</summary>
    public double CommitmentSelf { get; init; } = 0.5;
    /// <summary>Commitment to the other modalities' codes, shared equally among them (reference 0.25: AV 0.25, AVT 0.125 each; paper β/2).</summary>
    public double CommitmentCross { get; init; } = 0.25;
    public ResetRule ResetRule { get; init; } = ResetRule.AnyModality;
    /// <summary>A code unused for more than this many forwards is reset.</summary>
    public int ResetAfterForwards { get; init; } = 300;
    /// <summary>Codes used within this many forwards are "active" and serve as reset sources.</summary>
    public int ResetActiveWindow { get; init; } = 100;
    /// <summary>Half-width of the uniform noise added to a reset code (reference 1/1024).</summary>
    public double ResetNoise { get; init; } = 1.0 / 1024;
    /// <summary>
    /// Reference bug, off by default: when true (and code reset is on) a forward in eval mode still advances the
    /// unused-code counters with its chosen codes and resets due codes, as the reference does (docs/reference-behaviour.md
    /// §1.5 step 5) — so evaluating rewrites the codebook. No EMA update in eval either way. Default: an eval
    /// forward changes no buffer.
    /// </summary>
    public bool CountUnusedInEval { get; init; } = false;

    // ------------------------------------------------------------------ DCID: CLUB (Eq. 4-5)
    /// <summary>hidden_size of the CLUB variational nets (inner width hidden/2).</summary>
    public int ClubHiddenDim { get; init; } = 256;
    /// <summary>Estimator (variational net) steps per batch, before the main backward.</summary>
    public int ClubEstimatorSteps { get; init; } = 5;
    public double ClubLearningRate { get; init; } = 1e-3;

    // ------------------------------------------------------------------ DCID: Cross-CPC (Eq. 6)
    public int CpcLstmLayers { get; init; } = 2;
    public int CpcHiddenDim { get; init; } = 256;
    /// <summary>K: future steps predicted.</summary>
    public int CpcPredictionSteps { get; init; } = 1;
    public int CpcMinStartSteps { get; init; } = 1;
    public double CpcCrossWeight { get; init; } = 1.0;
    /// <summary>Weight of the intra-modal terms (reference 0.1; the paper has none: 0).</summary>
    public double CpcSelfWeight { get; init; } = 0.1;
    /// <summary>Softmax over candidate targets as in paper Eq. 6 (reference: over predictions).</summary>
    public bool CpcSoftmaxOverTargets { get; init; } = false;

    // ------------------------------------------------------------------ objective (§4.4) and ablation switches
    public double ReconstructionWeight { get; init; } = 1.0;
    public double CommitmentWeight { get; init; } = 1.0;
    public double ClubWeight { get; init; } = 1.0;
    public double CpcWeight { get; init; } = 1.0;
    public double CmcmWeight { get; init; } = 1.0;
    /// <summary>
    /// How CMCM scores a pair (docs/reference-behaviour.md §1.5 step 6): the reference's exp(S − min S) / (Σ + 1e-5) form,
    /// or a plain log-softmax over each row of S. They differ by the 1e-5 alone: the reference loss is larger by less than 1e-5/B.
    /// </summary>
    public CmcmForm CmcmForm { get; init; } = CmcmForm.Reference;
    /// <summary>CLUB mutual-information minimisation (Table 2).</summary>
    public bool UseClub { get; init; } = true;
    /// <summary>Cross-CPC (Table 2).</summary>
    public bool UseCpc { get; init; } = true;
    /// <summary>Multi-Modal EMA and cross-modal commitment; off = each modality updates and commits to its own codes only (Table 3).</summary>
    public bool UseMultiModalEma { get; init; } = true;
    /// <summary>Code reset (Table 3).</summary>
    public bool UseCodeReset { get; init; } = true;
    /// <summary>The CMCM loss (Table 3).</summary>
    public bool UseCmcm { get; init; } = true;

    // ------------------------------------------------------------------ per-second correspondence (not in the paper)
    /// <summary>
    /// The per-second audio–visual InfoNCE before any temporal model (<see cref="Losses.SegmentCorrespondence"/>), which
    /// gives the video pooler a reason to look at the cells that show the event; null (default) = off, as the reference.
    /// Written into the config JSON (and so its hash) only when set, so configs without it keep their hashes.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SegmentCorrespondenceConfig? SegmentCorrespondence { get; init; }

    // ------------------------------------------------------------------ clip-style mixing (not in the paper)
    /// <summary>
    /// Pre-training augmentation that mixes each clip's per-channel statistics with another clip's, drawn independently
    /// per modality (<see cref="Augmentation.ClipStyleMixing"/>), so the cross-modal objectives cannot pair the training
    /// clips by their own per-modality nuisance; null = off, as the reference. Written into the config JSON (and so its
    /// hash) only when set.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public StyleMixingConfig? StyleMixing { get; init; }

    // ------------------------------------------------------------------ optimisation
    public double LearningRate { get; init; } = 4e-4;
    public double AdamBeta1 { get; init; } = 0.9;
    public double AdamBeta2 { get; init; } = 0.999;
    public double AdamEpsilon { get; init; } = 1e-8;
    /// <summary>Gradient-norm clip, applied separately to each module.</summary>
    public double GradientClip { get; init; } = 0.5;
    public int BatchSize { get; init; } = 80;
    public int Epochs { get; init; } = 6;
    /// <summary>
    /// Pre-training runs at least this many optimiser steps: when <see cref="Epochs"/> epochs of the data give fewer,
    /// it runs the fewest whole epochs that reach it (<see cref="PretrainEpochsFor"/>). 500 is one epoch of the
    /// reference's own data at its batch size (40K clips / 80), so on the reference's settings (3,000 steps) it
    /// changes nothing; a 480-clip dataset at batch 32 would otherwise get 90 steps, after which the encoders have
    /// not converged (docs/results.md, "Issue 9"). 0 = epochs only (the reference). An explicit epoch count
    /// (<c>--pretrain-epochs</c>) sets it to 0.
    /// </summary>
    public int PretrainMinSteps { get; init; } = 500;
    public TrainingLoop Loop { get; init; } = TrainingLoop.Head;
    public Precision Precision { get; init; } = Precision.Float32;
    public long Seed { get; init; } = 43;

    // ------------------------------------------------------------------ presets
    /// <summary>The reference's dimensions and hyper-parameters (docs/reference-behaviour.md §1.1).</summary>
    public static UniCodeConfig Paper { get; } = new();

    /// <summary>
    /// REFERENCE-PERF.md's "reduced" setting: the paper's model with the video-specific branch 256
    /// wide (the reference derives the inner widths as width/2, as for 2048 → 1024).
    /// </summary>
    public static UniCodeConfig Reduced { get; } = new() { VideoSpecificWidth = 256, VideoSpecificMidWidth = 128, VideoClubHiddenDim = 128 };

    /// <summary>A CPU-sized model that keeps every mechanism: used by tests, the demo and CI.</summary>
    public static UniCodeConfig Small { get; } = new()
    {
        CodeDim = 64,
        TrmLayers = 2,
        TrmHeads = 4,
        TrmFeedForwardDim = 128,
        VideoPoolerGateDim = 16,
        VideoPoolerAttentionDim = 64,
        TextLstmHidden = 32,
        AudioSpecificDim = 64,
        TextSpecificDim = 64,
        VideoSpecificWidth = 64,
        VideoSpecificMidWidth = 64,
        VideoClubHiddenDim = 64,
        VideoClubFeatureDim = 64,
        CodebookSize = 128,
        ClubHiddenDim = 64,
        CpcHiddenDim = 64,
        BatchSize = 32,
        // Fewer forwards per epoch on small data: keep the reset rule's time scale proportionate.
        ResetAfterForwards = 100,
        ResetActiveWindow = 40,
    };

    public static IReadOnlyDictionary<string, UniCodeConfig> Presets { get; } = new Dictionary<string, UniCodeConfig>(StringComparer.OrdinalIgnoreCase)
    {
        ["paper"] = Paper,
        ["reduced"] = Reduced,
        ["small"] = Small,
    };

    public static UniCodeConfig Preset(string name) =>
        Presets.TryGetValue(name, out var c) ? c
            : throw new ConfigException("preset", name, $"one of {string.Join(", ", Presets.Keys)}");

    /// <summary>
    /// The reference's raw inputs and uniform codebook initialisation instead of the defaults' standardised inputs
    /// and data-drawn codebook (docs/results.md, "Issue 9"): with <see cref="Paper"/> this reproduces the reference
    /// exactly. As JSON config fields: {"inputNormalization": "none", "codebookInit": "uniform"}.
    /// </summary>
    public UniCodeConfig WithReferenceInputs() => this with
    {
        InputNormalization = InputNormalization.None,
        CodebookInit = CodebookInit.Uniform,
    };

    /// <summary>
    /// Epochs a pre-training of <paramref name="stepsPerEpoch"/> steps an epoch runs: <see cref="Epochs"/>, or the
    /// fewest whole epochs that reach <see cref="PretrainMinSteps"/> steps when that is more.
    /// </summary>
    public int PretrainEpochsFor(int stepsPerEpoch)
    {
        if (stepsPerEpoch < 1) throw new ArgumentOutOfRangeException(nameof(stepsPerEpoch), stepsPerEpoch, "expected at least one step an epoch");
        return PretrainMinSteps <= 0 ? Epochs : Math.Max(Epochs, (PretrainMinSteps + stepsPerEpoch - 1) / stepsPerEpoch);
    }

    /// <summary>Sets the switches of one of the paper's methods (Table 1) on this config.</summary>
    public UniCodeConfig WithMethod(Method method) => method switch
    {
        Method.Baseline => this with { UseCmcm = false, UseClub = false, UseCpc = false, UseMultiModalEma = false, UseCodeReset = false },
        Method.Cmcm => this with { UseCmcm = true, UseClub = false, UseCpc = false, UseMultiModalEma = false, UseCodeReset = false },
        Method.DcidCmcm => this with { UseCmcm = true, UseClub = true, UseCpc = true, UseMultiModalEma = false, UseCodeReset = false },
        Method.UniCode => this with { UseCmcm = true, UseClub = true, UseCpc = true, UseMultiModalEma = true, UseCodeReset = true },
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
    };

    /// <summary>The paper's text where the reference departs from it (docs/reference-behaviour.md §5 a, c, d, e).</summary>
    public UniCodeConfig WithPaperVariants() => this with
    {
        EmaForm = EmaForm.CrossAttention,
        CommitmentSelf = 0.25,
        CommitmentCross = 0.125,
        ResetRule = ResetRule.AllModalities,
        CpcLstmLayers = 1,
        CpcSelfWeight = 0,
        CpcSoftmaxOverTargets = true,
    };

    // ------------------------------------------------------------------ validation and identity
    /// <summary>Checks every field; throws <see cref="ConfigException"/> naming the first bad field and what it expects.</summary>
    public UniCodeConfig Validate()
    {
        if (Modalities.Members().Count < 2 || (Modalities & ~ModalitySet.AudioVisualText) != 0)
            throw new ConfigException(nameof(Modalities), Modalities, "at least two of audio, video, text (av, at, vt, avt)");
        Positive(nameof(Segments), Segments);
        if (UseCpc && Segments < CpcMinStartSteps + CpcPredictionSteps + 1)
            throw new ConfigException(nameof(Segments), Segments, $"at least {CpcMinStartSteps + CpcPredictionSteps + 1} for Cross-CPC with {nameof(CpcMinStartSteps)}={CpcMinStartSteps} and {nameof(CpcPredictionSteps)}={CpcPredictionSteps}");
        Positive(nameof(AudioInputDim), AudioInputDim);
        Positive(nameof(VideoInputDim), VideoInputDim);
        if (VideoGrid < 5) throw new ConfigException(nameof(VideoGrid), VideoGrid, "at least 5 (two valid 3×3 convolutions shrink it by 4)");
        Positive(nameof(TextTokenDim), TextTokenDim);
        Positive(nameof(TextLstmHidden), TextLstmHidden);
        Positive(nameof(TextLstmLayers), TextLstmLayers);
        Positive(nameof(CodeDim), CodeDim);
        Positive(nameof(TrmLayers), TrmLayers);
        Positive(nameof(TrmHeads), TrmHeads);
        if (CodeDim % TrmHeads != 0) throw new ConfigException(nameof(TrmHeads), TrmHeads, $"a divisor of {nameof(CodeDim)}={CodeDim}");
        Positive(nameof(TrmFeedForwardDim), TrmFeedForwardDim);
        if (!(Dropout >= 0 && Dropout < 1)) throw new ConfigException(nameof(Dropout), Dropout, "in [0, 1)");
        Positive(nameof(VideoPoolerGateDim), VideoPoolerGateDim);
        Positive(nameof(VideoPoolerAttentionDim), VideoPoolerAttentionDim);
        Positive(nameof(AudioSpecificDim), AudioSpecificDim);
        Positive(nameof(TextSpecificDim), TextSpecificDim);
        Positive(nameof(VideoSpecificWidth), VideoSpecificWidth);
        Positive(nameof(VideoSpecificMidWidth), VideoSpecificMidWidth);
        Positive(nameof(VideoClubHiddenDim), VideoClubHiddenDim);
        Positive(nameof(VideoClubFeatureDim), VideoClubFeatureDim);
        if (CodebookSize < 2) throw new ConfigException(nameof(CodebookSize), CodebookSize, "at least 2 codes");
        if (!(EmaDecay > 0 && EmaDecay < 1)) throw new ConfigException(nameof(EmaDecay), EmaDecay, "in (0, 1)");
        if (!(EmaEpsilon > 0)) throw new ConfigException(nameof(EmaEpsilon), EmaEpsilon, "a positive number");
        if (!(EmaSelfWeight > 0 && EmaSelfWeight <= 1)) throw new ConfigException(nameof(EmaSelfWeight), EmaSelfWeight, "in (0, 1]");
        NonNegative(nameof(CommitmentSelf), CommitmentSelf);
        NonNegative(nameof(CommitmentCross), CommitmentCross);
        Positive(nameof(ResetAfterForwards), ResetAfterForwards);
        if (ResetActiveWindow <= 0 || ResetActiveWindow > ResetAfterForwards)
            throw new ConfigException(nameof(ResetActiveWindow), ResetActiveWindow, $"in 1..{nameof(ResetAfterForwards)} ({ResetAfterForwards})");
        NonNegative(nameof(ResetNoise), ResetNoise);
        if (ClubHiddenDim < 2) throw new ConfigException(nameof(ClubHiddenDim), ClubHiddenDim, "at least 2 (inner width is half of it)");
        NonNegative(nameof(ClubEstimatorSteps), ClubEstimatorSteps);
        Positive(nameof(ClubLearningRate), ClubLearningRate);
        Positive(nameof(CpcLstmLayers), CpcLstmLayers);
        Positive(nameof(CpcHiddenDim), CpcHiddenDim);
        Positive(nameof(CpcPredictionSteps), CpcPredictionSteps);
        Positive(nameof(CpcMinStartSteps), CpcMinStartSteps);
        NonNegative(nameof(CpcCrossWeight), CpcCrossWeight);
        NonNegative(nameof(CpcSelfWeight), CpcSelfWeight);
        NonNegative(nameof(ReconstructionWeight), ReconstructionWeight);
        NonNegative(nameof(CommitmentWeight), CommitmentWeight);
        NonNegative(nameof(ClubWeight), ClubWeight);
        NonNegative(nameof(CpcWeight), CpcWeight);
        NonNegative(nameof(CmcmWeight), CmcmWeight);
        if (SegmentCorrespondence is { } sc)
        {
            NonNegative($"{nameof(SegmentCorrespondence)}.{nameof(sc.Weight)}", sc.Weight);
            Positive($"{nameof(SegmentCorrespondence)}.{nameof(sc.Temperature)}", sc.Temperature);
            if (!Modalities.Members().Contains(Modality.Audio) || !Modalities.Members().Contains(Modality.Video))
                throw new ConfigException(nameof(SegmentCorrespondence), Modalities.Code(), "audio and video among the modalities (the term pairs each second of audio with its video)");
        }
        if (StyleMixing is { } sm && !(sm.Probability >= 0 && sm.Probability <= 1))
            throw new ConfigException($"{nameof(StyleMixing)}.{nameof(sm.Probability)}", sm.Probability, "in [0, 1]");
        Positive(nameof(LearningRate), LearningRate);
        if (!(AdamBeta1 >= 0 && AdamBeta1 < 1)) throw new ConfigException(nameof(AdamBeta1), AdamBeta1, "in [0, 1)");
        if (!(AdamBeta2 >= 0 && AdamBeta2 < 1)) throw new ConfigException(nameof(AdamBeta2), AdamBeta2, "in [0, 1)");
        Positive(nameof(AdamEpsilon), AdamEpsilon);
        Positive(nameof(GradientClip), GradientClip);
        if (BatchSize < 2) throw new ConfigException(nameof(BatchSize), BatchSize, "at least 2 (CMCM, CLUB and Cross-CPC contrast batch items)");
        Positive(nameof(Epochs), Epochs);
        if (PretrainMinSteps < 0) throw new ConfigException(nameof(PretrainMinSteps), PretrainMinSteps, "a number of optimiser steps ≥ 0 (0 = epochs only)");
        if (!Enum.IsDefined(InputNormalization)) throw new ConfigException(nameof(InputNormalization), InputNormalization, string.Join(" or ", Enum.GetNames<InputNormalization>()));
        if (!Enum.IsDefined(CodebookInit)) throw new ConfigException(nameof(CodebookInit), CodebookInit, string.Join(" or ", Enum.GetNames<CodebookInit>()));
        if (!Enum.IsDefined(EmaForm)) throw new ConfigException(nameof(EmaForm), EmaForm, string.Join(" or ", Enum.GetNames<EmaForm>()));
        if (!Enum.IsDefined(ResetRule)) throw new ConfigException(nameof(ResetRule), ResetRule, string.Join(" or ", Enum.GetNames<ResetRule>()));
        if (!Enum.IsDefined(CmcmForm)) throw new ConfigException(nameof(CmcmForm), CmcmForm, string.Join(" or ", Enum.GetNames<CmcmForm>()));
        if (!Enum.IsDefined(Loop)) throw new ConfigException(nameof(Loop), Loop, string.Join(" or ", Enum.GetNames<TrainingLoop>()));
        if (!Enum.IsDefined(Precision)) throw new ConfigException(nameof(Precision), Precision, string.Join(" or ", Enum.GetNames<Precision>()));
        return this;
    }

    private static void Positive(string field, double value)
    {
        if (!(value > 0) || double.IsInfinity(value)) throw new ConfigException(field, value, "a positive number");
    }

    private static void NonNegative(string field, double value)
    {
        if (!(value >= 0) || double.IsInfinity(value)) throw new ConfigException(field, value, "a finite number ≥ 0");
    }

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = false,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Canonical JSON: camelCase properties in declaration order, enums as names. The input of <see cref="Hash"/>.</summary>
    public string ToCanonicalJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a config written by <see cref="ToCanonicalJson"/> (or by hand: missing fields keep their defaults) and validates it.</summary>
    public static UniCodeConfig FromJson(string json, string source = "config")
    {
        UniCodeConfig? c;
        try
        {
            var options = new JsonSerializerOptions(JsonOptions) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };
            c = JsonSerializer.Deserialize<UniCodeConfig>(json, options);
        }
        catch (JsonException e)
        {
            throw new ConfigException(e.Path ?? "(root)", source, $"valid UniCode config JSON ({e.Message})");
        }
        return (c ?? throw new ConfigException("(root)", source, "a JSON object")).Validate();
    }

    /// <summary>sha256 (hex) of the canonical JSON: the config's identity in checkpoints and the results database.</summary>
    public string Hash() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToCanonicalJson())));
}

/// <summary>The per-second correspondence term's settings (<see cref="UniCodeConfig.SegmentCorrespondence"/>).</summary>
/// <param name="Weight">Its weight in the total loss.</param>
/// <param name="Temperature">τ of its cosine scores.</param>
public sealed record SegmentCorrespondenceConfig(double Weight = 1.0, double Temperature = 0.1);

/// <summary>Clip-style mixing's settings (<see cref="UniCodeConfig.StyleMixing"/>).</summary>
/// <param name="Probability">Chance that a clip's statistics are mixed in a step (else it is left as it is).</param>
public sealed record StyleMixingConfig(double Probability = 1.0);

/// <summary>A config field with a value outside what the model accepts.</summary>
public sealed class ConfigException(string field, object? value, string expected)
    : ArgumentException($"config field '{field}' = {Format(value)}: expected {expected}")
{
    public string Field { get; } = field;
    public string Expected { get; } = expected;

    private static string Format(object? v) => v switch
    {
        null => "null",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        string s => $"'{s}'",
        _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "?",
    };
}
