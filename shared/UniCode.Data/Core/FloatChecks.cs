using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;

namespace UniCode.Data;

internal static class FloatChecks
{
    /// <summary>Index of the first NaN/±Inf, or −1. x−x is 0 for finite x and NaN otherwise.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(values);
            var k = 0;
            for (; k < vectors.Length; k++)
            {
                var v = vectors[k];
                if (!Vector.EqualsAll(v - v, Vector<float>.Zero)) break;
            }
            i = k * Vector<float>.Count;
        }
        for (; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return -1;
    }

    public static string Describe(float value) =>
        float.IsNaN(value) ? "NaN" : float.IsPositiveInfinity(value) ? "+Inf" : float.IsNegativeInfinity(value) ? "-Inf" : value.ToString(CultureInfo.InvariantCulture);

    public static string FormatRow(ReadOnlySpan<float> row)
    {
        var shown = Math.Min(row.Length, 32);
        var parts = new string[shown];
        for (var i = 0; i < shown; i++) parts[i] = row[i].ToString(CultureInfo.InvariantCulture);
        return "[" + string.Join(",", parts) + (row.Length > shown ? ",…" : "") + "]";
    }

    public static string Shape(IEnumerable<long> dims) => "[" + string.Join(",", dims) + "]";

    public static string Shape(IEnumerable<ulong> dims) => "[" + string.Join(",", dims) + "]";

    public static string Shape(IEnumerable<int> dims) => "[" + string.Join(",", dims) + "]";
}
