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

    /// <param name="copy">
    /// True (default): the source keeps its own copies. False: it keeps handles on the given tensors' storage (no second
    /// copy of a data set that may be gigabytes), and the caller promises not to change them in place; disposing the
    /// caller's handles does not free what the source holds.
    /// </param>
    public TensorBatchSource(Tensor? audio, Tensor? video, Tensor? text, bool copy = true)
    {
        var present = new[] { audio, video, text }.OfType<Tensor>().ToList();
        if (present.Count == 0) throw new ArgumentException("a batch source needs at least one modality");
        var n = present[0].shape[0];
        if (present.Any(t => t.shape[0] != n)) throw new ArgumentException($"modalities have different clip counts: {string.Join(", ", present.Select(t => t.shape[0]))}");
        // Held outside any dispose scope: the source outlives the scope that built the tensors.
        this.audio = Own(audio, copy);
        this.video = Own(video, copy);
        this.text = Own(text, copy);
        Count = checked((int)n);
        ContentHash = Hash(this.audio, this.video, this.text);
    }

    public int Count { get; }

    private static Tensor? Own(Tensor? t, bool copy)
    {
        if (t is null) return null;
        using var scope = NewDisposeScope();
        var held = t.detach().cpu().contiguous();
        return (copy ? held.clone() : held).DetachFromDisposeScope();
    }

    /// <summary>The hash reads a tensor in slices of whole rows of about this many bytes (a span cannot pass 2 GB).</summary>
    private const long HashChunkBytes = 1L << 28;

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

    private static string Hash(params Tensor?[] tensors) => Hash(HashChunkBytes, tensors);

    /// <summary>sha256 over each modality's presence, shape, dtype and float32 bytes, read <paramref name="chunkBytes"/> at a time (the digest does not depend on it).</summary>
    internal static string Hash(long chunkBytes, params Tensor?[] tensors)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in tensors)
        {
            if (t is null) { h.AppendData([0]); continue; }
            h.AppendData([1]);
            foreach (var d in t.shape) h.AppendData(BitConverter.GetBytes(d));
            h.AppendData(BitConverter.GetBytes((int)t.dtype));
            using var f = t.to(ScalarType.Float32).contiguous();
            var rows = f.shape[0];
            var rowsAtATime = Math.Max(1, chunkBytes / Math.Max(1, f.numel() / Math.Max(1, rows) * sizeof(float)));
            for (long at = 0; at < rows; at += rowsAtATime)
            {
                using var part = f.narrow(0, at, Math.Min(rowsAtATime, rows - at));
                h.AppendData(part.bytes);   // the rows' float32 bytes in place: no copy of a data set that may be gigabytes
            }
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
