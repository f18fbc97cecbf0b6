using TorchSharp;
using TorchSharp.Utils;
using UniCode.Model.Config;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UniCode.Model.Quantizer;

/// <summary>
/// The one codebook all modalities share (paper §3.3, docs/reference-behaviour.md §1.5): nearest-code quantisation with a
/// straight-through gradient (Eq. 2), Multi-Modal EMA updates of the codes (Eq. 7), cross-modal commitment
/// (Eq. 8) and the code reset. The codebook is state, not a parameter: it changes only through the EMA and
/// the reset, both of which run only in training mode — unless <see cref="UniCodeConfig.CountUnusedInEval"/>
/// asks for the reference's behaviour, where the reset counters (and so the reset) also run in eval mode.
/// </summary>
public sealed class SharedCodebookQuantizer : nn.Module
{
    // Buffers (checkpointed). Not readonly: Module.to(dtype/device) replaces them through reflection.
    [ComponentName(Name = "embedding")] private Tensor _embedding;          // e [L,D]
    [ComponentName(Name = "ema_weight")] private Tensor _emaWeight;         // EMA of Σ assigned vectors [L,D]
    [ComponentName(Name = "ema_count")] private Tensor _emaCount;           // EMA of assignment counts [L]
    [ComponentName(Name = "unused")] private Tensor _unused;                // forwards since modality m last chose code k [M,L] int64; −1 = never counted
    [ComponentName(Name = "usage")] private Tensor _usage;                  // assignments of code k by modality m [M,L] int64 (Fig. 4)
    [ComponentName(Name = "usage_forwards")] private Tensor _usageForwards; // training forwards counted in usage, scalar int64
    [ComponentName(Name = "initialised")] private Tensor _initialised;      // CodebookInit.DataSample: codes drawn from data yet, scalar bool

    private readonly IReadOnlyList<Modality> _modalities;
    private readonly long _codebookSize;
    private readonly long _codeDim;
    private readonly double _decay;
    private readonly double _epsilon;
    private readonly double _emaSelfWeight;
    private readonly EmaForm _emaForm;
    private readonly double _commitmentSelf;
    private readonly double _commitmentCross;
    private readonly bool _multiModalEma;
    private readonly bool _codeReset;
    private readonly ResetRule _resetRule;
    private readonly long _resetAfter;
    private readonly long _activeWindow;
    private readonly double _resetNoise;
    private readonly bool _countUnusedInEval;
    private readonly ulong _seed;
    private readonly CodebookInit _init;

    // The quantizer's own randomness (codebook init, reset sources and noise), so equal seeds give equal models.
    private readonly Generator _generator;
    private Generator? _deviceGenerator;

    public SharedCodebookQuantizer(UniCodeConfig config, string name = "quantizer") : base(name)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _modalities = config.Modalities.Members();
        _codebookSize = config.CodebookSize;
        _codeDim = config.CodeDim;
        _decay = config.EmaDecay;
        _epsilon = config.EmaEpsilon;
        _emaSelfWeight = config.EmaSelfWeight;
        _emaForm = config.EmaForm;
        _commitmentSelf = config.CommitmentSelf;
        _commitmentCross = config.CommitmentCross;
        _multiModalEma = config.UseMultiModalEma;
        _codeReset = config.UseCodeReset;
        _resetRule = config.ResetRule;
        _resetAfter = config.ResetAfterForwards;
        _activeWindow = config.ResetActiveWindow;
        _resetNoise = config.ResetNoise;
        _countUnusedInEval = config.CountUnusedInEval;
        _seed = unchecked((ulong)config.Seed);
        _init = config.CodebookInit;
        _generator = new Generator(_seed);

