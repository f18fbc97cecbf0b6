using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace UniCode.Data.Npy;

/// <summary>
/// A <c>.npy</c> file (format versions 1.0, 2.0, 3.0) of dtype '&lt;f4' or '&lt;f8' in C order, read a
/// leading-index row at a time by file offset (never loaded whole).
/// </summary>
internal sealed class NpyFile : IDisposable
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    private readonly SafeFileHandle _handle;

    private NpyFile(string path, SafeFileHandle handle, string descr, long[] shape, long dataOffset)
    {
        Path = path;
        _handle = handle;
        Descr = descr;
        Shape = shape;
        DataOffset = dataOffset;
        ItemSize = descr == "<f4" ? 4 : 8;
    }

    public string Path { get; }
    public string Descr { get; }
    public long[] Shape { get; }
    public long DataOffset { get; }
    public int ItemSize { get; }
    public long RowLength => Shape.Skip(1).Aggregate(1L, (a, b) => a * b);

    public static NpyFile Open(string path)
    {
        if (!File.Exists(path)) throw new DatasetFormatException(path, "file not found; expected a .npy array ('<f4' or '<f8', C order)");
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            var length = RandomAccess.GetLength(handle);
            Span<byte> prefix = stackalloc byte[12];
            var got = RandomAccess.Read(handle, prefix, 0);
            if (got < 10 || !prefix[..6].SequenceEqual(Magic))
                throw new DatasetFormatException(path, "has no .npy magic (\\x93NUMPY); expected a .npy file");
            int major = prefix[6], minor = prefix[7];
            long headerLength, headerStart;
            switch (major)
            {
                case 1:
                    headerLength = BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..10]);
                    headerStart = 10;
                    break;
                case 2 or 3:
                    if (got < 12) throw new DatasetFormatException(path, "is truncated inside the .npy preamble");
                    headerLength = BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..12]);
                    headerStart = 12;
                    break;
                default:
                    throw new DatasetFormatException(path, $"has .npy format version {major}.{minor}; expected 1.0, 2.0 or 3.0");
            }
            if (headerLength > 1 << 20 || headerStart + headerLength > length)
                throw new DatasetFormatException(path, $"header of {headerLength} bytes runs past the end of the file ({length} bytes); the file is truncated");
            var headerBytes = new byte[headerLength];
            RandomAccess.Read(handle, headerBytes, headerStart);
            var header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);
            var dict = HeaderParser.Parse(path, header);
            if (!dict.TryGetValue("descr", out var d) || d is not string descr)
                throw new DatasetFormatException(path, "header has no 'descr' string; expected e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (N, 10, 128)}");
            if (!dict.TryGetValue("fortran_order", out var f) || f is not bool fortran)
                throw new DatasetFormatException(path, "header has no 'fortran_order' boolean");
            if (!dict.TryGetValue("shape", out var s) || s is not long[] shape)
                throw new DatasetFormatException(path, "header has no 'shape' tuple");
            if (descr is not ("<f4" or "<f8"))
                throw new DatasetFormatException(path, $"has dtype '{descr}'; expected '<f4' or '<f8' (little-endian float32/float64)");
            if (fortran && shape.Count(x => x > 1) > 1)
                throw new DatasetFormatException(path, $"is in Fortran order (fortran_order: True); expected a C-order array (numpy.ascontiguousarray before saving)");
            var dataOffset = headerStart + headerLength;
            var file = new NpyFile(path, handle, descr, shape, dataOffset);
            var needed = shape.Aggregate(1L, (a, b) => a * b) * file.ItemSize;
            if (length - dataOffset < needed)
                throw new DatasetFormatException(path,
                    $"holds {length - dataOffset} data bytes; expected {needed} for shape {FloatChecks.Shape(shape)} of '{descr}' (the file is truncated)");
            return file;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Reads row <paramref name="index"/> as float32.</summary>
    public void ReadRow(long index, Span<float> destination)
    {
        var offset = DataOffset + index * RowLength * ItemSize;
        if (ItemSize == 4)
        {
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("'<f4' rows are read in place on little-endian hosts only");
            Fill(MemoryMarshal.AsBytes(destination), offset);
            return;
        }
        var buffer = new byte[destination.Length * 8];
        Fill(buffer, offset);
        for (var i = 0; i < destination.Length; i++)
            destination[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(buffer.AsSpan(i * 8, 8));
    }

    private void Fill(Span<byte> target, long offset)
    {
        var done = 0;
        while (done < target.Length)
        {
            var n = RandomAccess.Read(_handle, target[done..], offset + done);
            if (n == 0) throw new DatasetFormatException(Path, $"ends at byte {offset + done}; expected {target.Length - done} more bytes (the file is truncated)");
            done += n;
        }
    }

    public void Dispose() => _handle.Dispose();

    /// <summary>The Python dict literal of a .npy header: str keys; str, bool, int-tuple values.</summary>
    private static class HeaderParser
    {
        public static Dictionary<string, object> Parse(string path, string text)
        {
            var i = 0;
            var result = new Dictionary<string, object>(StringComparer.Ordinal);
            Skip(text, ref i);
            Expect(path, text, ref i, '{');
            while (true)
            {
                Skip(text, ref i);
                if (Peek(text, i) == '}') break;
                var key = String(path, text, ref i);
                Skip(text, ref i);
                Expect(path, text, ref i, ':');
                Skip(text, ref i);
                result[key] = Value(path, text, ref i);
                Skip(text, ref i);
                if (Peek(text, i) == ',') i++;
                else if (Peek(text, i) != '}') throw Bad(path, text, i);
            }
            return result;
        }

        private static object Value(string path, string text, ref int i)
        {
            var c = Peek(text, i);
            if (c is '\'' or '"') return String(path, text, ref i);
            if (text.AsSpan(i).StartsWith("True")) { i += 4; return true; }
            if (text.AsSpan(i).StartsWith("False")) { i += 5; return false; }
            if (c != '(') throw Bad(path, text, i);
            i++;
            var dims = new List<long>();
            while (true)
            {
                Skip(text, ref i);
                if (Peek(text, i) == ')') { i++; break; }
                var start = i;
                while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
                if (start == i || !long.TryParse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out var dim))
                    throw Bad(path, text, start);
                if (Peek(text, i) == 'L') i++; // Python 2 long suffix
                dims.Add(dim);
                Skip(text, ref i);
                if (Peek(text, i) == ',') i++;
                else if (Peek(text, i) != ')') throw Bad(path, text, i);
            }
            return dims.ToArray();
        }

        private static string String(string path, string text, ref int i)
        {
            var quote = Peek(text, i);
            if (quote is not ('\'' or '"')) throw Bad(path, text, i);
            var end = text.IndexOf(quote, i + 1);
            if (end < 0) throw Bad(path, text, i);
            var s = text[(i + 1)..end];
            i = end + 1;
            return s;
        }

        private static void Skip(string text, ref int i)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
        }

        private static char Peek(string text, int i) => i < text.Length ? text[i] : '\0';

        private static void Expect(string path, string text, ref int i, char c)
        {
            if (Peek(text, i) != c) throw Bad(path, text, i);
            i++;
        }

        private static DatasetFormatException Bad(string path, string text, int at) =>
            new(path, $"has a malformed header at character {at} ({text.Trim()}); expected a dict like {{'descr': '<f4', 'fortran_order': False, 'shape': (N, 10, 128), }}");
    }
}
