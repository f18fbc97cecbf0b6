using TorchSharp;
using TorchSharp.Modules;
using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Model.Encoders;

/// <summary>
/// The temporal relation module (TRM) of the semantic encoders Φ (Eq. 1, docs/reference-behaviour.md §1.3):
/// Linear(inputDim → D), then <see cref="UniCodeConfig.TrmLayers"/> post-LN Transformer encoder layers
/// (D wide, <see cref="UniCodeConfig.TrmHeads"/> heads, FFN <see cref="UniCodeConfig.TrmFeedForwardDim"/>, ReLU,
/// dropout <see cref="UniCodeConfig.Dropout"/> on attention, residuals and FFN) over the T segments.
/// No positional encoding and no mask, as in the reference: the module is equivariant to permutations of time.
/// [B, T, inputDim] → [B, T, D].
/// </summary>
/// <remarks>
/// The reference also registers its template layer (<c>encoder_layer</c>) as a submodule: 789,760 parameters
/// per TRM at paper size that are saved in checkpoints but never used in forward. It is deliberately not
/// replicated here, so the parameter count is the reference's "used" count (docs/reference-behaviour.md §6).
/// </remarks>
public sealed class TemporalRelationModule : nn.Module<Tensor, Tensor>
{
    private readonly Linear affine;
    private readonly ModuleList<TransformerEncoderLayer> layers;
    private readonly int inputDim;

    public TemporalRelationModule(string name, int inputDim, UniCodeConfig c) : base(name)
    {
        if (inputDim <= 0) throw new ArgumentOutOfRangeException(nameof(inputDim), inputDim, $"TemporalRelationModule '{name}': inputDim must be positive");
        this.inputDim = inputDim;
        affine = nn.Linear(inputDim, c.CodeDim);
        layers = new ModuleList<TransformerEncoderLayer>();
        for (var i = 0; i < c.TrmLayers; i++)
            layers.Add(nn.TransformerEncoderLayer(c.CodeDim, c.TrmHeads, c.TrmFeedForwardDim, c.Dropout, nn.Activations.ReLU));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        if (x.ndim != 3 || x.shape[2] != inputDim)
            throw new ArgumentException($"TemporalRelationModule '{GetName()}': input shape [{string.Join(", ", x.shape)}], expected [B, T, {inputDim}]");
        using var scope = NewDisposeScope();
        // The layers are sequence-first (T, B, D), as the reference's.
        var h = affine.call(x).transpose(0, 1);
        foreach (var layer in layers) h = layer.call(h);
        return h.transpose(0, 1).contiguous().MoveToOuterDisposeScope();
    }
}
