using System.Globalization;

namespace UniCode.Data;

/// <summary>Class-name files: one name a line (trailing blank lines ignored), as the reference's *Categories.txt.</summary>
internal static class CategoryFile
{
    public static string[] Read(string path)
    {
        if (!File.Exists(path))
            throw new DatasetFormatException(path, "file not found; expected the class names, one a line");
        var lines = File.ReadAllLines(path).Select(l => l.Trim()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].Length == 0)
                throw new DatasetFormatException(path, $"line {i + 1} is empty; expected a class name");
            var first = lines.IndexOf(lines[i]);
            if (first != i)
                throw new DatasetFormatException(path, $"line {i + 1} repeats class '{lines[i]}' of line {first + 1}; expected distinct names");
        }
        if (lines.Count == 0) throw new DatasetFormatException(path, "holds no class names; expected one a line");
        return lines.ToArray();
    }

    /// <summary>
    /// The names in <paramref name="path"/> if it exists, else class_00…, for labels of shape [N,T,C+1]
    /// (<paramref name="labelShape"/>): the file must hold exactly C names. A mismatch names the labels file, its
    /// field, the label width found and the width the names call for, e.g. "…/labels.h5: dataset 'avadataset' has
    /// 30 label columns (shape [12,10,30]); expected 29 (the 28 class names of …/categories.txt + the background column)".
    /// </summary>
    public static string[] ReadForLabels(string path, string labelsFile, string labelsField, IReadOnlyList<long> labelShape)
    {
        var width = labelShape[^1];
        if (!File.Exists(path)) return Generic((int)width - 1);
        var names = Read(path);
        if (names.Length + 1 != width)
            throw new DatasetFormatException(labelsFile,
                $"{labelsField} has {width} label columns (shape {FloatChecks.Shape(labelShape)}); expected {names.Length + 1} (the {names.Length} class names of {path} + the background column)");
        return names;
    }

    public static string[] Generic(int classes) =>
        Enumerable.Range(0, classes).Select(c => "class_" + c.ToString("D2", CultureInfo.InvariantCulture)).ToArray();
}
