using System.Text;
using UniCode.Data.Pickle;

namespace UniCode.Data.Tests;

public sealed class NumpyPickleTests
{
    /// <summary>
    /// <c>pickle.dumps(numpy.array([1.0, 2.0], dtype=numpy.float32), protocol=2)</c> under CPython 3 / numpy 1.x,
    /// written out opcode by opcode (BINPUT slots in brackets):
    /// PROTO 2; GLOBAL numpy.core.multiarray _reconstruct [0]; GLOBAL numpy ndarray [1]; BININT1 0, TUPLE1 [2];
    /// GLOBAL _codecs encode [3]; BINUNICODE 'b' [4]; BINUNICODE 'latin1' [5]; TUPLE2 [6]; REDUCE [7] (= b'b');
    /// TUPLE3 [8]; REDUCE [9] (the array); MARK; BININT1 1; BININT1 2, TUPLE1 [10] (shape);
    /// GLOBAL numpy dtype [11]; BINUNICODE 'f4' [12]; NEWFALSE; NEWTRUE; TUPLE3 [13]; REDUCE [14];
    /// MARK BININT1 3, BINUNICODE '&lt;' [15], NONE×3, BININT −1, BININT −1, BININT1 0, TUPLE [16]; BUILD (dtype state);
    /// NEWFALSE (fortran); BINGET 3 (_codecs.encode); BINUNICODE of the 8 data bytes decoded as latin1, so 0x80 is
    /// UTF-8 C2 80 (9 bytes) [17]; BINGET 5 ('latin1'); TUPLE2 [18]; REDUCE [19]; TUPLE [20]; BUILD; STOP.
    /// </summary>
    private static readonly byte[] NumpyProtocol2OneTwo =
    [
        0x80, 0x02,
        .. "cnumpy.core.multiarray\n_reconstruct\nq\x00"u8,
        .. "cnumpy\nndarray\nq\x01"u8,
        (byte)'K', 0x00, 0x85, (byte)'q', 0x02,
        .. "c_codecs\nencode\nq\x03"u8,
        (byte)'X', 1, 0, 0, 0, (byte)'b', (byte)'q', 0x04,
        (byte)'X', 6, 0, 0, 0, .. "latin1"u8, (byte)'q', 0x05,
        0x86, (byte)'q', 0x06, (byte)'R', (byte)'q', 0x07,
        0x87, (byte)'q', 0x08, (byte)'R', (byte)'q', 0x09,
        (byte)'(', (byte)'K', 0x01, (byte)'K', 0x02, 0x85, (byte)'q', 0x0A,
        .. "cnumpy\ndtype\nq\x0b"u8,
        (byte)'X', 2, 0, 0, 0, (byte)'f', (byte)'4', (byte)'q', 0x0C, 0x89, 0x88, 0x87, (byte)'q', 0x0D, (byte)'R', (byte)'q', 0x0E,
        (byte)'(', (byte)'K', 0x03, (byte)'X', 1, 0, 0, 0, (byte)'<', (byte)'q', 0x0F, (byte)'N', (byte)'N', (byte)'N',
        (byte)'J', 0xFF, 0xFF, 0xFF, 0xFF, (byte)'J', 0xFF, 0xFF, 0xFF, 0xFF, (byte)'K', 0x00, (byte)'t', (byte)'q', 0x10, (byte)'b',
        0x89,
        (byte)'h', 0x03,
        (byte)'X', 9, 0, 0, 0, 0x00, 0x00, 0xC2, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40, (byte)'q', 0x11, // 1.0f, 2.0f little-endian
        (byte)'h', 0x05, 0x86, (byte)'q', 0x12, (byte)'R', (byte)'q', 0x13,
        (byte)'t', (byte)'q', 0x14, (byte)'b', (byte)'.',
    ];

    [Fact]
    public void ReadsTheLiteralNumpyProtocol2Dump()
    {
        var array = NumpyPickle.Load(NumpyProtocol2OneTwo, "x.zip", "member 'x.pkl'");
        Assert.Equal("f4", array.DType);
        Assert.Equal('<', array.ByteOrder);
        Assert.Equal([2L], array.Shape);
        Assert.Equal([1f, 2f], array.ToSingle("x"));
    }

