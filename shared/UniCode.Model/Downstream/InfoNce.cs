using static TorchSharp.torch;

namespace UniCode.Model.Downstream;

/// <summary>
/// Symmetric in-batch InfoNCE: item i of the queries and item i of the gallery are the positive pair,
/// every other batch item a negative. L = ½ [CE(Q Gᵀ/τ, i) + CE(G Qᵀ/τ, i)] on unit embeddings.
/// </summary>
public static class InfoNce
{
    public static Tensor Loss(Tensor queries, Tensor gallery, double temperature)
    {
        var logits = queries.matmul(gallery.t()) / temperature;
        var targets = arange(queries.shape[0], dtype: ScalarType.Int64, device: queries.device);
        return (nn.functional.cross_entropy(logits, targets) + nn.functional.cross_entropy(logits.t(), targets)) / 2;
    }
}
