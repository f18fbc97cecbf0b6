using PureHDF;
using PureHDF.Selections;
using PureHDF.VOL.Native;

namespace UniCode.Data.Ave;

/// <summary>
/// One numeric dataset of an HDF5 file, kept open and read a leading-index row (hyperslab) at a time.
/// Float32/64 and 8–64-bit integer element types are converted to float32. Reads are serialised (PureHDF
/// file handles are not thread-safe).
/// </summary>
internal sealed class H5Array : IDisposable
{
    private enum Element { F32, F64, I8, U8, I16, U16, I32, U32, I64, U64 }

    private readonly NativeFile _file;
    private readonly NativeDataset _dataset;
    private readonly Element _element;
    private readonly object _gate = new();

    private H5Array(string path, string key, NativeFile file, NativeDataset dataset, Element element, long[] dims)
    {
        File = path;
        Key = key;
        _file = file;
        _dataset = dataset;
        _element = element;
        Dims = dims;
    }

    public string File { get; }
    public string Key { get; }
    public string Field => $"dataset '{Key}'";
    public long[] Dims { get; }

    /// <summary>Elements in one leading-index row (product of the trailing dims).</summary>
    public long RowLength => Dims.Skip(1).Aggregate(1L, (a, b) => a * b);

    public static H5Array Open(string path, string key)
    {
        if (!System.IO.File.Exists(path))
            throw new DatasetFormatException(path, $"file not found; expected an HDF5 file with dataset '{key}'");
        NativeFile file;
        try
        {
            file = H5File.OpenRead(path);
        }
        catch (Exception e) when (e is not DatasetFormatException)
        {
            throw new DatasetFormatException(path, $"cannot be read as HDF5 ({e.Message}); expected an HDF5 file with dataset '{key}'", e);
        }
        try
        {
            if (!file.LinkExists(key))
            {
                var found = string.Join(", ", file.Children().Select(c => $"'{c.Name}'"));
                throw new DatasetFormatException(path, $"has no dataset '{key}' (found {(found.Length == 0 ? "nothing" : found)}); expected dataset '{key}'");
            }
            if (file.Dataset(key) is not NativeDataset dataset)
                throw new DatasetFormatException(path, $"'{key}' is not a native HDF5 dataset");
            var element = ElementOf(path, key, dataset.Type);
            var dims = dataset.Space.Dimensions.Select(d => checked((long)d)).ToArray();
            return new H5Array(path, key, file, dataset, element, dims);
        }
        catch (Exception e)
        {
            file.Dispose();
            if (e is DatasetFormatException) throw;
            throw new DatasetFormatException(path, $"dataset '{key}' cannot be read ({e.Message})", e);
        }
    }

    private static Element ElementOf(string path, string key, IH5DataType type)
    {
        var size = type.Size;
        switch (type.Class)
        {
            case H5DataTypeClass.FloatingPoint when size == 4: return Element.F32;
            case H5DataTypeClass.FloatingPoint when size == 8: return Element.F64;
            case H5DataTypeClass.FixedPoint:
                var signed = type.FixedPoint.IsSigned;
                switch (size)
                {
                    case 1: return signed ? Element.I8 : Element.U8;
                    case 2: return signed ? Element.I16 : Element.U16;
                    case 4: return signed ? Element.I32 : Element.U32;
                    case 8: return signed ? Element.I64 : Element.U64;
                }
                break;
        }
        throw new DatasetFormatException(path, $"dataset '{key}' has element type {type.Class} of {size} bytes; expected float32/float64 or an integer type");
    }

