using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using PureHDF;

namespace UniCode.Testing;

/// <summary>A temp directory removed after the test.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "unicode-data-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

public static class TestFiles
{
    /// <summary>Writes an HDF5 file with one dataset (any PureHDF-serialisable array, shaped by dims).</summary>
    public static void WriteH5(string path, string key, Array data, params ulong[] dims) =>
        new H5File { [key] = new H5Dataset(data, fileDims: dims) }.Write(path);

    /// <summary>Values v[i] = scale·i + offset, float32.</summary>
    public static float[] Ramp(int n, float scale = 1f, float offset = 0f) =>
        Enumerable.Range(0, n).Select(i => scale * i + offset).ToArray();

    /// <summary>One-hot labels [n,T,C+1]: clip i has class classes[i] on segments [onset[i], onset[i]+len[i]), background elsewhere.</summary>
    public static float[] Labels(int segments, int classes, params (int Class, int Onset, int Length)[] clips)
    {
        var width = classes + 1;
        var labels = new float[clips.Length * segments * width];
        for (var i = 0; i < clips.Length; i++)
            for (var t = 0; t < segments; t++)
            {
                var fg = t >= clips[i].Onset && t < clips[i].Onset + clips[i].Length;
                labels[(i * segments + t) * width + (fg ? clips[i].Class : classes)] = 1f;
            }
        return labels;
    }

    /// <summary>A zip holding one member (the reference's per-video feature file).</summary>
    public static void WriteZip(string path, string member, byte[] content)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.Delete(path);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        using var stream = zip.CreateEntry(member).Open();
        stream.Write(content);
    }

    /// <summary>An .npy file, format 1.0 (or 2.0 with a 4-byte header length), little-endian, C order.</summary>
    public static void WriteNpy(string path, string descr, long[] shape, byte[] data, int version = 1, bool fortran = false)
    {
        var shapeText = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        var dict = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shapeText}, }}";
        var prefix = version == 1 ? 10 : 12;
        var total = (prefix + dict.Length + 1 + 63) / 64 * 64; // numpy pads the header to a multiple of 64 with spaces and a newline
        var header = dict.PadRight(total - prefix - 1) + "\n";
        using var stream = File.Create(path);
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y']);
        stream.WriteByte((byte)version);
        stream.WriteByte(0);
        if (version == 1)
        {
            var len = new byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
            stream.Write(len);
        }
        else
        {
            var len = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)header.Length);
            stream.Write(len);
        }
        stream.Write(Encoding.Latin1.GetBytes(header));
        stream.Write(data);
    }

    public static byte[] F4(float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return bytes;
    }

    public static byte[] F8(float[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), values[i]);
        return bytes;
    }
}

/// <summary>
/// Emits the bytes CPython's C pickler writes for <c>pickle.dumps(a, protocol)</c> of a C-contiguous numpy 1.x
/// float32 array <c>a</c> (ndarray.__reduce__ → numpy.core.multiarray._reconstruct + __setstate__ with
/// state (1, shape, dtype('float32'), False, rawdata)). Protocol 2 writes bytes objects as
/// <c>_codecs.encode(latin1-decoded str, 'latin1')</c> (the second use of <c>_codecs.encode</c> and of 'latin1'
/// are memo GETs); protocol 3 writes SHORT_BINBYTES/BINBYTES. Every memoised object gets the next BINPUT slot.
/// <see cref="NumpyPickleTests"/> checks this emitter against a literal dump.
/// </summary>
public sealed class NumpyPickleEmitter
{
    private readonly List<byte> _out = [];
    private int _memo;

    public static byte[] Float32(float[] data, long[] shape, int protocol = 2)
    {
        if (data.Length != shape.Aggregate(1L, (a, b) => a * b)) throw new ArgumentException("shape/data mismatch");
        var e = new NumpyPickleEmitter();
        return e.Emit(TestFiles.F4(data), shape, protocol);
    }

    private byte[] Emit(byte[] raw, long[] shape, int protocol)
    {
        Op(0x80); Op((byte)protocol);
        Global("numpy.core.multiarray", "_reconstruct"); Put();
        Global("numpy", "ndarray"); Put();
        Int(0); Op(0x85); Put();                                    // (0,)
        int codecs = -1, latin1 = -1;
        if (protocol == 2)
        {
            Global("_codecs", "encode"); codecs = Put();
            Unicode("b"); Put();
            Unicode("latin1"); latin1 = Put();
            Op(0x86); Put(); Op((byte)'R'); Put();                 // b'b' = _codecs.encode('b', 'latin1')
        }
        else
        {
            Bytes([(byte)'b']); Put();
        }
        Op(0x87); Put();                                            // (ndarray, (0,), b'b')
        Op((byte)'R'); Put();                                       // the array
        Op((byte)'(');                                              // state tuple (5 items → MARK … TUPLE)
        Int(1);
        Tuple(shape);
        Global("numpy", "dtype"); Put();
        Unicode("f4"); Put(); Op(0x89); Op(0x88); Op(0x87); Put(); // ('f4', False, True)
        Op((byte)'R'); Put();
        Op((byte)'('); Int(3); Unicode("<"); Put(); Op((byte)'N'); Op((byte)'N'); Op((byte)'N');
        Int(-1); Int(-1); Int(0); Op((byte)'t'); Put(); Op((byte)'b'); // dtype state (3,'<',None,None,None,-1,-1,0)
        Op(0x89);                                                   // fortran = False
        if (protocol == 2)
        {
            Get(codecs);
            Unicode(Encoding.Latin1.GetString(raw)); Put();
            Get(latin1);
            Op(0x86); Put(); Op((byte)'R'); Put();
        }
        else
        {
            Bytes(raw); Put();
        }
        Op((byte)'t'); Put(); Op((byte)'b'); Op((byte)'.');
        return _out.ToArray();
    }

    private void Op(byte b) => _out.Add(b);

    private void Global(string module, string name)
    {
        Op((byte)'c');
        _out.AddRange(Encoding.ASCII.GetBytes(module + "\n" + name + "\n"));
    }

    private int Put()
    {
        var slot = _memo++;
        Op((byte)'q');
        Op((byte)slot);
        return slot;
    }

    private void Get(int slot)
    {
        Op((byte)'h');
        Op((byte)slot);
    }

    private void Int(long v)
    {
        if (v is >= 0 and <= 0xFF) { Op((byte)'K'); Op((byte)v); }
        else if (v is >= 0 and <= 0xFFFF) { Op((byte)'M'); Op((byte)v); Op((byte)(v >> 8)); }
        else { Op((byte)'J'); var b = new byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, (int)v); _out.AddRange(b); }
    }

    private void Unicode(string s)
    {
        var utf8 = Encoding.UTF8.GetBytes(s);
        Op((byte)'X');
        var len = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)utf8.Length);
        _out.AddRange(len);
        _out.AddRange(utf8);
    }

    private void Bytes(byte[] b)
    {
        if (b.Length < 256) { Op((byte)'C'); Op((byte)b.Length); }
        else { Op((byte)'B'); var len = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)b.Length); _out.AddRange(len); }
        _out.AddRange(b);
    }

    private void Tuple(long[] items)
    {
        if (items.Length is >= 1 and <= 3)
        {
            foreach (var i in items) Int(i);
            Op((byte)(0x84 + items.Length)); // TUPLE1..3
        }
        else
        {
            Op((byte)'(');
            foreach (var i in items) Int(i);
            Op((byte)'t');
        }
        Put();
    }
}
