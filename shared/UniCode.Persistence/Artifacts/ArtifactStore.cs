using UniCode.Core;

namespace UniCode.Persistence.Artifacts;

/// <summary>
/// A content-addressed directory of immutable files (checkpoints, packed datasets):
/// <c>ROOT/sha256/ab/cdef…</c> holds the file whose sha256 is <c>abcdef…</c>. Files are written to
/// <c>ROOT/tmp/</c>, hashed while they are written, flushed, and renamed into place, so a reader never sees
/// a partial file and a crash leaves only a temporary. Because a name is the hash of the content, several
/// machines can share one store over a mount: two writers of the same sha write the same bytes, and the
/// second rename finds the file already there. Directories (<see cref="CommitDirectory"/>) are published
/// the same way under <c>ROOT/COLLECTION/KEY/</c>.
/// </summary>
public sealed class ArtifactStore
{
    /// <summary>The environment variable that names the store's root directory.</summary>
    public const string RootVariable = "UNICODE_ARTIFACTS";

    /// <summary>The directory name used when <see cref="RootVariable"/> is unset (under the repository root).</summary>
    public const string DefaultDirectoryName = ".artifacts";

    private const string FilesDirectory = "sha256";
    private const string TempDirectory = "tmp";

    public ArtifactStore(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
    }

    /// <summary>Absolute path of the store's root.</summary>
    public string Root { get; }

    /// <summary>
    /// The store named by <c>UNICODE_ARTIFACTS</c>; when it is unset, <c>.artifacts</c> in the nearest
    /// directory above <paramref name="startDirectory"/> (default: the current directory) that holds
    /// <c>UniCode.sln</c> or <c>.git</c>, else in <paramref name="startDirectory"/> itself.
    /// </summary>
    public static ArtifactStore FromEnvironment(Func<string, string?>? lookup = null, string? startDirectory = null)
    {
        var value = (lookup ?? Environment.GetEnvironmentVariable)(RootVariable);
        if (!string.IsNullOrWhiteSpace(value)) return new ArtifactStore(value.Trim());
        return new ArtifactStore(Path.Combine(RepositoryRoot(startDirectory ?? Directory.GetCurrentDirectory()), DefaultDirectoryName));
    }

