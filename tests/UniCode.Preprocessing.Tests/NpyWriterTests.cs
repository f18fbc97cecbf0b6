using System.Buffers.Binary;
using System.Text;

namespace UniCode.Preprocessing.Tests;

public sealed class NpyWriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicode-npy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_header_is_what_numpy_writes_padded_to_64_bytes()
    {
        var header = NpyWriter.Header([2, 3]);

        // 10-byte preamble + 59-character dict + padding + newline = 128 bytes
        const string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        Assert.Equal(128, header.Length);
        Assert.Equal([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0], header[..8]);
        Assert.Equal(118, BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(8)));
        Assert.Equal(dict + new string(' ', 58) + "\n", Encoding.ASCII.GetString(header, 10, 118));
        Assert.EndsWith("'shape': (5,), }", Encoding.ASCII.GetString(NpyWriter.Header([5])).TrimEnd());
    }

    [Fact]
    public void Values_follow_the_header_as_little_endian_float32_and_the_count_is_enforced()
    {
        var path = Path.Combine(_dir, "a.npy");
        (long Bytes, string Sha256) done;
        using (var w = new NpyWriter(path, [2, 2]))
        {
            w.Write([1f, -2f]);
            Assert.Throws<InvalidOperationException>(() => w.Complete());          // half written
            w.Write([0.5f, 3f]);
            Assert.Throws<InvalidOperationException>(() => w.Write([9f]));         // one too many
            done = w.Complete();
        }
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(128 + 16, bytes.Length);                                            // (2, 2) needs the same 128-byte header as (2, 3)
        Assert.Equal(bytes.Length, done.Bytes);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), done.Sha256);
        Assert.Equal([1f, -2f, 0.5f, 3f], Enumerable.Range(0, 4).Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(128 + 4 * i))));
    }
}
