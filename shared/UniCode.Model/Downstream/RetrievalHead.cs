using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UniCode.Model.Downstream;

/// <summary>
/// Clip embedder for retrieval (no reference code; paper §4 "X-to-audio retrieval"): the
/// classification head's trunk (Linear D→D, max over time) then Linear D→E, L2-normalised.
/// [B, T, D] → unit embeddings [B, E]. Trained with <see cref="InfoNce"/>.
/// </summary>
public sealed class RetrievalHead : nn.Module<Tensor, Tensor>
{
    private readonly Linear linear;
    private readonly Linear projection;

    public RetrievalHead(int codeDim, int embeddingDim) : base(nameof(RetrievalHead))
    {
        if (codeDim < 1) throw new ArgumentOutOfRangeException(nameof(codeDim), codeDim, "expected a code width ≥ 1");
        if (embeddingDim < 1) throw new ArgumentOutOfRangeException(nameof(embeddingDim), embeddingDim, "expected an embedding width ≥ 1");
        linear = nn.Linear(codeDim, codeDim);
        projection = nn.Linear(codeDim, embeddingDim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor codes)
    {
        var pooled = linear.forward(codes).max(1).values;
        return nn.functional.normalize(projection.forward(pooled), p: 2, dim: 1);
    }
}
