using System.Buffers.Binary;
using System.Text;

namespace UniCode.Data.Pickle;

/// <summary>
/// A safe, minimal pickle reader that accepts exactly one thing: a numpy ndarray of a numeric dtype, as
/// <c>pickle.dump(array)</c> writes it with protocol 2–5 from Python 2 or 3 and numpy 1.x or 2.x
/// (<c>numpy.core.multiarray._reconstruct</c> + ndarray <c>__setstate__</c>; protocol 5's
/// <c>numpy.core.numeric._frombuffer</c>; raw bytes as protocol-2 <c>_codecs.encode(str, 'latin1')</c>,
/// Python-2 strings, or (short) binbytes/bytearray8). Nothing is ever imported or executed: globals are
/// matched against a fixed list (<see cref="AllowedGlobals"/>) and any other global, any object-building opcode
/// (INST, OBJ, NEWOBJ, persistent ids, extensions, out-of-band buffers) and any result that is not an
/// ndarray is rejected with a <see cref="DatasetFormatException"/> naming the file and what was found.
/// </summary>
public static class NumpyPickle
{
    private enum Callable { Reconstruct, NdArrayType, DTypeType, FromBuffer, CodecsEncode, Bytes }

    private static readonly Dictionary<(string Module, string Name), Callable> Globals = new()
    {
        [("numpy.core.multiarray", "_reconstruct")] = Callable.Reconstruct,
        [("numpy._core.multiarray", "_reconstruct")] = Callable.Reconstruct,
        [("numpy", "ndarray")] = Callable.NdArrayType,
        [("numpy", "dtype")] = Callable.DTypeType,
        [("numpy.core.numeric", "_frombuffer")] = Callable.FromBuffer,
        [("numpy._core.numeric", "_frombuffer")] = Callable.FromBuffer,
        [("_codecs", "encode")] = Callable.CodecsEncode,
        [("builtins", "bytes")] = Callable.Bytes,
        [("__builtin__", "bytes")] = Callable.Bytes,
    };

    /// <summary>The globals a pickle may reference, as "module.name".</summary>
    public static IReadOnlyList<string> AllowedGlobals { get; } = Globals.Keys.Select(k => $"{k.Module}.{k.Name}").ToArray();

    /// <summary>Parses <paramref name="pickle"/>; errors read "<paramref name="file"/>: <paramref name="field"/> …".</summary>
    public static NumpyArray Load(ReadOnlySpan<byte> pickle, string file, string field) =>
        new Machine(file, field).Run(pickle);

    // ------------------------------------------------------------------ the values a numpy pickle can build

    private sealed class MarkObject
    {
        public static readonly MarkObject Instance = new();
    }

    private sealed record GlobalRef(string Module, string Name, Callable Kind);

    private sealed record PyTuple(object?[] Items);

    /// <summary>A Python 2 str (SHORT_BINSTRING/BINSTRING): bytes that may stand for text.</summary>
    private sealed record LegacyString(byte[] Bytes);

    private sealed class DTypeObject(string code)
    {
        public string Code { get; } = code;
        public char Order { get; set; } = '|';
    }

    private sealed class ArrayObject
    {
        public long[]? Shape;
        public DTypeObject? DType;
        public bool Fortran;
        public byte[]? Data;
    }

