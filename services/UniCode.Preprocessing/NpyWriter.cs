using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using UniCode.Core;

namespace UniCode.Preprocessing;

/// <summary>
/// Writes one little-endian float32 C-order <c>.npy</c> array (format 1.0; 2.0 only if the header outgrows
/// 64 KiB) row block by row block, hashing the file's bytes as they are written. The header is written
/// first with the final shape, so the array is never held in memory; <see cref="Complete"/> checks that
/// exactly shape-many values were written.
/// </summary>
internal sealed class NpyWriter : IDisposable
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    private readonly FileStream _file;
    private readonly Sha256Stream _hashed;
    private readonly long _expected;
    private long _written;

    public NpyWriter(string path, IReadOnlyList<long> shape)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("'<f4' arrays are written in place on little-endian hosts only");
        if (shape.Count == 0 || shape.Any(d => d < 0)) throw new ArgumentException($"shape ({string.Join(", ", shape)}) must have at least one non-negative dimension", nameof(shape));
        Path = path;
        Shape = shape.ToArray();
        _expected = shape.Aggregate(1L, (a, b) => a * b);
        _file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        _hashed = new Sha256Stream(_file);
        Append(Header(Shape));
    }

    public string Path { get; }
    public long[] Shape { get; }

    /// <summary>The preamble and header of a '&lt;f4' C-order array of <paramref name="shape"/>, padded to a multiple of 64 bytes.</summary>
    public static byte[] Header(IReadOnlyList<long> shape)
    {
        var dims = shape.Count == 1
            ? shape[0].ToString(CultureInfo.InvariantCulture) + ","
            : string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
        var dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}";
        foreach (var (major, prefix) in new[] { (1, 10), (2, 12) })
        {
            var unpadded = prefix + dict.Length + 1;               // + the closing newline
            var total = (unpadded + 63) / 64 * 64;
            var headerLength = total - prefix;
            if (major == 1 && headerLength > ushort.MaxValue) continue;
            var bytes = new byte[total];
            Magic.CopyTo(bytes);
            bytes[6] = (byte)major;
            bytes[7] = 0;
            if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)headerLength);
            else BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)headerLength);
            var text = dict.PadRight(headerLength - 1) + "\n";
            Encoding.ASCII.GetBytes(text, bytes.AsSpan(prefix));
            return bytes;
        }
        throw new ArgumentException("the .npy header is too large", nameof(shape));
    }

    /// <summary>Appends values in row-major order.</summary>
    public void Write(ReadOnlySpan<float> values)
    {
        if (_written + values.Length > _expected)
            throw new InvalidOperationException($"{Path}: {_written + values.Length} values written; the shape ({string.Join(", ", Shape)}) holds {_expected}");
        Append(MemoryMarshal.AsBytes(values));
        _written += values.Length;
    }

    /// <summary>Flushes to disk and returns the file's size and sha256; throws unless every value was written.</summary>
    public (long Bytes, string Sha256) Complete()
    {
        if (_written != _expected)
            throw new InvalidOperationException($"{Path}: {_written} values written; the shape ({string.Join(", ", Shape)}) holds {_expected}");
        _file.Flush(flushToDisk: true);
        return (_file.Length, _hashed.Finish());
    }

    private void Append(ReadOnlySpan<byte> bytes) => _hashed.Write(bytes);

    public void Dispose()
    {
        _hashed.Dispose();
        _file.Dispose();
    }
}
