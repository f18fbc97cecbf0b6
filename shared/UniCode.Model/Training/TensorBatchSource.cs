using System.Security.Cryptography;
using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Model.Training;

/// <summary>
/// Clips held in memory as tensors (audio [N,T,Da], video [N,T,G,G,Dv], text [N,T,Dt]; absent
/// modalities null). Batches are gathered with one index_select per modality.
/// </summary>
public sealed class TensorBatchSource : IBatchSource, IDisposable
{
    private readonly Tensor? audio, video, text;

    public TensorBatchSource(Tensor? audio, Tensor? video, Tensor? text)
    {
        var present = new[] { audio, video, text }.OfType<Tensor>().ToList();
        if (present.Count == 0) throw new ArgumentException("a batch source needs at least one modality");
        var n = present[0].shape[0];
        if (present.Any(t => t.shape[0] != n)) throw new ArgumentException($"modalities have different clip counts: {string.Join(", ", present.Select(t => t.shape[0]))}");
        // Own copies, outside any dispose scope: the source outlives the scope that built the tensors.
        this.audio = Own(audio);
        this.video = Own(video);
        this.text = Own(text);
        Count = checked((int)n);
        ContentHash = Hash(this.audio, this.video, this.text);
    }

    public int Count { get; }

    private static Tensor? Own(Tensor? t) => t?.detach().cpu().contiguous().clone().DetachFromDisposeScope();

    public string ContentHash { get; }

    public PretrainBatch ReadBatch(ReadOnlySpan<int> clipIndices, Device device, ScalarType dtype)
    {
        using var index = tensor(clipIndices.ToArray().Select(i => (long)i).ToArray(), ScalarType.Int64);
        Tensor? Take(Tensor? t) => t?.index_select(0, index).to(dtype).to(device);
        return new PretrainBatch(Take(audio), Take(video), Take(text));
    }

    /// <summary>Only the modalities in <paramref name="set"/> (others dropped), e.g. to pre-train AV on AVT data.</summary>
    public TensorBatchSource Select(ModalitySet set) => new(
        set.HasFlag(ModalitySet.Audio) ? audio : null,
        set.HasFlag(ModalitySet.Video) ? video : null,
        set.HasFlag(ModalitySet.Text) ? text : null);

    private static string Hash(params Tensor?[] tensors)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in tensors)
        {
            if (t is null) { h.AppendData([0]); continue; }
            h.AppendData([1]);
            foreach (var d in t.shape) h.AppendData(BitConverter.GetBytes(d));
            h.AppendData(BitConverter.GetBytes((int)t.dtype));
            using var f = t.to(ScalarType.Float32).contiguous();
            h.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.data<float>().ToArray().AsSpan()));
        }
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    public void Dispose()
    {
        audio?.Dispose();
        video?.Dispose();
        text?.Dispose();
    }
}
