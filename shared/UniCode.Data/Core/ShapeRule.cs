using System.Globalization;

namespace UniCode.Data;

/// <summary>One dimension of an expected shape: a fixed value, or a symbol (N, T, G…) that must agree wherever it repeats.</summary>
internal readonly record struct Dim(string Symbol, long? Value)
{
    public static Dim Is(long value) => new(value.ToString(CultureInfo.InvariantCulture), value);

    public static Dim Free(string symbol) => new(symbol, null);

    /// <summary>The symbol, fixed to <paramref name="value"/> when one is given.</summary>
    public static Dim Of(string symbol, long? value) => value is { } v ? Is(v) : Free(symbol);

    public override string ToString() => Value?.ToString(CultureInfo.InvariantCulture) ?? Symbol;
}

internal static class ShapeRule
{
    public static string Pattern(IReadOnlyList<Dim> dims) => "[" + string.Join(",", dims) + "]";

    public static bool Matches(IReadOnlyList<long> actual, IReadOnlyList<Dim> dims)
    {
        if (actual.Count != dims.Count) return false;
        var bound = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < dims.Count; i++)
        {
            if (dims[i].Value is { } v)
            {
                if (actual[i] != v) return false;
            }
            else if (bound.TryGetValue(dims[i].Symbol, out var b))
            {
                if (actual[i] != b) return false;
            }
            else
            {
                bound[dims[i].Symbol] = actual[i];
            }
        }
        return true;
    }

    /// <summary>
    /// Throws when <paramref name="actual"/>'s leading dimensions — the clip count N, then the segments per clip T —
    /// differ from those of the reference file's array (the first file read, which fixes N and T), naming both
    /// files, both fields and both values, e.g. "…/visual_feature.h5: dataset 'avadataset' has 2 clips (N, shape
    /// [2,10,7,7,512]) but …/audio_feature.h5 dataset 'avadataset' has 3 (shape [3,10,128]); expected the same N in both files".
    /// </summary>
    public static void CheckAgrees(string file, string field, IReadOnlyList<long> actual, string referenceFile, string referenceField,
        IReadOnlyList<long> reference)
    {
        (string What, string Symbol)[] leading = [("clips", "N"), ("segments per clip", "T")];
        for (var i = 0; i < leading.Length && i < actual.Count && i < reference.Count; i++)
        {
            if (actual[i] == reference[i]) continue;
            var (what, symbol) = leading[i];
            throw new DatasetFormatException(file,
                $"{field} has {actual[i]} {what} ({symbol}, shape {FloatChecks.Shape(actual)}) but {referenceFile} {referenceField} has {reference[i]} " +
                $"(shape {FloatChecks.Shape(reference)}); expected the same {symbol} in both files");
        }
    }

    /// <summary>Throws "FIELD has shape [..]; expected [..]" (prefixed by the file) on mismatch.</summary>
    public static void Check(string file, string field, IReadOnlyList<long> actual, params Dim[] dims)
    {
        if (!Matches(actual, dims))
            throw new DatasetFormatException(file, $"{field} has shape {FloatChecks.Shape(actual)}; expected {Pattern(dims)}");
    }
}
