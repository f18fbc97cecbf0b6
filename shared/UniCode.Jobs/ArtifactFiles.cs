using System.Security.Cryptography;

namespace UniCode.Jobs;

/// <summary>
/// The job services' view of the content-addressed artifact store (UNICODE_ARTIFACTS): the file whose
/// sha256 is <c>abcdef…</c> is <c>ROOT/sha256/ab/cdef…</c>, written under <c>ROOT/tmp/</c> and renamed
/// into place, read-only once stored. This is the layout of the registry's ArtifactStore, so a
/// checkpoint stored here is found there without a copy (and vice versa).
/// </summary>
public sealed class ArtifactFiles(string root)
{
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>Where the file with this sha256 is (or would be).</summary>
    public string PathOf(string sha256)
    {
        if (!IsSha256(sha256)) throw new ArgumentException($"'{sha256}' is not a sha256; expected 64 lower-case hex digits", nameof(sha256));
        return Path.Combine(Root, "sha256", sha256[..2], sha256[2..]);
    }

    public bool Exists(string sha256) => IsSha256(sha256) && File.Exists(PathOf(sha256));

    /// <summary>
    /// Copies <paramref name="path"/> into the store (hashing the copy) and returns its sha256 and stored
    /// path. When <paramref name="expectedSha256"/> is given and the bytes differ, nothing is stored.
    /// A file already stored is not written again.
    /// </summary>
    public (string Sha256, string StoredPath) Put(string path, string? expectedSha256 = null)
    {
        if (expectedSha256 is not null && Exists(expectedSha256)) return (expectedSha256, PathOf(expectedSha256));
        var tmpDir = Path.Combine(Root, "tmp");
        Directory.CreateDirectory(tmpDir);
        var temp = Path.Combine(tmpDir, $"put-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            string sha;
            using (var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            using (var target = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                var buffer = new byte[1 << 20];
                int n;
                while ((n = source.Read(buffer, 0, buffer.Length)) > 0)
                {
                    hash.AppendData(buffer, 0, n);
                    target.Write(buffer, 0, n);
                }
                target.Flush(flushToDisk: true);
                sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            }
            if (expectedSha256 is not null && sha != expectedSha256)
                throw new InvalidDataException($"'{path}' has sha256 {sha}, expected {expectedSha256}: not stored");
            var final = PathOf(sha);
            Directory.CreateDirectory(Path.GetDirectoryName(final)!);
            if (!File.Exists(final))
            {
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                try { File.Move(temp, final, overwrite: false); }
                catch (IOException) when (File.Exists(final)) { /* stored by another writer: same name, same bytes */ }
            }
            return (sha, final);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public static bool IsSha256(string? s) => s is { Length: 64 } && s.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
}
