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

    /// <summary>The names in <paramref name="path"/> if it exists (exactly <paramref name="classes"/> of them), else class_00….</summary>
    public static string[] ReadOptional(string path, int classes)
    {
        if (!File.Exists(path)) return Generic(classes);
        var names = Read(path);
        if (names.Length != classes)
            throw new DatasetFormatException(path, $"holds {names.Length} class names; expected {classes} (label columns − background)");
        return names;
    }

    public static string[] Generic(int classes) =>
        Enumerable.Range(0, classes).Select(c => "class_" + c.ToString("D2", CultureInfo.InvariantCulture)).ToArray();
}
