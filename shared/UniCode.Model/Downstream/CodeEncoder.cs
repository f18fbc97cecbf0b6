using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Model.Downstream;

/// <summary>
/// The frozen pre-trained encoder as the downstream protocols see it: raw features of one modality
/// [B, T, ...] → quantised codes ẑ [B, T, D] (Φ_m, then the nearest code; docs/reference-behaviour.md §1.5 "VQ encoder").
/// The protocols call it under <c>no_grad</c>, with <paramref name="raw"/> already on
/// <see cref="DownstreamOptions.Device"/> in <see cref="DownstreamOptions.Precision"/>.
/// </summary>
/// <param name="training">
/// True while a head trains and <see cref="DownstreamOptions.EncoderTrainMode"/> is set: the reference
/// leaves the encoder in train mode then (transformer dropout active); false for every evaluation.
/// </param>
public delegate Tensor CodeEncoder(Modality modality, Tensor raw, bool training);