    [Fact]
    public void EmitterReproducesTheLiteralDump()
    {
        // the emitter used by the other tests writes exactly what numpy writes
        Assert.Equal(NumpyProtocol2OneTwo, NumpyPickleEmitter.Float32([1f, 2f], [2]));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void RoundTripsMultiDimensionalArrays(int protocol)
    {
        // 4-D shape (MARK … TUPLE), byte values above 0x7F (multi-byte UTF-8 in protocol 2), > 255 bytes (BINBYTES in protocol 3)
        var data = TestFiles.Ramp(2 * 3 * 4 * 5, 0.37f, -11f);
        var array = NumpyPickle.Load(NumpyPickleEmitter.Float32(data, [2, 3, 4, 5], protocol), "f", "m");
        Assert.Equal([2L, 3, 4, 5], array.Shape);
        Assert.Equal(data, array.ToSingle("f"));
    }

    [Fact]
    public void ReadsProtocol5FromBufferWithFrames()
    {
        // numpy ≥ 1.16, protocol 5: numpy.core.numeric._frombuffer(bytearray8, dtype, shape, 'C'), memoised with MEMOIZE
        var raw = TestFiles.F4([0.5f, -1.5f, 3f]);
        var body = new List<byte>();
        void Short(string s) { body.Add(0x8C); body.Add((byte)s.Length); body.AddRange(Encoding.ASCII.GetBytes(s)); body.Add(0x94); }
        Short("numpy.core.numeric"); Short("_frombuffer"); body.AddRange([0x93, 0x94, (byte)'(']);
        body.Add(0x96); body.AddRange(BitConverter.GetBytes((ulong)raw.Length)); body.AddRange(raw); body.Add(0x94);
        Short("numpy"); Short("dtype"); body.AddRange([0x93, 0x94]);
        Short("f4"); body.AddRange([0x89, 0x88, 0x87, 0x94, (byte)'R', 0x94, (byte)'(', (byte)'K', 3]);
        Short("<"); body.AddRange([(byte)'N', (byte)'N', (byte)'N', (byte)'J', 0xFF, 0xFF, 0xFF, 0xFF, (byte)'J', 0xFF, 0xFF, 0xFF, 0xFF, (byte)'K', 0, (byte)'t', 0x94, (byte)'b']);
        body.AddRange([(byte)'K', 3, 0x85, 0x94]);
        Short("C"); body.AddRange([(byte)'t', 0x94, (byte)'R', 0x94, (byte)'.']);
        byte[] pickle = [0x80, 0x05, 0x95, .. BitConverter.GetBytes((ulong)body.Count), .. body];

        var array = NumpyPickle.Load(pickle, "f", "m");
        Assert.Equal([3L], array.Shape);
        Assert.Equal([0.5f, -1.5f, 3f], array.ToSingle("f"));
    }

    [Fact]
    public void ReadsPython2StringsAndFloat64()
    {
        // Python 2 / numpy 1.x protocol 2: str objects are SHORT_BINSTRING, no _codecs; dtype f8
        var raw = TestFiles.F8([2.25f, -4f]);
        byte[] pickle =
        [
            0x80, 0x02, .. "cnumpy.core.multiarray\n_reconstruct\nq\x01"u8, .. "cnumpy\nndarray\nq\x02"u8,
            (byte)'K', 0, 0x85, (byte)'U', 1, (byte)'b', 0x87, (byte)'R', (byte)'q', 3,
            (byte)'(', (byte)'K', 1, (byte)'K', 2, 0x85, .. "cnumpy\ndtype\nq\x04"u8, (byte)'U', 2, (byte)'f', (byte)'8', (byte)'K', 0, (byte)'K', 1, 0x87, (byte)'R',
            (byte)'(', (byte)'K', 3, (byte)'U', 1, (byte)'<', (byte)'N', (byte)'N', (byte)'N', (byte)'J', 0xFF, 0xFF, 0xFF, 0xFF, (byte)'J', 0xFF, 0xFF, 0xFF, 0xFF, (byte)'K', 0, (byte)'t', (byte)'b',
            0x89, (byte)'U', (byte)raw.Length, .. raw, (byte)'t', (byte)'b', (byte)'.',
        ];
        var array = NumpyPickle.Load(pickle, "f", "m");
        Assert.Equal("f8", array.DType);
        Assert.Equal([2.25f, -4f], array.ToSingle("f"));
    }

    [Fact]
    public void RejectsAnyOtherGlobalNamingFileAndGlobal()
    {
        // the classic exploit: os.system('echo pwned')
        byte[] pickle = [0x80, 0x02, .. "cposix\nsystem\nq\x00"u8, (byte)'X', 10, 0, 0, 0, .. "echo pwned"u8, 0x85, (byte)'R', (byte)'.'];
        var e = Assert.Throws<DatasetFormatException>(() => NumpyPickle.Load(pickle, "/d/audio/zip/abc.zip", "member 'abc.pkl'"));
        Assert.StartsWith("/d/audio/zip/abc.zip: member 'abc.pkl' references global 'posix.system'; only numpy ndarray pickles are accepted", e.Message);
    }

    [Fact]
    public void RejectsStackGlobalOutsideTheList()
    {
        byte[] pickle = [0x80, 0x04, 0x8C, 8, .. "builtins"u8, 0x94, 0x8C, 4, .. "eval"u8, 0x94, 0x93, (byte)'.'];
        var e = Assert.Throws<DatasetFormatException>(() => NumpyPickle.Load(pickle, "f.zip", "member 'f.pkl'"));
        Assert.Contains("references global 'builtins.eval'", e.Message);
    }

    [Fact]
    public void RejectsAPickleThatIsNotAnArray()
    {
        // pickle.dumps({'a': 1}, protocol=2)
        byte[] pickle = [0x80, 0x02, (byte)'}', (byte)'q', 0, (byte)'X', 1, 0, 0, 0, (byte)'a', (byte)'q', 1, (byte)'K', 1, (byte)'s', (byte)'.'];
        var e = Assert.Throws<DatasetFormatException>(() => NumpyPickle.Load(pickle, "f.zip", "member 'f.pkl'"));
        Assert.Equal("f.zip: member 'f.pkl' holds a dict of 1; expected a numpy ndarray", e.Message);
    }

    [Fact]
    public void RejectsObjectBuildingOpcodes()
    {
        byte[] pickle = [0x80, 0x02, .. "cnumpy\nndarray\n"u8, (byte)')', 0x81, (byte)'.'];
        var e = Assert.Throws<DatasetFormatException>(() => NumpyPickle.Load(pickle, "f", "m"));
        Assert.Contains("unsupported pickle opcode 0x81 (NEWOBJ)", e.Message);
    }

    [Fact]
    public void RejectsProtocolZeroAndTruncation()
    {
        var p0 = Assert.Throws<DatasetFormatException>(() => NumpyPickle.Load("cnumpy\nndarray\n."u8, "f", "m"));
        Assert.Contains("is not a protocol 2–5 pickle", p0.Message);
        var full = NumpyPickleEmitter.Float32([1f, 2f, 3f], [3]);
        var cut = Assert.Throws<DatasetFormatException>(() => NumpyPickle.Load(full.AsSpan(0, full.Length - 20), "f", "m"));
        Assert.Contains("is truncated", cut.Message);
    }

    [Fact]
    public void RejectsObjectDtypes()
    {
        // same structure as a float array, dtype 'O8' with list data (an object array)
        var pickle = NumpyPickleEmitter.Float32([1f], [1]);
        var at = pickle.AsSpan().IndexOf((ReadOnlySpan<byte>)[(byte)'X', 2, 0, 0, 0, (byte)'f', (byte)'4']);
        Assert.True(at > 0);
        pickle[at + 5] = (byte)'O';
        pickle[at + 6] = (byte)'8';
        var e = Assert.Throws<DatasetFormatException>(() => NumpyPickle.Load(pickle, "f", "m").ToSingle("f: m"));
        Assert.Contains("dtype 'O8'; expected a numeric dtype", e.Message);
    }
}
