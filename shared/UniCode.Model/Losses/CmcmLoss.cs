using UniCode.Model.Config;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UniCode.Model.Losses;

/// <summary>
/// Cross-Modal Code Matching (Liu et al. 2022; docs/reference-behaviour.md §1.5 step 6): the code distributions of the
/// same clip in two modalities should match each other better than those of other clips in the batch.
/// </summary>
public static class CmcmLoss
{
    // Inside the log of S (reference 1e-10).
    private const double LogGuard = 1e-10;
    // Added to each row sum of Ê in the reference form (the reference reuses the quantizer's ε = 1e-5 here).
    private const double RowSumGuard = 1e-5;

    /// <summary>
    /// One modality pair, P_A and P_B [B,L] → scalar. S[i,j] = Σ_k P_A[i,k]·log(P_B[j,k] + 1e-10) + Σ_k P_B[i,k]·log(P_A[j,k] + 1e-10)
    /// ([B,B]; the loss is symmetric in A and B). <see cref="CmcmForm.Reference"/>: Ê = exp(S − min S), min over the
    /// whole matrix and not detached (its gradient goes to the argmin entry); loss = (1/B) Σ_i −log(Ê_ii / (Σ_j Ê_ij + 1e-5)).
    /// <see cref="CmcmForm.LogSoftmax"/>: loss = mean_i −log softmax_j(S[i,:])[i] (row softmax only).
    /// </summary>
    public static Tensor Pair(Tensor pA, Tensor pB, CmcmForm form = CmcmForm.Reference)
    {
        ArgumentNullException.ThrowIfNull(pA);
        ArgumentNullException.ThrowIfNull(pB);
        if (pA.dim() != 2 || pB.dim() != 2 || pA.shape[0] != pB.shape[0] || pA.shape[1] != pB.shape[1])
            throw new ArgumentException($"CmcmLoss.Pair: pA [{string.Join(",", pA.shape)}] and pB [{string.Join(",", pB.shape)}]: expected two [B,L] tensors of the same shape");
        var s = pA.matmul(pB.add(LogGuard).log().t()).add(pB.matmul(pA.add(LogGuard).log().t()));   // [B,B]
        switch (form)
        {
            case CmcmForm.Reference:
                // Rows of P sum to 1, so S ∈ [2·ln 1e-10, 0] and Ê ≤ 1e20: finite in float32 as in float64.
                var e = s.sub(s.min()).exp();
                return e.diagonal().div(e.sum(1).add(RowSumGuard)).log().mean().neg();
            case CmcmForm.LogSoftmax:
                return F.log_softmax(s, 1).diagonal().mean().neg();
            default:
                throw new ArgumentOutOfRangeException(nameof(form), form, $"expected {string.Join(" or ", Enum.GetNames<CmcmForm>())}");
        }
    }

    /// <summary>L_cmcm = 0.5 · Σ over unordered modality pairs of <see cref="Pair"/> (AV: one pair; AVT: three; docs/reference-behaviour.md §1.5 step 6).</summary>
    public static Tensor Compute(IReadOnlyList<Tensor> probabilities, CmcmForm form = CmcmForm.Reference)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        if (probabilities.Count < 2)
            throw new ArgumentException($"CmcmLoss.Compute: {probabilities.Count} code distributions, expected at least 2 (one per modality)", nameof(probabilities));
        Tensor? total = null;
        for (int a = 0; a < probabilities.Count; a++)
            for (int b = a + 1; b < probabilities.Count; b++)
            {
                var pair = Pair(probabilities[a], probabilities[b], form);
                total = total is null ? pair : total.add(pair);
            }
        return total!.mul(0.5);
    }
}
