using TorchSharp;
using TorchSharp.Modules;
using UniCode.Model.Config;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UniCode.Model.Losses;

/// <summary>
/// Result of one Cross-CPC forward: the loss (Eq. 6) and, per ordered (target, predictor) pair including the
/// self pairs, the batch share of items whose own partner scored highest (diagnostics only; 0-d tensors,
/// read them whenever a host sync is acceptable).
/// </summary>
public sealed record CpcResult(Tensor Loss, IReadOnlyDictionary<(Modality Target, Modality Predictor), Tensor> Accuracy);

/// <summary>
/// Cross-modal contrastive predictive coding (Eq. 6; reference <c>Cross_CPC</c>/<c>Cross_CPC_AVT</c>,
/// docs/reference-behaviour.md §1.8) on the pre-quantization semantic features z_m [B, T, D].
/// Per modality: a CpcLstmLayers-layer LSTM (CpcHiddenDim, zero initial state) summarises z_m[:, 0..t] into the
/// context c_m (its output at step t), and CpcPredictionSteps linear predictors give p_m^k = W_m^k c_m.
/// For a target modality X and a predicting modality Y the scores are G[i, j] = y_X^k[i] · p_Y^k[j] with
/// y_X^k = z_X[:, t + k]; the term is Σ_i log_softmax(G)[i, i], normalised over predictions j (reference) or,
/// with <see cref="UniCodeConfig.CpcSoftmaxOverTargets"/>, over candidate targets i (paper Eq. 6). Every
/// ordered cross pair weighs CpcCrossWeight, every self pair CpcSelfWeight; L = −Σ w · term / (B · K).
/// </summary>
public sealed class CrossCpc : nn.Module
{
    // Indexed like Modalities. (Not ModuleDict: TorchSharp 0.107's Module.to(dtype) throws on its two indexers.)
    private readonly ModuleList<LSTM> lstms;
    private readonly ModuleList<ModuleList<Linear>> predictors;
    private readonly UniCodeConfig config;

    public CrossCpc(UniCodeConfig c) : base("cross_cpc")
    {
        config = c;
        Modalities = c.Modalities.Members();
        if (Modalities.Count < 2)
            throw new ConfigException(nameof(UniCodeConfig.Modalities), c.Modalities, "at least two of audio, video, text (av, at, vt, avt)");
        if (c.CpcPredictionSteps <= 0) throw new ConfigException(nameof(UniCodeConfig.CpcPredictionSteps), c.CpcPredictionSteps, "a positive number");
        if (c.CpcMinStartSteps <= 0) throw new ConfigException(nameof(UniCodeConfig.CpcMinStartSteps), c.CpcMinStartSteps, "a positive number");
        lstms = new ModuleList<LSTM>();
        predictors = new ModuleList<ModuleList<Linear>>();
        foreach (var m in Modalities)
        {
            lstms.Add(nn.LSTM(c.CodeDim, c.CpcHiddenDim, c.CpcLstmLayers, batchFirst: true));
            var steps = new ModuleList<Linear>();
            for (var k = 0; k < c.CpcPredictionSteps; k++) steps.Add(nn.Linear(c.CpcHiddenDim, c.CodeDim));
            predictors.Add(steps);
        }
        RegisterComponents();
    }

    /// <summary>The modalities this instance has autoregressors for (audio, video, text order).</summary>
    public IReadOnlyList<Modality> Modalities { get; }

