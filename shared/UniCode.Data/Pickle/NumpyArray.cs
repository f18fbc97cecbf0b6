using System.Buffers.Binary;

namespace UniCode.Data.Pickle;

/// <summary>
/// A numpy array as read from a pickle or .npy file: dtype (numpy kind+size, e.g. "f4"), byte order
/// ('&lt;', '&gt;' or '|'), C-order shape and the raw element bytes.
/// </summary>
public sealed class NumpyArray
{
    internal NumpyArray(string dtype, char byteOrder, long[] shape, bool fortranOrder, byte[] data)
    {
        DType = dtype;
        ByteOrder = byteOrder;
        Shape = shape;
        FortranOrder = fortranOrder;
        Data = data;
    }

    /// <summary>numpy kind and item size, e.g. "f4", "f8", "i8", "u1", "b1".</summary>
    public string DType { get; }

    /// <summary>'&lt;' little-endian, '&gt;' big-endian, '|' not applicable (1-byte types).</summary>
    public char ByteOrder { get; }

    public long[] Shape { get; }

    public bool FortranOrder { get; }

    public byte[] Data { get; }

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>
    /// The elements as float32 in C order. Accepts float (f2/f4/f8), signed/unsigned integer and bool dtypes,
    /// little-endian or single-byte; anything else (objects, strings, structured, big-endian, Fortran order with
    /// more than one non-trivial dim) throws <see cref="DatasetFormatException"/> naming <paramref name="source"/>.
    /// </summary>
    public float[] ToSingle(string source)
    {
        if (FortranOrder && Shape.Count(d => d > 1) > 1)
            throw new DatasetFormatException(source, $"array of shape {FloatChecks.Shape(Shape)} is in Fortran order; expected a C-order array");
        if (ByteOrder == '>')
            throw new DatasetFormatException(source, $"array has big-endian dtype '>{DType}'; expected little-endian ('<f4', '<f8', …)");
        var size = DType.Length >= 2 && int.TryParse(DType.AsSpan(1), out var s) ? s : -1;
        var kind = DType.Length > 0 ? DType[0] : '?';
        var supported = kind switch
        {
            'f' => size is 2 or 4 or 8,
            'i' or 'u' => size is 1 or 2 or 4 or 8,
            'b' => size == 1,
            _ => false,
        };
        if (!supported)
            throw new DatasetFormatException(source, $"array has dtype '{DType}'; expected a numeric dtype (f2/f4/f8, integers or bool)");
        var count = ElementCount;
        if (count * size != Data.Length)
            throw new DatasetFormatException(source,
                $"array of shape {FloatChecks.Shape(Shape)} and dtype '{DType}' holds {Data.Length} data bytes; expected {count * size} (truncated or corrupt)");
        var result = new float[count];
        var bytes = Data.AsSpan();
        for (var i = 0; i < result.Length; i++)
        {
            var e = bytes.Slice(i * size, size);
            result[i] = (kind, size) switch
            {
                ('f', 2) => (float)BinaryPrimitives.ReadHalfLittleEndian(e),
                ('f', 4) => BinaryPrimitives.ReadSingleLittleEndian(e),
                ('f', 8) => (float)BinaryPrimitives.ReadDoubleLittleEndian(e),
                ('i', 1) => (sbyte)e[0],
                ('i', 2) => BinaryPrimitives.ReadInt16LittleEndian(e),
                ('i', 4) => BinaryPrimitives.ReadInt32LittleEndian(e),
                ('i', 8) => BinaryPrimitives.ReadInt64LittleEndian(e),
                ('u', 1) or ('b', 1) => e[0],
                ('u', 2) => BinaryPrimitives.ReadUInt16LittleEndian(e),
                ('u', 4) => BinaryPrimitives.ReadUInt32LittleEndian(e),
                _ => BinaryPrimitives.ReadUInt64LittleEndian(e),
            };
        }
        return result;
    }
}
