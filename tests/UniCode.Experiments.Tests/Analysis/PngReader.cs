using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace UniCode.Experiments.Tests.Analysis;

/// <summary>
/// A test-side PNG reader, independent of the writer: checks the signature, every chunk's CRC (bitwise
/// CRC-32, no table), reads IHDR and inflates the concatenated IDAT data.
/// </summary>
internal sealed record PngImage(int Width, int Height, byte BitDepth, byte ColourType, byte Compression, byte Filter, byte Interlace,
    IReadOnlyList<string> ChunkTypes, byte[] Inflated)
{
    /// <summary>The pixel at (x, y) of an RGBA8 image whose scanlines all use filter 0.</summary>
    public (byte R, byte G, byte B, byte A) Pixel(int x, int y)
    {
        var i = y * (1 + Width * 4) + 1 + x * 4;
        return (Inflated[i], Inflated[i + 1], Inflated[i + 2], Inflated[i + 3]);
    }

    public static uint BitwiseCrc(ReadOnlySpan<byte> bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }

    public static PngImage Read(byte[] png)
    {
        byte[] signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        Assert.Equal(signature, png[..8]);
        var pos = 8;
        var types = new List<string>();
        byte[]? ihdr = null;
        using var idat = new MemoryStream();
        while (pos < png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            var type = Encoding.ASCII.GetString(png, pos + 4, 4);
            var data = png.AsSpan(pos + 8, length);
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + length));
            Assert.Equal(BitwiseCrc(png.AsSpan(pos + 4, 4 + length)), crc);
            types.Add(type);
            if (type == "IHDR") ihdr = data.ToArray();
            if (type == "IDAT") idat.Write(data);
            pos += 12 + length;
        }
        Assert.Equal(png.Length, pos);
        Assert.NotNull(ihdr);
        Assert.Equal(13, ihdr.Length);
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        using var inflated = new MemoryStream();
        z.CopyTo(inflated);
        return new PngImage(
            BinaryPrimitives.ReadInt32BigEndian(ihdr), BinaryPrimitives.ReadInt32BigEndian(ihdr.AsSpan(4)),
            ihdr[8], ihdr[9], ihdr[10], ihdr[11], ihdr[12], types, inflated.ToArray());
    }
}
