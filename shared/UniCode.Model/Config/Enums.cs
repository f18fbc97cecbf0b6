namespace UniCode.Model.Config;

/// <summary>Floating-point type of parameters, buffers and activations.</summary>
public enum Precision
{
    /// <summary>UniCode's default.</summary>
    Float32,
    /// <summary>What the reference runs everywhere (docs/reference-behaviour.md §5h).</summary>
    Float64,
}

/// <summary>How Multi-Modal EMA (Eq. 7) forms the cross-modal part of each code's update.</summary>
public enum EmaForm
{
    /// <summary>Reference: the other modalities' detached semantic vectors at the same (b, t).</summary>
    Reference,
    /// <summary>Paper Eq. 7: a cross-attention summary of the other modality's sequence.</summary>
    CrossAttention,
}

/// <summary>Which codes the code reset (paper §3.3) keeps alive.</summary>
public enum ResetRule
{
    /// <summary>Reference: a code chosen by any modality within the window is active.</summary>
    AnyModality,
    /// <summary>Paper: a code must be chosen by every modality within the window.</summary>
    AllModalities,
}

/// <summary>How the CMCM loss (docs/reference-behaviour.md §1.5 step 6) turns the score matrix S into a loss.</summary>
public enum CmcmForm
{
    /// <summary>Reference: −log(Ê_ii / (Σ_j Ê_ij + 1e-5)) with Ê = exp(S − min S), the shift not detached.</summary>
    Reference,
    /// <summary>The plain contrastive form: −log_softmax_j(S[i,:])[i] (no shift, no 1e-5).</summary>
    LogSoftmax,
}

/// <summary>How the pre-training loop interleaves the CLUB estimator with the encoder.</summary>
public enum TrainingLoop
{
    /// <summary>Reference HEAD: one encoder forward per batch.</summary>
    Head,
    /// <summary>Paper-era reference (until 2024-12): the encoder forward is re-run in each CLUB iteration (6 per batch).</summary>
    PaperEra,
}

/// <summary>The methods compared in the paper's Table 1, built from the same parts.</summary>
public enum Method
{
    /// <summary>Plain shared-codebook VQ (§4.1): reconstruction + self commitment, plain EMA, no reset.</summary>
    Baseline,
    /// <summary>Baseline + the CMCM loss (Liu et al. 2022).</summary>
    Cmcm,
    /// <summary>CMCM + DCID (CLUB and Cross-CPC).</summary>
    DcidCmcm,
    /// <summary>The full model: DCID + CMCM + Multi-Modal EMA + code reset.</summary>
    UniCode,
}

/// <summary>How raw input features are scaled before the encoders (<see cref="UniCodeConfig.InputNormalization"/>).</summary>
public enum InputNormalization
{
    /// <summary>Raw features, as the reference.</summary>
    None,
    /// <summary>Per channel (x − mean) / std, fitted on the pre-training data and stored with the model.</summary>
    Standardize,
    /// <summary>
    /// Per channel x − mean, then one scale per modality: the root of the mean channel variance (so the modality's
    /// values have unit variance overall and every channel keeps its relative scale). Fitted on the pre-training
    /// data and stored with the model.
    /// </summary>
    Center,
}

/// <summary>The initial shared codebook (<see cref="UniCodeConfig.CodebookInit"/>).</summary>
public enum CodebookInit
{
    /// <summary>The reference's e ~ U(−1/L, 1/L), EMA counts 0.</summary>
    Uniform,
    /// <summary>L semantic vectors of the first training batch, EMA counts 1.</summary>
    DataSample,
}
