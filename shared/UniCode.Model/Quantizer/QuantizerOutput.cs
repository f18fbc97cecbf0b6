using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Model.Quantizer;

/// <summary>What one pre-training forward of the <see cref="SharedCodebookQuantizer"/> produces.</summary>
/// <param name="Quantized">ẑ_m = z_m + sg(q_m − z_m), [B,T,D]: the value of the code, the gradient of z (straight-through, Eq. 2).</param>
/// <param name="Indices">[B,T] int64: the nearest code of every token, chosen before this forward's EMA.</param>
/// <param name="Commitment">Scalar per modality: self and cross commitment, already weighted by CommitmentSelf/CommitmentCross (not by CommitmentWeight).</param>
/// <param name="CodeProbabilities">P_m [B,L]: softmax over codes of −distance, averaged over T; the CMCM input, differentiable in z_m only.</param>
/// <param name="AgreeingSamples">Scalar int64: samples whose per-sample mode code is the same in every modality (the reference's equal_num; diagnostic).</param>
public sealed record QuantizerOutput(
    IReadOnlyDictionary<Modality, Tensor> Quantized,
    IReadOnlyDictionary<Modality, Tensor> Indices,
    IReadOnlyDictionary<Modality, Tensor> Commitment,
    IReadOnlyDictionary<Modality, Tensor> CodeProbabilities,
    Tensor AgreeingSamples);
