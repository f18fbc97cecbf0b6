using System.IO.Compression;
using UniCode.Data.Pickle;

namespace UniCode.Data.Zipped;

/// <summary>
/// The reference's per-video feature files: <c>&lt;id&gt;.zip</c> whose first member with ".pkl" in its name is a
/// pickled numpy array (read with the restricted <see cref="NumpyPickle"/>).
/// </summary>
public static class PickledFeatureZip
{
    private const long MaxMemberBytes = 1L << 30;

    /// <summary>Reads the array; every failure is a <see cref="DatasetFormatException"/> naming <paramref name="zipPath"/>.</summary>
    public static NumpyArray Read(string zipPath)
    {
        if (!File.Exists(zipPath))
            throw new DatasetFormatException(zipPath, "file not found; expected a zip holding a pickled numpy array (.pkl)");
        try
        {
            using var archive = ZipFile.OpenRead(zipPath);
            // Nothing is extracted to disk, but a member named outside its folder is a hostile or broken archive:
            // refuse it by name rather than pass over it.
            foreach (var member in archive.Entries)
                if (EscapesFolder(member.FullName))
                    throw new DatasetFormatException(zipPath,
                        $"member '{member.FullName}' escapes the archive's folder (an absolute path or a '..' segment); expected member names inside it, such as '{Path.GetFileNameWithoutExtension(zipPath)}.pkl'");
            var entry = archive.Entries.FirstOrDefault(e => e.FullName.Contains(".pkl", StringComparison.Ordinal));
            if (entry is null)
            {
                var members = string.Join(", ", archive.Entries.Take(5).Select(e => $"'{e.FullName}'"));
                throw new DatasetFormatException(zipPath,
                    $"has no member containing '.pkl' (members: {(members.Length == 0 ? "none" : members)}); expected a pickled numpy array");
            }
            var field = $"member '{entry.FullName}'";
            if (entry.Length > MaxMemberBytes)
                throw new DatasetFormatException(zipPath, $"{field} is {entry.Length} bytes; expected at most {MaxMemberBytes}");
            var bytes = new byte[entry.Length];
            using (var stream = entry.Open())
            {
                var read = 0;
                while (read < bytes.Length)
                {
                    var n = stream.Read(bytes, read, bytes.Length - read);
                    if (n == 0)
                        throw new DatasetFormatException(zipPath, $"{field} ends after {read} of {bytes.Length} bytes; the zip is truncated");
                    read += n;
                }
            }
            return NumpyPickle.Load(bytes, zipPath, field);
        }
        catch (Exception e) when (e is InvalidDataException or IOException and not FileNotFoundException)
        {
            throw new DatasetFormatException(zipPath, $"cannot be read as a zip ({e.Message}); the file may be truncated or corrupt", e);
        }
    }

    /// <summary>
    /// True when a member name would land outside the folder it is extracted into: an absolute path ("/x.pkl",
    /// "\x.pkl", "C:x.pkl") or a ".." segment ("../x.pkl", "a/../../x.pkl", "..\x.pkl"), with either separator.
    /// </summary>
    internal static bool EscapesFolder(string name)
    {
        var n = name.Replace('\\', '/');
        if (n.StartsWith('/') || (n.Length >= 2 && char.IsAsciiLetter(n[0]) && n[1] == ':')) return true;
        return n.Split('/').Any(segment => segment == "..");
    }

    /// <summary>
    /// Reads <paramref name="zipPath"/> as float32 and checks its shape: [rows, trailing…] where trailing must equal
    /// <paramref name="trailing"/>. Returns the data and the row count.
    /// </summary>
    internal static (float[] Data, int Rows) ReadRows(string zipPath, int[] trailing, string symbols)
    {
        var array = Read(zipPath);
        var shape = array.Shape;
        var ok = shape.Length == trailing.Length + 1;
        for (var i = 0; ok && i < trailing.Length; i++) ok = shape[i + 1] == trailing[i];
        if (!ok)
            throw new DatasetFormatException(zipPath, $"array has shape {FloatChecks.Shape(shape)}; expected [{symbols}]");
        return (array.ToSingle(zipPath), (int)shape[0]);
    }
}