    /// <summary>
    /// Draws one start step t ∈ [CpcMinStartSteps, T − CpcPredictionSteps − 1] with <paramref name="rng"/> (host side)
    /// and returns the loss and accuracies. Every modality's z must be [B, T, D] with the same B and T.
    /// </summary>
    public CpcResult Forward(IReadOnlyList<(Modality Modality, Tensor Z)> z, Random rng)
    {
        ArgumentNullException.ThrowIfNull(z);
        ArgumentNullException.ThrowIfNull(rng);
        if (z.Count < 2) throw new ArgumentException($"CrossCpc: got {z.Count} modalities, expected at least 2");
        var (batch, time) = (z[0].Z.shape[0], z[0].Z.shape[1]);
        foreach (var (m, zm) in z)
        {
            if (!Modalities.Contains(m))
                throw new ArgumentException($"CrossCpc: modality {m} is not in config field Modalities ({config.Modalities.Code()})");
            if (zm.ndim != 3 || zm.shape[0] != batch || zm.shape[1] != time || zm.shape[2] != config.CodeDim)
                throw new ArgumentException($"CrossCpc: z of {m} has shape [{string.Join(", ", zm.shape)}], expected [{batch}, {time}, {config.CodeDim}] like {z[0].Modality}");
        }
        if (z.Select(p => p.Modality).Distinct().Count() != z.Count) throw new ArgumentException("CrossCpc: a modality appears twice");
        int k = config.CpcPredictionSteps, minStart = config.CpcMinStartSteps;
        if (time < minStart + k + 1)
            throw new ArgumentException($"CrossCpc: T = {time} segments, expected at least {minStart + k + 1} (config fields CpcMinStartSteps = {minStart}, CpcPredictionSteps = {k})");
        if (batch < 2) throw new ArgumentException($"CrossCpc: B = {batch}, expected at least 2 (the other batch items are the negatives)");

        var t = rng.Next(minStart, (int)time - k);                           // t ∈ [min, T − K − 1]
        using var scope = NewDisposeScope();
        var targets = new Dictionary<Modality, Tensor>();
        var predictions = new Dictionary<Modality, Tensor>();
        foreach (var (m, zm) in z)
        {
            targets[m] = zm.narrow(1, t + 1, k).transpose(0, 1);                // [K, B, D]: z_m[:, t+1 .. t+K]
            predictions[m] = Predict(m, zm, t);                               // [K, B, D]
        }

        Tensor? sum = null;
        var accuracy = new Dictionary<(Modality Target, Modality Predictor), Tensor>();
        foreach (var (target, _) in z)
        {
            foreach (var (predictor, _) in z)
            {
                var weight = target == predictor ? config.CpcSelfWeight : config.CpcCrossWeight;
                var (term, acc) = PairTerm(targets[target], predictions[predictor], config.CpcSoftmaxOverTargets);
                accuracy[(target, predictor)] = acc.MoveToOuterDisposeScope();
                if (weight == 0) continue;                                  // the paper has no self pairs
                var weighted = term * weight;
                sum = sum is null ? weighted : sum + weighted;
            }
        }
        var loss = sum is null ? torch.zeros([], dtype: z[0].Z.dtype, device: z[0].Z.device) : -sum / (batch * k);
        return new CpcResult(loss.MoveToOuterDisposeScope(), accuracy);
    }

    /// <summary>p_m^k = W_m^k c_m for k = 1..K, c_m the LSTM output at step t over z_m[:, 0..t]: [K, B, D].</summary>
    internal Tensor Predict(Modality m, Tensor zm, int t)
    {
        using var scope = NewDisposeScope();
        var index = Modalities.ToList().IndexOf(m);
        if (index < 0) throw new ArgumentException($"CrossCpc: modality {m} is not in config field Modalities ({config.Modalities.Code()})");
        // No initial state: TorchSharp starts from zeros of z's dtype and device.
        var (output, _, _) = lstms[index].call(zm.narrow(1, 0, t + 1));
        var context = output.select(1, t);                                    // [B, H]
        var steps = predictors[index].Select(w => w.call(context)).ToList();
        return torch.stack(steps, 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One (target, predictor) pair: G_k = y^k p^kᵀ ([K, B, B], rows = targets i, columns = predictions j);
    /// term = Σ_k Σ_i log_softmax(G_k)[i, i] over j (reference) or over i (<paramref name="overTargets"/>);
    /// accuracy = share of the K·B softmax groups whose argmax is their diagonal entry.
    /// </summary>
    /// <remarks>
    /// The reference's accuracy takes argmax over targets of a row-softmaxed G and keeps only the last k; here the
    /// argmax runs along the loss's own softmax axis and all K steps count.
    /// </remarks>
    internal static (Tensor Term, Tensor Accuracy) PairTerm(Tensor targets, Tensor predictions, bool overTargets)
    {
        using var scope = NewDisposeScope();
        var scores = targets.bmm(predictions.transpose(1, 2));              // [K, B, B]
        var axis = overTargets ? 1 : 2;
        var logSoftmax = F.log_softmax(scores, axis);
        var term = logSoftmax.diagonal(0, 1, 2).sum();
        var batch = scores.shape[1];
        var hits = scores.argmax(axis).eq(torch.arange(batch, device: scores.device).unsqueeze(0));   // [K, B]
        var accuracy = hits.to(scores.dtype).mean();
        return (term.MoveToOuterDisposeScope(), accuracy.MoveToOuterDisposeScope());
    }
}
