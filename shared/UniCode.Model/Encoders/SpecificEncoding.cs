using static TorchSharp.torch;

namespace UniCode.Model.Encoders;

/// <summary>
/// Output of a modality-specific encoder Ψ_m (z̄_m). <paramref name="Features"/> feed the modality's decoder
/// (audio/text [B, T, d]; video [B, T, G−4, G−4, VideoSpecificWidth], channels last); <paramref name="ClubTarget"/>
/// is the y of the modality's CLUB, [B, T, d_y] (the same tensor as Features for audio and text).
/// </summary>
public sealed record SpecificEncoding(Tensor Features, Tensor ClubTarget);
