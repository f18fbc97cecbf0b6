using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace UniCode.Experiments.Analysis;

/// <summary>
/// A minimal PNG writer (RFC 2083 / ISO 15948) with no native dependencies: 8-bit RGBA, no interlace,
/// every scanline with filter 0, one zlib-compressed IDAT chunk; chunks IHDR, IDAT, IEND, each with its CRC-32.
/// </summary>
public static class PngEncoder
{
    /// <summary>The eight bytes every PNG file starts with.</summary>
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Encodes <paramref name="rgba"/> (row-major, 4 bytes per pixel, <paramref name="width"/>·<paramref name="height"/>·4 bytes).</summary>
    public static byte[] Encode(int width, int height, ReadOnlySpan<byte> rgba)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"png: image is {width}×{height}; expected at least 1×1");
        if (rgba.Length != checked(width * height * 4))
            throw new ArgumentException($"png: pixel buffer has {rgba.Length} bytes; expected width·height·4 = {width * height * 4}", nameof(rgba));
        using var png = new MemoryStream();
        png.Write(Signature);

        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = 8;    // bit depth
        ihdr[9] = 6;    // colour type: truecolour with alpha
        ihdr[10] = 0;   // compression: deflate
        ihdr[11] = 0;   // filter method 0
        ihdr[12] = 0;   // no interlace
        WriteChunk(png, "IHDR", ihdr);

        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
        {
            var stride = width * 4;
            for (var y = 0; y < height; y++)
            {
                z.WriteByte(0);   // filter type None
                z.Write(rgba.Slice(y * stride, stride));
            }
        }
        WriteChunk(png, "IDAT", raw.GetBuffer().AsSpan(0, (int)raw.Length));
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void WriteChunk(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        s.Write(word);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        s.Write(typeBytes);
        s.Write(data);
        // The CRC covers the chunk type and data, not the length.
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Update(Crc32.Update(Crc32.Initial, typeBytes), data) ^ Crc32.Initial);
        s.Write(word);
    }

    /// <summary>CRC-32 as PNG (and zlib's crc32, IEEE 802.3) define it: reflected polynomial 0xEDB88320.</summary>
    public static class Crc32
    {
        internal const uint Initial = 0xFFFFFFFF;

        private static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
        {
            var c = (uint)n;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            return c;
        }).ToArray();

        /// <summary>The CRC-32 of <paramref name="bytes"/> (e.g. 0xCBF43926 for ASCII "123456789").</summary>
        public static uint Compute(ReadOnlySpan<byte> bytes) => Update(Initial, bytes) ^ Initial;

        internal static uint Update(uint crc, ReadOnlySpan<byte> bytes)
        {
            foreach (var b in bytes) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            return crc;
        }
    }
}
