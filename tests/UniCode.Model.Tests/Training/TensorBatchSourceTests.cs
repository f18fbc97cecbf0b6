using System.Runtime.InteropServices;
using System.Security.Cryptography;
using UniCode.Model.Training;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Training;

public sealed class TensorBatchSourceTests
{
    /// <summary>The digest as written out by hand: presence byte, shape, dtype, then every float32 of the tensor.</summary>
    private static string Expected(Tensor audio)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData([1]);
        foreach (var d in audio.shape) h.AppendData(BitConverter.GetBytes(d));
        h.AppendData(BitConverter.GetBytes((int)audio.dtype));
        h.AppendData(MemoryMarshal.AsBytes(audio.data<float>().ToArray().AsSpan()));
        h.AppendData([0]);   // no video
        h.AppendData([0]);   // no text
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    [Fact]
    public void The_content_hash_is_the_sha256_of_the_bytes_whatever_the_slices_it_reads_them_in()
    {
        using var audio = arange(7 * 3 * 5, dtype: ScalarType.Float32).reshape(7, 3, 5).mul(0.25);
        using var source = new TensorBatchSource(audio, null, null);
        var expected = Expected(audio);
        Assert.Equal(expected, source.ContentHash);
        // One row (60 bytes) at a time, two, three and all seven rows: the same digest.
        foreach (var chunk in new long[] { 1, 60, 120, 180, 1 << 20 })
            Assert.Equal(expected, TensorBatchSource.Hash(chunk, audio, null, null));
    }

    [Fact]
    public void Without_a_copy_the_source_reads_the_callers_storage_and_outlives_the_callers_handle()
    {
        var audio = arange(4 * 2 * 3, dtype: ScalarType.Float32).reshape(4, 2, 3);
        var expected = audio.clone();
        using var shared = new TensorBatchSource(audio, null, null, copy: false);
        using var copied = new TensorBatchSource(audio, null, null);
        Assert.Equal(copied.ContentHash, shared.ContentHash);
        audio.Dispose();   // the caller lets its handle go: the storage stays with the source
        using var scope = NewDisposeScope();
        var batch = shared.ReadBatch([3, 0], CPU, ScalarType.Float32);
        Assert.True(batch.Audio!.eq(expected.index_select(0, tensor(new long[] { 3, 0 }))).all().item<bool>());
        expected.Dispose();
    }
}