        var dtype = config.Precision == Precision.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        long l = _codebookSize, d = _codeDim, m = _modalities.Count;
        // e ~ U(−1/L, 1/L), drawn in float64 so float32 and float64 models start from the same codebook.
        using (var init = rand(l, d, ScalarType.Float64, generator: _generator))
            _embedding = init.mul(2.0 / l).sub_(1.0 / l).to(dtype).DetachFromDisposeScope();
        _emaWeight = _embedding.clone().DetachFromDisposeScope();
        _emaCount = zeros(l, dtype: dtype).DetachFromDisposeScope();
        _unused = full(m, l, -1L, dtype: ScalarType.Int64).DetachFromDisposeScope();
        _usage = zeros(m, l, dtype: ScalarType.Int64).DetachFromDisposeScope();
        _usageForwards = zeros(Array.Empty<long>(), dtype: ScalarType.Int64).DetachFromDisposeScope();
        _initialised = tensor(_init == CodebookInit.Uniform).DetachFromDisposeScope();
        RegisterComponents();
    }

    /// <summary>The codebook e, the `embedding` buffer [L,D].</summary>
    public Tensor Codebook => _embedding;

    /// <summary>The modalities this quantizer expects, in processing order.</summary>
    public IReadOnlyList<Modality> Modalities => _modalities;

    /// <summary>
    /// Pre-training forward. <paramref name="z"/>: semantic features per modality in the config's order
    /// (audio, video, text), each [B,T,D] with the same B and T. In training mode also updates the codebook
    /// (Multi-Modal EMA, then code reset) and the usage counters; all of it on the device, without host syncs.
    /// In eval mode it changes no buffer by default. With <see cref="UniCodeConfig.CountUnusedInEval"/> (and code
    /// reset on) it does what the reference does in eval (docs/reference-behaviour.md §1.5 step 5): no EMA and no usage
    /// counting, but the unused counters advance with this forward's codes and due codes are reset, in place.
    /// </summary>
    public QuantizerOutput Forward(IReadOnlyList<(Modality Modality, Tensor Z)> z)
    {
        var (batch, steps) = CheckInputs(z);
        int mCount = _modalities.Count;
        if (training && _init == CodebookInit.DataSample) InitialiseFromData(z);
        // The EMA and the reset write the codebook in place (this forward's or a later one's, possibly before
        // this graph's backward): the graph keeps its own copy.
        var codebook = _embedding.clone();

        var indices = new Tensor[mCount];
        var codes = new Tensor[mCount];
        var probabilities = new Dictionary<Modality, Tensor>(mCount);
        for (int m = 0; m < mCount; m++)
        {
            var flat = z[m].Z.reshape(-1, _codeDim);
            var distances = SquaredDistances(flat, codebook);        // differentiable in z only: e is a buffer
            indices[m] = distances.detach().argmin(1);               // [N]
            codes[m] = codebook.index_select(0, indices[m]);         // q_m, a copy [N,D]
            // P_m: softmax over codes of −‖z − e‖, averaged over T. Clamped: sqrt'(0) is infinite.
            var p = F.softmax(distances.clamp_min(1e-12).sqrt().neg(), 1);
            probabilities[z[m].Modality] = p.view(batch, steps, _codebookSize).mean([1]);
        }

        if (training)
        {
            using var _ = no_grad();
            var detached = z.Select(x => x.Z.detach()).ToArray();
            var assignments = indices.Select(i => F.one_hot(i, _codebookSize)).ToArray();   // O_m [N,L] int64
            var chosenCounts = stack(assignments.Select(o => o.sum(0L)), 0);                   // [M,L]
            _usage.add_(chosenCounts);
            _usageForwards.add_(1);
            for (int m = 0; m < mCount; m++)
                EmaUpdate(m, assignments[m].to(_embedding.dtype), detached);
            if (_codeReset)
                CodeReset(chosenCounts.gt(0));
        }
        else if (_codeReset && _countUnusedInEval)
        {
            // Reference bug kept as an option: its counters and reset run outside `if self.training`.
            using var _ = no_grad();
            var chosen = stack(indices.Select(i => F.one_hot(i, _codebookSize).sum(0L)), 0).gt(0);   // [M,L]
            CodeReset(chosen);
        }

        var quantized = new Dictionary<Modality, Tensor>(mCount);
        var commitment = new Dictionary<Modality, Tensor>(mCount);
        var indexMaps = new Dictionary<Modality, Tensor>(mCount);
        for (int m = 0; m < mCount; m++)
        {
            var (modality, zm) = z[m];
            var qm = codes[m].view(zm.shape);
            // Eq. 8 (reference weights): commit to the own code, and in Multi-Modal mode also to the other
            // modalities' codes at the same (b,t), their weight shared equally.
            var loss = F.mse_loss(zm, qm.detach()).mul(_commitmentSelf);
            if (_multiModalEma)
            {
                double cross = _commitmentCross / (mCount - 1);
                for (int o = 0; o < mCount; o++)
                    if (o != m) loss = loss.add(F.mse_loss(zm, codes[o].view(zm.shape).detach()).mul(cross));
            }
            commitment[modality] = loss;
            quantized[modality] = zm.add(qm.sub(zm).detach());   // Eq. 2, straight-through
            indexMaps[modality] = indices[m].view(batch, steps);
        }

        // Diagnostic (the reference's equal_num): per sample the most frequent code; count agreement.
        Tensor agreeing;
        using (no_grad())
        {
            var modes = stack(indices.Select(i => i.view(batch, steps).mode(1).values), 0);   // [M,B]
            agreeing = modes.eq(modes.select(0, 0).unsqueeze(0)).all(0).sum();
        }
        return new QuantizerOutput(quantized, indexMaps, commitment, probabilities, agreeing);
    }

    /// <summary>Downstream/inference path: nearest code with straight-through gradient, [B,T,D] → [B,T,D]. Never changes any buffer.</summary>
    public Tensor Quantize(Tensor z)
    {
        CheckWidth(z, nameof(z));
        Tensor q;
        using (no_grad())
            q = _embedding.index_select(0, NearestIndices(z).flatten()).view(z.shape);
        return z.add(q.sub(z).detach());
    }

    /// <summary>Index of the nearest code for every vector: [..., D] → [...] int64.</summary>
    public Tensor NearestIndices(Tensor z)
    {
        CheckWidth(z, nameof(z));
        using var _ = no_grad();
        var flat = z.detach().reshape(-1, _codeDim);
        var shape = z.shape[..^1];
        return SquaredDistances(flat, _embedding).argmin(1).view(shape);
    }

    /// <summary>Host copy of the usage counters (the only method here that syncs with the device).</summary>
    public CodeUsage Usage()
    {
        using var _ = NewDisposeScope();
        var counts = _usage.cpu();
        var perModality = new Dictionary<Modality, long[]>(_modalities.Count);
        for (int m = 0; m < _modalities.Count; m++)
            perModality[_modalities[m]] = counts.select(0, m).data<long>().ToArray();
        return new CodeUsage(_modalities, perModality, _usageForwards.cpu().item<long>());
    }

    /// <summary>Zeroes the usage counters (not the reset counters).</summary>
    public void ResetUsage()
    {
        using var _ = no_grad();
        _usage.zero_();
        _usageForwards.zero_();
    }

    // ‖z‖² + ‖e‖² − 2 z·e for flat z [N,D] and codebook e [L,D] → [N,L]; one matmul.
    private static Tensor SquaredDistances(Tensor flat, Tensor codebook) =>
        flat.pow(2).sum(1, keepdim: true).add(codebook.pow(2).sum(1)).addmm(flat, codebook.t(), beta: 1, alpha: -2);

    // Eq. 7, reference form: modality m's codes move towards a mix of its own vectors (weight EmaSelfWeight)
    // and the other modalities' vectors at the same (b,t) (or, in the paper's form, their cross-attention
    // summary), the rest of the weight shared equally. Runs once per modality, so the accumulators decay
    // M times per forward, as in the reference.
    private void EmaUpdate(int m, Tensor assignments, Tensor[] detached)
    {
        int mCount = detached.Length;
        var flat = detached[m].reshape(-1, _codeDim);
        var target = flat;
        if (_multiModalEma)
        {
            double other = (1 - _emaSelfWeight) / (mCount - 1);
            target = flat.mul(_emaSelfWeight);
            for (int o = 0; o < mCount; o++)
            {
                if (o == m) continue;
                var partner = _emaForm == EmaForm.CrossAttention ? CrossAttend(detached[m], detached[o]) : detached[o];
                target = target.add(partner.reshape(-1, _codeDim).mul(other));
            }
        }

        _emaCount.mul_(_decay).add_(assignments.sum(0L), alpha: 1 - _decay);
        var n = _emaCount.sum();
        // Laplace smoothing keeps every count positive while preserving the total n.
        _emaCount.add_(_epsilon).div_(n.add(_codebookSize * _epsilon)).mul_(n);
        _emaWeight.mul_(_decay).add_(assignments.t().matmul(target), alpha: 1 - _decay);
        _embedding.copy_(_emaWeight.div(_emaCount.unsqueeze(1)));
    }

    // CodebookInit.DataSample: the first training forward replaces the codebook by L vectors drawn at random from
    // this batch's semantic features (all modalities pooled), and starts the EMA accumulators consistently with it
    // (count 1, weight = code), so a code nobody chooses keeps its place instead of being divided by a zero count
    // (the reference's U(−1/L, 1/L) codes with zero counts jump to ~1e3 in norm after one update and never win
    // again). On the device without a host read: later forwards compute the same and keep the old values.
    private void InitialiseFromData(IReadOnlyList<(Modality Modality, Tensor Z)> z)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var pool = cat(z.Select(x => x.Z.detach().reshape(-1, _codeDim)).ToArray(), 0);
        var generator = GeneratorFor(_embedding.device);
        var pick = randint(pool.shape[0], [_codebookSize], dtype: ScalarType.Int64, device: pool.device, generator: generator);
        var sample = pool.index_select(0, pick).to(_embedding.dtype);
        _embedding.copy_(where(_initialised, _embedding, sample));
        _emaWeight.copy_(where(_initialised, _emaWeight, sample));
        _emaCount.copy_(where(_initialised, _emaCount, ones_like(_emaCount)));
        _initialised.fill_(true);
    }

    // Paper Eq. 7's r: for every step of `query`, a softmax(q·k/√D)-weighted average of `other`'s steps within the same clip.
    private Tensor CrossAttend(Tensor query, Tensor other)
    {
        var scores = query.bmm(other.transpose(1, 2)).div(Math.Sqrt(_codeDim));   // [B,T,T]
        return F.softmax(scores, 2).bmm(other);
    }

    // Code reset (paper §3.3; docs/reference-behaviour.md §1.5 step 5), on the device: a code no longer chosen (by any
    // modality, or in the paper's rule by some modality) for more than ResetAfterForwards forwards is moved
    // next to a uniformly chosen recently active code. ema_weight/ema_count are left alone, as in the reference.
    private void CodeReset(Tensor chosen)
    {
        long l = _codebookSize;
        _unused.add_(1).masked_fill_(chosen, 0);
        var effective = _resetRule == ResetRule.AnyModality ? _unused.amin([0]) : _unused.amax([0]);   // [L]
        var due = effective.gt(_resetAfter);
        var active = effective.ge(0).logical_and(effective.lt(_activeWindow));

        // Source of every code: the ⌊u·k⌋-th of the k active codes, u ~ U(0,1); drawn for all codes every
        // forward so the random stream does not depend on the data.
        var generator = GeneratorFor(_embedding.device);
        var rank = active.to(ScalarType.Int64).cumsum(0);   // rank[c] = active codes among 0..c
        var k = rank.select(0, l - 1);
        var u = rand(l, dtype: _embedding.dtype, device: _embedding.device, generator: generator);
        var nth = minimum(u.mul(k).floor().to(ScalarType.Int64), k.sub(1)).clamp_min(0);
        var source = searchsorted(rank, nth.add(1)).clamp_max(l - 1);
        var noise = rand(l, _codeDim, dtype: _embedding.dtype, device: _embedding.device, generator: generator)
            .mul_(2 * _resetNoise).sub_(_resetNoise);

        var reset = due.logical_and(k.gt(0));   // with no active code nothing is reset
        var moved = _embedding.index_select(0, source).add_(noise);
        _embedding.copy_(where(reset.unsqueeze(1), moved, _embedding));
        _unused.masked_fill_(reset.unsqueeze(0), 0);
    }

    /// <summary>State of the generator the code reset draws from (on the codebook's device), for exact resumption from a checkpoint.</summary>
    public Tensor GetRandomState() => GeneratorFor(_embedding.device).get_state();

    /// <summary>Restores a state from <see cref="GetRandomState"/>.</summary>
    public void SetRandomState(Tensor state) => GeneratorFor(_embedding.device).set_state(state);

    private Generator GeneratorFor(Device device)
    {
        if (device.type == DeviceType.CPU) return _generator;
        if (_deviceGenerator is null || _deviceGenerator.device.type != device.type || _deviceGenerator.device.index != device.index)
        {
            _deviceGenerator?.Dispose();
            _deviceGenerator = new Generator(_seed, device);
        }
        return _deviceGenerator;
    }

    private (long Batch, long Steps) CheckInputs(IReadOnlyList<(Modality Modality, Tensor Z)> z)
    {
        ArgumentNullException.ThrowIfNull(z);
        string expected = string.Join(", ", _modalities);
        if (z.Count != _modalities.Count)
            throw new ArgumentException($"SharedCodebookQuantizer.Forward: z has {z.Count} modalities, expected {_modalities.Count} ({expected})", nameof(z));
        long batch = 0, steps = 0;
        for (int m = 0; m < z.Count; m++)
        {
            var (modality, x) = z[m];
            if (modality != _modalities[m])
                throw new ArgumentException($"SharedCodebookQuantizer.Forward: z[{m}] is {modality}, expected {_modalities[m]} (order {expected})", nameof(z));
            if (x.dim() != 3)
                throw new ArgumentException($"SharedCodebookQuantizer.Forward: z[{m}] ({modality}) has shape [{string.Join(",", x.shape)}], expected [B,T,{_codeDim}]", nameof(z));
            CheckWidth(x, $"z[{m}] ({modality})");
            if (m == 0) (batch, steps) = (x.shape[0], x.shape[1]);
            else if (x.shape[0] != batch || x.shape[1] != steps)
                throw new ArgumentException($"SharedCodebookQuantizer.Forward: z[{m}] ({modality}) has shape [{string.Join(",", x.shape)}], expected [{batch},{steps},{_codeDim}] like z[0]", nameof(z));
        }
        return (batch, steps);
    }

    private void CheckWidth(Tensor z, string what)
    {
        if (z.dim() < 1 || z.shape[^1] != _codeDim)
            throw new ArgumentException($"SharedCodebookQuantizer: {what} has shape [{string.Join(",", z.shape)}], expected last dimension CodeDim={_codeDim}");
        if (z.dtype != _embedding.dtype)
            throw new ArgumentException($"SharedCodebookQuantizer: {what} has dtype {z.dtype}, expected {_embedding.dtype} (the codebook's; convert the module with .to())");
        if (z.device.type != _embedding.device.type || z.device.index != _embedding.device.index)
            throw new ArgumentException($"SharedCodebookQuantizer: {what} is on {z.device}, expected {_embedding.device} (the codebook's)");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _generator.Dispose();
            _deviceGenerator?.Dispose();
        }
        base.Dispose(disposing);
    }
}
