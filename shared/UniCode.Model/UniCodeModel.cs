using TorchSharp;
using TorchSharp.Modules;
using UniCode.Model.Config;
using UniCode.Model.Decoders;
using UniCode.Model.Encoders;
using UniCode.Model.Losses;
using UniCode.Model.Quantizer;
using static TorchSharp.torch;

namespace UniCode.Model;

/// <summary>What one encoder pass produces: Φ and Ψ outputs per modality and the quantizer's output.</summary>
public sealed record EncoderOutput(
    IReadOnlyDictionary<Modality, Tensor> Semantic,
    IReadOnlyDictionary<Modality, SpecificEncoding> Specific,
    QuantizerOutput Quantizer,
    Tensor? TextFeatures,
    IReadOnlyDictionary<Modality, Tensor> Inputs,
    Tensor? PooledVideo = null);

/// <summary>The terms of the pre-training objective (paper §4.4); absent terms are switched off.</summary>
public sealed record PretrainLosses(
    IReadOnlyDictionary<Modality, Tensor> Reconstruction,
    IReadOnlyDictionary<Modality, Tensor> Commitment,
    IReadOnlyDictionary<Modality, Tensor> MutualInformation,
    Tensor? Cpc,
    Tensor? Cmcm,
    Tensor Total,
    Tensor? Correspondence = null);

/// <summary>
/// Uni-Code: per-modality semantic encoders Φ and modality-specific encoders Ψ (Eq. 1), one shared
/// codebook (Eq. 2, 7, 8), DCID = CLUB (Eq. 4–5) + Cross-CPC (Eq. 6), the CMCM loss and per-modality
/// decoders — all chosen by <see cref="UniCodeConfig"/>. The baseline and every ablation row are the
/// same parts with switches off.
/// </summary>
public sealed class UniCodeModel : nn.Module
{
    // Per-modality modules are lists in the order of Modalities (TorchSharp's ModuleDict breaks Module.to(dtype)).
    private readonly InputStandardizer inputs;
    private readonly TextBiLstm? textLstm;
    private readonly ModuleList<SemanticEncoder> semantic = new();
    private readonly ModuleList<SpecificEncoder> specific = new();
    private readonly SharedCodebookQuantizer quantizer;
    private readonly ModuleList<Club> club = new();
    private readonly CrossCpc? cpc;
    private readonly SegmentCorrespondence? correspondence;
    private readonly ModuleList<ModalityDecoder> decoders = new();

    public UniCodeConfig Config { get; }
    public IReadOnlyList<Modality> Modalities { get; }

    public UniCodeModel(UniCodeConfig config) : base("unicode")
    {
        Config = config.Validate();
        Modalities = config.Modalities.Members().ToList();
        inputs = new InputStandardizer(config);
        if (Modalities.Contains(Modality.Text)) textLstm = new TextBiLstm(config);
        foreach (var m in Modalities)
        {
            semantic.Add(new SemanticEncoder(m, config));
            var psi = new SpecificEncoder(m, config);
            specific.Add(psi);
            // CLUB conditions on the quantized semantic code ẑ_m (x, width D) and predicts the specific feature z̄_m (y).
            if (config.UseClub) club.Add(new Club($"club_{Key(m)}", config.CodeDim, psi.ClubTargetDim, config));
            decoders.Add(new ModalityDecoder(m, config));
        }
        quantizer = new SharedCodebookQuantizer(config);
        if (config.UseCpc) cpc = new CrossCpc(config);
        if (config.SegmentCorrespondence is not null) correspondence = new SegmentCorrespondence(config);
        RegisterComponents();
        if (config.Precision == Precision.Float64) this.to(ScalarType.Float64);
    }

    internal static string Key(Modality m) => m.ToString().ToLowerInvariant();

    public ScalarType DType => Config.Precision == Precision.Float64 ? ScalarType.Float64 : ScalarType.Float32;

    public SharedCodebookQuantizer Quantizer => quantizer;

    /// <summary>The per-channel input scaling every encoder sees (fitted before the first pre-training step).</summary>
    public InputStandardizer Inputs => inputs;

    private int Index(Modality m)
    {
        var i = ((List<Modality>)Modalities).IndexOf(m);
        return i >= 0 ? i : throw new ArgumentException($"this model was pre-trained on {Config.Modalities.Code()}, not on {Key(m)}");
    }

    public Club? ClubFor(Modality m) => Config.UseClub ? club[Index(m)] : null;

    /// <summary>The modality's input to Φ and Ψ: the (standardised) features, or the text BiLSTM's output of them for text.</summary>
    private Tensor EncoderInput(Modality m, Tensor scaled) =>
        m == Modality.Text ? textLstm!.call(scaled) : scaled;

