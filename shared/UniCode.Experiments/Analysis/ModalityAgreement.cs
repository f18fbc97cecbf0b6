using UniCode.Model.Config;

namespace UniCode.Experiments.Analysis;

/// <summary>
/// How often two modalities of the same clip land on the same code, or on codes that stand for the same
/// class, at the same second — the property cross-modal generalisation relies on: a head trained on one
/// modality's codes can only transfer to the other's if paired seconds map to the same (or an equivalent) code.
/// Both rates are over every (clip, second) of the split, background seconds included.
/// </summary>
/// <param name="First">The first modality of the pair (processing order: audio, video, text).</param>
/// <param name="Second">The second modality.</param>
/// <param name="Steps">(clip, second) pairs compared: clips × segments.</param>
/// <param name="SameCode">Fraction of steps where both modalities chose the same code index.</param>
/// <param name="SameClass">
/// Fraction of steps where the two chosen codes have the same majority class (see
/// <see cref="CodebookShares.MajorityClass"/>); at least <paramref name="SameCode"/>, since a code shares
/// its own majority class.
/// </param>
public sealed record ModalityAgreement(Modality First, Modality Second, long Steps, double SameCode, double SameClass)
{
    /// <summary>"audio–video".</summary>
    public string Pair => $"{First.ToString().ToLowerInvariant()}–{Second.ToString().ToLowerInvariant()}";
}