    private ref struct Machine(string file, string field)
    {
        private readonly List<object?> _stack = [];
        private readonly List<int> _marks = [];
        private readonly Dictionary<long, object?> _memo = [];
        private ReadOnlySpan<byte> _data;
        private int _pos;

        public NumpyArray Run(ReadOnlySpan<byte> data)
        {
            _data = data;
            _pos = 0;
            if (data.Length == 0 || data[0] != 0x80)
                throw Fail(data.Length == 0
                    ? "is empty; expected a pickled numpy ndarray"
                    : "is not a protocol 2–5 pickle (no PROTO opcode at byte 0); expected a pickled numpy ndarray");
            while (true)
            {
                var at = _pos;
                var op = Byte();
                switch (op)
                {
                    case 0x80: // PROTO
                        var proto = Byte();
                        if (proto is < 2 or > 5) throw Fail($"uses pickle protocol {proto}; expected protocol 2–5");
                        break;
                    case 0x95: Bytes(8); break; // FRAME: framing is transparent
                    case (byte)'.': // STOP
                        return Finish(Pop());
                    case (byte)'(': _marks.Add(_stack.Count); break;
                    case (byte)'N': _stack.Add(null); break;
                    case 0x88: _stack.Add(true); break;
                    case 0x89: _stack.Add(false); break;
                    case (byte)'J': _stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))); break;
                    case (byte)'K': _stack.Add((long)Byte()); break;
                    case (byte)'M': _stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2))); break;
                    case 0x8a: // LONG1
                        var n = Byte();
                        if (n > 8) throw Fail($"has an integer of {n} bytes at byte {at}; expected at most 8");
                        var raw = Bytes(n);
                        long value = 0;
                        for (var i = n - 1; i >= 0; i--) value = (value << 8) | raw[i];
                        if (n is > 0 and < 8 && (raw[n - 1] & 0x80) != 0) value -= 1L << (8 * n);
                        _stack.Add(value);
                        break;
                    case (byte)'G': _stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Bytes(8))); break;
                    case (byte)'X': _stack.Add(Encoding.UTF8.GetString(Bytes(Length32()))); break;
                    case 0x8c: _stack.Add(Encoding.UTF8.GetString(Bytes(Byte()))); break;
                    case 0x8d: _stack.Add(Encoding.UTF8.GetString(Bytes(Length64()))); break;
                    case (byte)'U': _stack.Add(new LegacyString(Bytes(Byte()).ToArray())); break;
                    case (byte)'T': _stack.Add(new LegacyString(Bytes(Length32()).ToArray())); break;
                    case (byte)'C': _stack.Add(Bytes(Byte()).ToArray()); break;
                    case (byte)'B': _stack.Add(Bytes(Length32()).ToArray()); break;
                    case 0x8e: _stack.Add(Bytes(Length64()).ToArray()); break; // BINBYTES8
                    case 0x96: _stack.Add(Bytes(Length64()).ToArray()); break; // BYTEARRAY8
                    case (byte)')': _stack.Add(new PyTuple([])); break;
                    case 0x85: _stack.Add(new PyTuple([Pop()])); break;
                    case 0x86: { var b = Pop(); var a = Pop(); _stack.Add(new PyTuple([a, b])); break; }
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); _stack.Add(new PyTuple([a, b, c])); break; }
                    case (byte)'t': _stack.Add(new PyTuple(PopMark().ToArray())); break;
                    case (byte)']': _stack.Add(new List<object?>()); break;
                    case (byte)'l': _stack.Add(PopMark()); break;
                    case (byte)'a': { var item = Pop(); ListAt(at).Add(item); break; }
                    case (byte)'e': { var items = PopMark(); ListAt(at).AddRange(items); break; }
                    case (byte)'}': _stack.Add(new List<KeyValuePair<object?, object?>>()); break;
                    case (byte)'d': _stack.Add(Pairs(PopMark(), at)); break;
                    case (byte)'s': { var v = Pop(); var k = Pop(); DictAt(at).Add(new(k, v)); break; }
                    case (byte)'u': { var items = PopMark(); DictAt(at).AddRange(Pairs(items, at)); break; }
                    case (byte)'c': // GLOBAL
                        var module = Line();
                        _stack.Add(Resolve(module, Line()));
                        break;
                    case 0x93: // STACK_GLOBAL
                        var name = Pop();
                        var mod = Pop();
                        if (mod is not string ms || name is not string ns)
                            throw Fail($"has STACK_GLOBAL on non-strings at byte {at}");
                        _stack.Add(Resolve(ms, ns));
                        break;
                    case (byte)'R': // REDUCE
                        var args = Pop();
                        var callable = Pop();
                        _stack.Add(Reduce(callable, args, at));
                        break;
                    case (byte)'b': // BUILD
                        var state = Pop();
                        Build(Top(), state, at);
                        break;
                    case (byte)'q': _memo[Byte()] = Top(); break;
                    case (byte)'r': _memo[Length32()] = Top(); break;
                    case 0x94: _memo[_memo.Count] = Top(); break;
                    case (byte)'h': _stack.Add(Get(Byte(), at)); break;
                    case (byte)'j': _stack.Add(Get(Length32(), at)); break;
                    case (byte)'0': Pop(); break;
                    case (byte)'1': PopMark(); break;
                    case (byte)'2': _stack.Add(Top()); break;
                    default:
                        throw Fail($"has unsupported pickle opcode 0x{op:x2} ({OpcodeName(op)}) at byte {at}; expected only the opcodes of a pickled numpy ndarray");
                }
            }
        }

        // -------------------------------------------------------------- building

        private readonly object Resolve(string module, string name)
        {
            if (Globals.TryGetValue((module, name), out var kind)) return new GlobalRef(module, name, kind);
            throw Fail($"references global '{module}.{name}'; only numpy ndarray pickles are accepted (allowed globals: {string.Join(", ", AllowedGlobals)})");
        }

        private readonly object Reduce(object? callable, object? args, int at)
        {
            if (callable is not GlobalRef g) throw Fail($"calls {Describe(callable)} at byte {at}; expected a numpy reconstructor");
            if (args is not PyTuple { Items: var a }) throw Fail($"calls '{g.Module}.{g.Name}' with {Describe(args)} at byte {at}; expected an argument tuple");
            switch (g.Kind)
            {
                case Callable.Reconstruct:
                    if (a.Length != 3 || a[0] is not GlobalRef { Kind: Callable.NdArrayType })
                        throw Fail($"calls '{g.Module}.{g.Name}' with ({string.Join(", ", a.Select(Describe))}) at byte {at}; expected (numpy.ndarray, shape, dtype code)");
                    return new ArrayObject();
                case Callable.DTypeType:
                    if (a.Length < 1 || AsText(a[0]) is not { } code)
                        throw Fail($"calls 'numpy.dtype' with ({string.Join(", ", a.Select(Describe))}) at byte {at}; expected a dtype code such as 'f4'");
                    return new DTypeObject(code);
                case Callable.FromBuffer:
                    if (a.Length != 4 || AsBytes(a[0]) is not { } buffer || a[1] is not DTypeObject dtype || a[2] is not PyTuple shape)
                        throw Fail($"calls '{g.Module}.{g.Name}' with ({string.Join(", ", a.Select(Describe))}) at byte {at}; expected (buffer, dtype, shape, order)");
                    return new ArrayObject { Data = buffer, DType = dtype, Shape = Shape(shape, at), Fortran = AsText(a[3]) == "F" };
                case Callable.CodecsEncode:
                    if (a.Length != 2 || a[0] is not string text || AsText(a[1]) is not ("latin1" or "latin-1" or "iso-8859-1" or "iso8859-1"))
                        throw Fail($"calls '_codecs.encode' with ({string.Join(", ", a.Select(Describe))}) at byte {at}; expected (str, 'latin1')");
                    var bytes = new byte[text.Length];
                    for (var i = 0; i < text.Length; i++)
                    {
                        if (text[i] > 0xFF) throw Fail($"has a non-latin1 character in '_codecs.encode' at byte {at}");
                        bytes[i] = (byte)text[i];
                    }
                    return bytes;
                case Callable.Bytes:
                    if (a.Length != 0) throw Fail($"calls 'bytes' with arguments at byte {at}; expected bytes()");
                    return Array.Empty<byte>();
                default:
                    throw Fail($"calls '{g.Module}.{g.Name}' at byte {at}; it is only allowed as an argument");
            }
        }

        private readonly void Build(object? target, object? state, int at)
        {
            switch (target)
            {
                case ArrayObject array when array.Data is null && state is PyTuple { Items: var s } && s.Length is 4 or 5:
                    var o = s.Length - 4; // version 1 states lead with the version number
                    if (s[o] is not PyTuple shape || s[o + 1] is not DTypeObject dtype || s[o + 2] is not bool fortran)
                        throw Fail($"sets ndarray state ({string.Join(", ", s.Select(Describe))}) at byte {at}; expected (version, shape, dtype, fortran, data)");
                    array.Shape = Shape(shape, at);
                    array.DType = dtype;
                    array.Fortran = fortran;
                    array.Data = AsBytes(s[o + 3])
                        ?? throw Fail($"holds ndarray data as {Describe(s[o + 3])} (dtype '{dtype.Code}') at byte {at}; expected raw bytes of a numeric dtype");
                    break;
                case DTypeObject descr when state is PyTuple { Items: var ds } && ds.Length >= 2:
                    if (AsText(ds[1]) is not { Length: 1 } order)
                        throw Fail($"sets dtype state with byte order {Describe(ds[1])} at byte {at}; expected '<', '>', '|' or '='");
                    if (ds.Length >= 5 && (ds[2] is not null || ds[3] is not null || ds[4] is not null))
                        throw Fail($"has a structured or sub-array dtype '{descr.Code}' at byte {at}; expected a plain numeric dtype");
                    descr.Order = order[0] == '=' ? (BitConverter.IsLittleEndian ? '<' : '>') : order[0];
                    break;
                default:
                    throw Fail($"sets state {Describe(state)} on {Describe(target)} at byte {at}; expected ndarray or dtype state");
            }
        }

        private readonly NumpyArray Finish(object? result)
        {
            if (result is ArrayObject { Data: { } data, DType: { } dtype, Shape: { } shape } array)
                return new NumpyArray(dtype.Code, dtype.Order, shape, array.Fortran, data);
            throw Fail($"holds {Describe(result)}; expected a numpy ndarray");
        }

        private readonly long[] Shape(PyTuple shape, int at)
        {
            var dims = new long[shape.Items.Length];
            for (var i = 0; i < dims.Length; i++)
            {
                if (shape.Items[i] is not long d || d < 0)
                    throw Fail($"has ndarray shape ({string.Join(", ", shape.Items.Select(Describe))}) at byte {at}; expected non-negative integers");
                dims[i] = d;
            }
            return dims;
        }

        private static string? AsText(object? value) => value switch
        {
            string s => s,
            LegacyString l => Encoding.Latin1.GetString(l.Bytes),
            _ => null,
        };

        private static byte[]? AsBytes(object? value) => value switch
        {
            byte[] b => b,
            LegacyString l => l.Bytes,
            _ => null,
        };

        private static string Describe(object? value) => value switch
        {
            null => "None",
            bool b => b ? "True" : "False",
            long l => $"the int {l}",
            double d => $"the float {d}",
            string s => $"the str '{(s.Length > 20 ? s[..20] + "…" : s)}'",
            LegacyString l => $"a str of {l.Bytes.Length} bytes",
            byte[] b => $"bytes of length {b.Length}",
            PyTuple t => $"a tuple of {t.Items.Length}",
            List<object?> l => $"a list of {l.Count}",
            List<KeyValuePair<object?, object?>> d => $"a dict of {d.Count}",
            GlobalRef g => $"the global '{g.Module}.{g.Name}'",
            DTypeObject d => $"a numpy dtype '{d.Code}'",
            ArrayObject => "an ndarray without data",
            _ => value.GetType().Name,
        };

        // -------------------------------------------------------------- stack and stream

        private readonly DatasetFormatException Fail(string detail) => new(file, $"{field} {detail}");

        private object? Pop()
        {
            if (_stack.Count == 0 || (_marks.Count > 0 && _marks[^1] == _stack.Count))
                throw Fail($"pops an empty stack at byte {_pos - 1}; the pickle is corrupt");
            var v = _stack[^1];
            _stack.RemoveAt(_stack.Count - 1);
            return v;
        }

        private readonly object? Top() =>
            _stack.Count > 0 ? _stack[^1] : throw Fail($"reads an empty stack at byte {_pos - 1}; the pickle is corrupt");

        private List<object?> PopMark()
        {
            if (_marks.Count == 0) throw Fail($"has no MARK for the opcode at byte {_pos - 1}; the pickle is corrupt");
            var m = _marks[^1];
            _marks.RemoveAt(_marks.Count - 1);
            var items = _stack.GetRange(m, _stack.Count - m);
            _stack.RemoveRange(m, _stack.Count - m);
            return items;
        }

        private readonly List<object?> ListAt(int at) =>
            Top() as List<object?> ?? throw Fail($"appends to {Describe(Top())} at byte {at}; the pickle is corrupt");

        private readonly List<KeyValuePair<object?, object?>> DictAt(int at) =>
            Top() as List<KeyValuePair<object?, object?>> ?? throw Fail($"sets an item on {Describe(Top())} at byte {at}; the pickle is corrupt");

        private readonly List<KeyValuePair<object?, object?>> Pairs(List<object?> items, int at)
        {
            if (items.Count % 2 != 0) throw Fail($"has an odd number of dict items at byte {at}; the pickle is corrupt");
            var pairs = new List<KeyValuePair<object?, object?>>();
            for (var i = 0; i < items.Count; i += 2) pairs.Add(new(items[i], items[i + 1]));
            return pairs;
        }

        private readonly object? Get(long key, int at) =>
            _memo.TryGetValue(key, out var v) ? v : throw Fail($"reads memo slot {key} that was never set at byte {at}; the pickle is corrupt");

        private byte Byte() => Bytes(1)[0];

        private ReadOnlySpan<byte> Bytes(long count)
        {
            if (count < 0 || count > _data.Length - _pos)
                throw Fail($"is truncated: needs {count} bytes at byte {_pos}, {_data.Length - _pos} left; expected a complete pickle ending in STOP");
            var span = _data.Slice(_pos, (int)count);
            _pos += (int)count;
            return span;
        }

        private int Length32()
        {
            var v = BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4));
            return v > int.MaxValue ? throw Fail($"has a length {v} at byte {_pos - 4} beyond the data") : (int)v;
        }

        private long Length64()
        {
            var v = BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8));
            return v > int.MaxValue ? throw Fail($"has a length {v} at byte {_pos - 8} beyond the data") : (long)v;
        }

        private string Line()
        {
            var rest = _data[_pos..];
            var end = rest.IndexOf((byte)'\n');
            if (end < 0) throw Fail($"is truncated inside a GLOBAL at byte {_pos}");
            var text = Encoding.UTF8.GetString(rest[..end]);
            _pos += end + 1;
            return text;
        }

        private static string OpcodeName(byte op) => op switch
        {
            (byte)'i' => "INST",
            (byte)'o' => "OBJ",
            0x81 => "NEWOBJ",
            0x92 => "NEWOBJ_EX",
            (byte)'P' => "PERSID",
            (byte)'Q' => "BINPERSID",
            0x82 or 0x83 or 0x84 => "EXT",
            0x97 => "NEXT_BUFFER",
            0x98 => "READONLY_BUFFER",
            (byte)'I' => "INT",
            (byte)'L' => "LONG",
            (byte)'F' => "FLOAT",
            (byte)'S' => "STRING",
            (byte)'V' => "UNICODE",
            (byte)'p' => "PUT",
            (byte)'g' => "GET",
            0x8b => "LONG4",
            0x8f => "EMPTY_SET",
            0x90 => "ADDITEMS",
            0x91 => "FROZENSET",
            _ => "unknown",
        };
    }
}