    /// <summary>Φ, Ψ and the shared-codebook quantizer over one batch (the quantizer's EMA and reset run when training).</summary>
    public EncoderOutput Encode(PretrainBatch batch)
    {
        var z = new Dictionary<Modality, Tensor>();
        var spec = new Dictionary<Modality, SpecificEncoding>();
        var scaled = new Dictionary<Modality, Tensor>();
        Tensor? textFeatures = null, pooledVideo = null;
        foreach (var m in Modalities)
        {
            scaled[m] = inputs.Apply(m, batch.Get(m));
            var input = EncoderInput(m, scaled[m]);
            if (m == Modality.Text) textFeatures = input;
            (z[m], var pooled) = semantic[Index(m)].ForwardWithPooled(input);      // Eq. 1: z_m = Φ_m(x_m)
            if (m == Modality.Video) pooledVideo = pooled;
            spec[m] = specific[Index(m)].call(input);   // Eq. 1: z̄_m = Ψ_m(x_m)
        }
        var q = quantizer.Forward(Modalities.Select(m => (m, z[m])).ToList());
        return new EncoderOutput(z, spec, q, textFeatures, scaled, pooledVideo);
    }

    /// <summary>The pre-training objective over one encoder pass (paper §4.4; docs/reference-behaviour.md §1.9 step 3).</summary>
    public PretrainLosses Losses(EncoderOutput enc, PretrainBatch batch, Random rng, Generator? generator)
    {
        var c = Config;
        var recon = new Dictionary<Modality, Tensor>();
        var mi = new Dictionary<Modality, Tensor>();
        Tensor total = zeros(1, dtype: DType, device: enc.Semantic[Modalities[0]].device).squeeze();
        foreach (var m in Modalities)
        {
            var zq = enc.Quantizer.Quantized[m];
            // The decoder reconstructs what the encoders saw: the standardised features.
            var target = m == Modality.Text ? enc.TextFeatures! : enc.Inputs[m];
            // Text's target is the BiLSTM output itself, not detached (reference: a moving target).
            recon[m] = nn.functional.mse_loss(decoders[Index(m)].call(zq, enc.Specific[m].Features), target);
            total = total + c.ReconstructionWeight * recon[m] + c.CommitmentWeight * enc.Quantizer.Commitment[m];
            if (c.UseClub)
            {
                mi[m] = club[Index(m)].MutualInformation(zq, enc.Specific[m].ClubTarget, generator);   // Eq. 5
                total = total + c.ClubWeight * mi[m];
            }
        }
        Tensor? cpcLoss = null;
        if (cpc is not null)
        {
            cpcLoss = cpc.Forward(Modalities.Select(m => (m, enc.Semantic[m])).ToList(), rng).Loss;   // Eq. 6, on pre-quantization z
            total = total + c.CpcWeight * cpcLoss;
        }
        Tensor? cmcm = null;
        if (c.UseCmcm)
        {
            cmcm = CmcmLoss.Compute(Modalities.Select(m => enc.Quantizer.CodeProbabilities[m]).ToList(), c.CmcmForm);
            total = total + c.CmcmWeight * cmcm;
        }
        Tensor? correspondenceLoss = null;
        if (correspondence is not null)
        {
            correspondenceLoss = correspondence.Forward(enc.Inputs[Modality.Audio], enc.PooledVideo!);   // not in the paper: per-second InfoNCE
            total = total + c.SegmentCorrespondence!.Weight * correspondenceLoss;
        }
        return new PretrainLosses(recon, enc.Quantizer.Commitment, mi, cpcLoss, cmcm, total, correspondenceLoss);
    }

    /// <summary>
    /// The downstream path: Φ_m then the nearest code, straight-through (no EMA, no reset).
    /// Input is the modality's raw features; output ẑ_m [B,T,D].
    /// </summary>
    public Tensor QuantizedCodes(Modality m, Tensor raw)
    {
        return quantizer.Quantize(semantic[Index(m)].call(EncoderInput(m, inputs.Apply(m, raw))));
    }

    /// <summary>Φ_m(x_m) without quantization: the continuous semantic feature [B,T,D].</summary>
    public Tensor SemanticFeatures(Modality m, Tensor raw) => semantic[Index(m)].call(EncoderInput(m, inputs.Apply(m, raw)));

    /// <summary>Where the video semantic encoder's pooler looks: its attention over the grid cells, [B, T, G·G] (diagnostic).</summary>
    public Tensor VideoAttention(Tensor raw) => semantic[Index(Modality.Video)].VideoAttention(EncoderInput(Modality.Video, inputs.Apply(Modality.Video, raw)));

    /// <summary>Nearest code indices [B,T] of a modality's raw input.</summary>
    public Tensor CodeIndices(Modality m, Tensor raw) => quantizer.NearestIndices(SemanticFeatures(m, raw));

    /// <summary>
    /// Parameter groups of the main optimiser, each clipped separately (docs/reference-behaviour.md §1.9 step 4):
    /// encoder (Φ and Ψ of every modality), text BiLSTM, Cross-CPC, the per-second correspondence (when on), decoder.
    /// </summary>
    public IReadOnlyList<(string Name, IReadOnlyList<Parameter> Parameters)> MainParameterGroups()
    {
        var groups = new List<(string, IReadOnlyList<Parameter>)>
        {
            ("encoder", semantic.parameters().Concat(specific.parameters()).ToList()),
        };
        if (textLstm is not null) groups.Add(("text_lstm", textLstm.parameters().ToList()));
        if (cpc is not null) groups.Add(("cpc", cpc.parameters().ToList()));
        if (correspondence is not null) groups.Add(("correspondence", correspondence.parameters().ToList()));
        groups.Add(("decoder", decoders.parameters().ToList()));
        return groups;
    }
}