    /// <summary>Reads row <paramref name="index"/> (all trailing dims) into <paramref name="destination"/> as float32.</summary>
    public void ReadRow(long index, Span<float> destination)
    {
        if (destination.Length != RowLength)
            throw new ArgumentException($"destination holds {destination.Length}; expected {RowLength}", nameof(destination));
        var rank = Dims.Length;
        var starts = new ulong[rank];
        starts[0] = (ulong)index;
        var blocks = Dims.Select(d => (ulong)d).ToArray();
        blocks[0] = 1;
        var selection = new HyperslabSelection(rank, starts, blocks);
        var memory = new[] { (ulong)destination.Length };
        lock (_gate)
        {
            try
            {
                switch (_element)
                {
                    case Element.F32: _dataset.Read(destination, selection, null, memory); break;
                    case Element.F64: Convert<double>(selection, destination, static v => (float)v); break;
                    case Element.I8: Convert<sbyte>(selection, destination, static v => v); break;
                    case Element.U8: Convert<byte>(selection, destination, static v => v); break;
                    case Element.I16: Convert<short>(selection, destination, static v => v); break;
                    case Element.U16: Convert<ushort>(selection, destination, static v => v); break;
                    case Element.I32: Convert<int>(selection, destination, static v => v); break;
                    case Element.U32: Convert<uint>(selection, destination, static v => v); break;
                    case Element.I64: Convert<long>(selection, destination, static v => v); break;
                    default: Convert<ulong>(selection, destination, static v => v); break;
                }
            }
            catch (Exception e) when (e is not DatasetFormatException and not ArgumentException)
            {
                throw new DatasetFormatException(File, $"{Field} row {index} cannot be read ({e.Message}); the file may be truncated or corrupt", e);
            }
        }
    }

    private void Convert<T>(HyperslabSelection selection, Span<float> destination, Func<T, float> cast) where T : unmanaged
    {
        var buffer = new T[destination.Length];
        _dataset.Read<T>(buffer.AsSpan(), selection, null, [(ulong)buffer.Length]);
        for (var i = 0; i < buffer.Length; i++) destination[i] = cast(buffer[i]);
    }

    /// <summary>Reads a 1-D integer index list (e.g. an AVE order file); float elements must be integral.</summary>
    public long[] ReadIndices()
    {
        if (Dims.Length != 1)
            throw new DatasetFormatException(File, $"{Field} has shape {FloatChecks.Shape(Dims)}; expected [n] (a list of clip indices)");
        var n = (int)Dims[0];
        var result = new long[n];
        lock (_gate)
        {
            try
            {
                switch (_element)
                {
                    case Element.F32 or Element.F64:
                        var values = new double[n];
                        if (_element == Element.F64) _dataset.Read<double>(values.AsSpan(), null, null, [(ulong)n]);
                        else
                        {
                            var f = new float[n];
                            _dataset.Read<float>(f.AsSpan(), null, null, [(ulong)n]);
                            for (var i = 0; i < n; i++) values[i] = f[i];
                        }
                        for (var i = 0; i < n; i++)
                        {
                            if (values[i] != Math.Floor(values[i]) || !double.IsFinite(values[i]))
                                throw new DatasetFormatException(File, $"{Field} has value {values[i]} at position {i}; expected an integer clip index");
                            result[i] = (long)values[i];
                        }
                        break;
                    default:
                        ReadIntegers(result);
                        break;
                }
            }
            catch (Exception e) when (e is not DatasetFormatException)
            {
                throw new DatasetFormatException(File, $"{Field} cannot be read ({e.Message}); the file may be truncated or corrupt", e);
            }
        }
        return result;
    }

    private void ReadIntegers(long[] result)
    {
        var n = (ulong)result.Length;
        switch (_element)
        {
            case Element.I64: _dataset.Read<long>(result.AsSpan(), null, null, [n]); break;
            case Element.U64:
                var u64 = new ulong[result.Length];
                _dataset.Read<ulong>(u64.AsSpan(), null, null, [n]);
                for (var i = 0; i < u64.Length; i++) result[i] = u64[i] > long.MaxValue ? -1 : (long)u64[i];
                break;
            case Element.I32: Widen<int>(result, static v => v); break;
            case Element.U32: Widen<uint>(result, static v => v); break;
            case Element.I16: Widen<short>(result, static v => v); break;
            case Element.U16: Widen<ushort>(result, static v => v); break;
            case Element.I8: Widen<sbyte>(result, static v => v); break;
            default: Widen<byte>(result, static v => v); break;
        }
    }

    private void Widen<T>(long[] result, Func<T, long> cast) where T : unmanaged
    {
        var buffer = new T[result.Length];
        _dataset.Read<T>(buffer.AsSpan(), null, null, [(ulong)buffer.Length]);
        for (var i = 0; i < buffer.Length; i++) result[i] = cast(buffer[i]);
    }

    public void Dispose() => _file.Dispose();
}
