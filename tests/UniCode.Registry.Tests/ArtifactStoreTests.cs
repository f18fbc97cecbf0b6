using System.Text;
using UniCode.Core;
using UniCode.Persistence.Artifacts;

namespace UniCode.Registry.Tests;

public sealed class ArtifactStoreTests : IDisposable
{
    // sha256("abc"), FIPS 180-2 appendix B.1
    private const string AbcSha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    private readonly string _dir = Directory.CreateTempSubdirectory("unicode-store-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Source(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void Put_stores_a_file_under_its_sha256_read_only_and_once()
    {
        var store = new ArtifactStore(Path.Combine(_dir, "store"));

        var sha = store.Put(Source("a.txt", "abc"));
        var again = store.Put(Source("b.txt", "abc"), expectedSha256: AbcSha);

        Assert.Equal(AbcSha, sha);
        Assert.Equal(AbcSha, again);
        Assert.Equal(Path.Combine(_dir, "store", "sha256", "ba", AbcSha[2..]), store.PathOf(sha));
        Assert.True(store.Exists(sha));
        Assert.Equal("abc", File.ReadAllText(store.PathOf(sha)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(store.PathOf(sha)));
        Assert.Single(Directory.GetFiles(Path.Combine(_dir, "store", "sha256"), "*", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "store", "tmp")));
    }

    [Fact]
    public void A_file_that_is_not_what_it_claims_is_not_stored()
    {
        var store = new ArtifactStore(Path.Combine(_dir, "store"));
        var claimed = new string('e', 64);

        var e = Assert.Throws<ArtifactHashMismatchException>(() => store.Put(Source("a.txt", "abc"), claimed));

        Assert.Equal($"{Path.Combine(_dir, "a.txt")}: sha256 is {AbcSha}; expected {claimed} (the file was changed or corrupted)", e.Message);
        Assert.False(store.Exists(claimed));
        Assert.False(store.Exists(AbcSha));
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "store", "tmp")));
        // a stored sha does not vouch for another file claiming it
        store.Put(Source("b.txt", "abc"));
        Assert.Throws<ArtifactHashMismatchException>(() => store.Put(Source("c.txt", "abd"), AbcSha));
        Assert.Throws<ArgumentException>(() => store.PathOf("ABC"));
    }

    [Fact]
    public void Reads_are_verified_against_the_name()
    {
        var store = new ArtifactStore(Path.Combine(_dir, "store"));
        var sha = store.Put(new MemoryStream(Encoding.ASCII.GetBytes("abc")));
        using (var reader = new StreamReader(store.Open(sha))) Assert.Equal("abc", reader.ReadToEnd());
        store.Verify(sha);

        var path = store.PathOf(sha);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(path, "abd");                                              // bit rot

        using (var reader = new StreamReader(store.Open(sha)))
        {
            var e = Assert.Throws<ArtifactCorruptException>(() => reader.ReadToEnd());
            Assert.Equal($"{path}: stored as sha256 {AbcSha} but its content hashes to {Sha256.OfFile(path)}; the artifact is corrupt", e.Message);
        }
        Assert.Throws<ArtifactCorruptException>(() => store.Verify(sha));
        Assert.Throws<FileNotFoundException>(() => store.Open(new string('0', 64)));
    }

    [Fact]
    public void Directories_are_published_by_one_rename_and_a_key_is_published_once()
    {
        var store = new ArtifactStore(Path.Combine(_dir, "store"));
        var first = store.CreateStagingDirectory("pack");
        File.WriteAllText(Path.Combine(first, "x"), "first");
        var second = store.CreateStagingDirectory("pack");
        File.WriteAllText(Path.Combine(second, "x"), "second");

        var a = store.CommitDirectory(first, "datasets", "k1", out var existedA);
        var b = store.CommitDirectory(second, "datasets", "k1", out var existedB);

        Assert.Equal(Path.Combine(_dir, "store", "datasets", "k1"), a);
        Assert.Equal(a, b);
        Assert.False(existedA);
        Assert.True(existedB);
        Assert.Equal("first", File.ReadAllText(Path.Combine(a, "x")));
        Assert.False(Directory.Exists(first));
        Assert.False(Directory.Exists(second));
        Assert.Throws<ArgumentException>(() => store.DirectoryOf("datasets", ".."));
        Assert.Throws<ArgumentException>(() => store.DirectoryOf("sha256", "x"));
        Assert.Throws<ArgumentException>(() => store.CommitDirectory(_dir, "datasets", "k2", out _));
    }

    [Fact]
    public void The_root_comes_from_UNICODE_ARTIFACTS_or_the_repository_root()
    {
        var repo = Path.Combine(_dir, "repo");
        var deep = Path.Combine(repo, "services", "x");
        Directory.CreateDirectory(deep);
        File.WriteAllText(Path.Combine(repo, "UniCode.sln"), "");

        Assert.Equal("/mnt/shared/artifacts", ArtifactStore.FromEnvironment(v => v == "UNICODE_ARTIFACTS" ? "/mnt/shared/artifacts" : null, deep).Root);
        Assert.Equal(Path.Combine(repo, ".artifacts"), ArtifactStore.FromEnvironment(_ => null, deep).Root);
        var lone = Path.Combine(_dir, "lone");
        Directory.CreateDirectory(lone);
        Assert.Equal(Path.Combine(lone, ".artifacts"), ArtifactStore.FromEnvironment(_ => null, lone).Root);
    }
}