    /// <summary>
    /// The nearest directory at or above <paramref name="start"/> that holds <c>UniCode.sln</c> or <c>.git</c>; else
    /// <paramref name="start"/> itself (as a full path). Relative defaults (the store, the job services' work directory)
    /// are under it.
    /// </summary>
    public static string RepositoryRoot(string start)
    {
        var full = Path.GetFullPath(start);
        for (var dir = new DirectoryInfo(full); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "UniCode.sln")) || Path.Exists(Path.Combine(dir.FullName, ".git")))
                return dir.FullName;
        }
        return full;
    }

    /// <summary>True when <paramref name="sha256"/> is 64 lower-case hex digits.</summary>
    public static bool IsSha256(string? sha256) => Sha256.IsValid(sha256);

    /// <summary>Where the file with this sha256 is (or would be): <c>ROOT/sha256/ab/cdef…</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="sha256"/> is not 64 lower-case hex digits.</exception>
    public string PathOf(string sha256)
    {
        CheckSha(sha256);
        return Path.Combine(Root, FilesDirectory, sha256[..2], sha256[2..]);
    }

    /// <summary>Whether the store holds the file with this sha256 (false for a text that is not a sha256).</summary>
    public bool Exists(string sha256) => IsSha256(sha256) && File.Exists(PathOf(sha256));

    /// <summary>
    /// Copies <paramref name="path"/> into the store and returns its sha256. The copy is hashed as it is
    /// written; when <paramref name="expectedSha256"/> is given and differs, nothing is stored and
    /// <see cref="ArtifactHashMismatchException"/> is thrown. A file already stored is not written again.
    /// The stored file is made read-only: content-addressed files never change.
    /// </summary>
    public string Put(string path, string? expectedSha256 = null)
    {
        if (expectedSha256 is not null) CheckSha(expectedSha256);
        if (expectedSha256 is not null && Exists(expectedSha256))
        {
            // Already stored: still insist the caller's file is what it claims to be.
            var actual = Sha256.OfFile(path);
            if (actual != expectedSha256) throw new ArtifactHashMismatchException(path, expectedSha256, actual);
            return actual;
        }
        using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Put(source, expectedSha256, path);
    }

    /// <summary>Stores the rest of <paramref name="content"/>; see <see cref="Put(string, string?)"/>.</summary>
    public string Put(Stream content, string? expectedSha256 = null) => Put(content, expectedSha256, "stream");

    private string Put(Stream content, string? expectedSha256, string describe)
    {
        ArgumentNullException.ThrowIfNull(content);
        var temp = NewTempPath("put");
        string sha;
        try
        {
            using (var target = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            using (var hashing = new Sha256Stream(target))
            {
                content.CopyTo(hashing, 1 << 20);
                target.Flush(flushToDisk: true);
                sha = hashing.Finish();
            }
            if (expectedSha256 is not null && sha != expectedSha256)
                throw new ArtifactHashMismatchException(describe, expectedSha256, sha);
            var final = PathOf(sha);
            Directory.CreateDirectory(Path.GetDirectoryName(final)!);
            if (!File.Exists(final))
            {
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                try
                {
                    File.Move(temp, final, overwrite: false);
                }
                catch (IOException) when (File.Exists(final))
                {
                    // Another writer stored the same content first: same name, same bytes.
                }
            }
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        return sha;
    }

    /// <summary>
    /// Opens a stored file for reading through a stream that hashes what it reads and throws
    /// <see cref="ArtifactCorruptException"/> at the end if the bytes are not the ones named by the sha.
    /// </summary>
    /// <exception cref="FileNotFoundException">The store has no such file.</exception>
    public Stream Open(string sha256)
    {
        var path = PathOf(sha256);
        if (!File.Exists(path))
            throw new FileNotFoundException($"artifact store {Root}: no file with sha256 {sha256} (expected at {path})", path);
        return new VerifyingReadStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20), sha256, path);
    }

    /// <summary>Re-hashes a stored file; throws <see cref="ArtifactCorruptException"/> when it no longer matches its name.</summary>
    public void Verify(string sha256)
    {
        var path = PathOf(sha256);
        if (!File.Exists(path))
            throw new FileNotFoundException($"artifact store {Root}: no file with sha256 {sha256} (expected at {path})", path);
        var actual = Sha256.OfFile(path);
        if (actual != sha256) throw new ArtifactCorruptException(path, sha256, actual);
    }

    // ------------------------------------------------------------------ directories

    /// <summary>Where a published directory is (or would be): <c>ROOT/COLLECTION/KEY</c>.</summary>
    public string DirectoryOf(string collection, string key)
    {
        CheckName(collection, nameof(collection));
        CheckName(key, nameof(key));
        return Path.Combine(Root, collection, key);
    }

    /// <summary>A new empty directory under <c>ROOT/tmp</c> (same file system as the store, so it can be renamed into place).</summary>
    public string CreateStagingDirectory(string purpose)
    {
        var path = NewTempPath(purpose);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>
    /// Publishes a staged directory as <c>ROOT/COLLECTION/KEY</c> by one rename. When that directory
    /// already exists (the same key published before, or by another machine at the same time) the staged
    /// one is deleted and <paramref name="alreadyExisted"/> is true: a key must name its content.
    /// </summary>
    public string CommitDirectory(string stagingDirectory, string collection, string key, out bool alreadyExisted)
    {
        var final = DirectoryOf(collection, key);
        var staging = Path.GetFullPath(stagingDirectory);
        if (!staging.StartsWith(Path.Combine(Root, TempDirectory) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException($"{stagingDirectory} is not a staging directory of the store at {Root}; use CreateStagingDirectory", nameof(stagingDirectory));
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        alreadyExisted = Directory.Exists(final);
        if (!alreadyExisted)
        {
            try
            {
                Directory.Move(staging, final);
            }
            catch (IOException) when (Directory.Exists(final))
            {
                alreadyExisted = true;
            }
        }
        if (alreadyExisted && Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        return final;
    }

    // ------------------------------------------------------------------ helpers

    private string NewTempPath(string purpose)
    {
        var dir = Path.Combine(Root, TempDirectory);
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, $"{purpose}-{Environment.ProcessId}-{Guid.NewGuid():N}");
    }

    private static void CheckSha(string sha256)
    {
        if (!IsSha256(sha256))
            throw new ArgumentException($"'{sha256}' is not a sha256; expected 64 lower-case hex digits", nameof(sha256));
    }

    private static void CheckName(string name, string parameter)
    {
        if (string.IsNullOrWhiteSpace(name) || name is "." or ".." || name.IndexOfAny(['/', '\\', '\0']) >= 0
            || name is FilesDirectory or TempDirectory)
            throw new ArgumentException($"'{name}' cannot name a store directory; expected one path segment other than '{FilesDirectory}' and '{TempDirectory}'", parameter);
    }

    /// <summary>Hashes what is read; at the end of the stream compares with the expected sha256.</summary>
    private sealed class VerifyingReadStream(FileStream inner, string expected, string path) : Stream
    {
        private readonly Sha256Stream _hash = new();
        private bool _checked;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException("a verifying stream is read front to back"); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("a verifying stream is read front to back");
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            if (n > 0) _hash.Write(buffer[..n]);
            else if (buffer.Length > 0) Check();
            return n;
        }

        private void Check()
        {
            if (_checked) return;
            _checked = true;
            var actual = _hash.Finish();
            if (actual != expected) throw new ArtifactCorruptException(path, expected, actual);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                _hash.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}

/// <summary>A file given to <see cref="ArtifactStore.Put(string, string?)"/> does not have the sha256 it was said to have.</summary>
public sealed class ArtifactHashMismatchException(string source, string expected, string actual)
    : IOException($"{source}: sha256 is {actual}; expected {expected} (the file was changed or corrupted)")
{
    public string Expected { get; } = expected;
    public string Actual { get; } = actual;
}

/// <summary>A stored file no longer matches the sha256 it is stored under (disk corruption or tampering).</summary>
public sealed class ArtifactCorruptException(string path, string expected, string actual)
    : IOException($"{path}: stored as sha256 {expected} but its content hashes to {actual}; the artifact is corrupt")
{
    public string Expected { get; } = expected;
    public string Actual { get; } = actual;
}
