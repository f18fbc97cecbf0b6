using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Model;

/// <summary>
/// One batch of paired feature sequences, raw as read from the dataset: audio [B,T,Da] (VGGish),
/// video [B,T,G,G,Dv] (VGG-19 pool5 maps), text [B,T,Dt] (token vectors). A modality the model
/// does not use may be null.
/// </summary>
public sealed record PretrainBatch(Tensor? Audio, Tensor? Video, Tensor? Text)
{
    public Tensor Get(Modality m) => m switch
    {
        Modality.Audio => Audio,
        Modality.Video => Video,
        Modality.Text => Text,
        _ => null,
    } ?? throw new ArgumentException($"the batch has no {m.ToString().ToLowerInvariant()} features, but the model was configured with them");

    public long BatchSize => (Audio ?? Video ?? Text ?? throw new InvalidOperationException("empty batch")).shape[0];

    /// <summary>Checks every present tensor against the config's shapes; the message names the modality, the shape and the expected one.</summary>
    public void Validate(UniCodeConfig c)
    {
        long? b = null;
        foreach (var m in c.Modalities.Members())
        {
            var x = Get(m);
            long[] expected = m switch
            {
                Modality.Audio => [x.shape[0], c.Segments, c.AudioInputDim],
                Modality.Video => [x.shape[0], c.Segments, c.VideoGrid, c.VideoGrid, c.VideoInputDim],
                _ => [x.shape[0], c.Segments, c.TextTokenDim],
            };
            if (!x.shape.SequenceEqual(expected))
                throw new ArgumentException($"{m.ToString().ToLowerInvariant()} batch has shape [{string.Join(",", x.shape)}]; expected [B,{string.Join(",", expected.Skip(1))}]");
            if (b is not null && b != x.shape[0])
                throw new ArgumentException($"{m.ToString().ToLowerInvariant()} batch has {x.shape[0]} clips; the other modalities have {b}");
            b = x.shape[0];
        }
    }
}
