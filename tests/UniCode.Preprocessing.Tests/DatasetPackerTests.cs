using System.Text.Json;
using UniCode.Core;
using UniCode.Data;
using UniCode.Data.Npy;
using UniCode.Persistence.Artifacts;

namespace UniCode.Preprocessing.Tests;

public sealed class DatasetPackerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicode-pack-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Every array, split and class name of <paramref name="actual"/> equals <paramref name="expected"/>'s.</summary>
    internal static void AssertSameContent(ClipDataset expected, ClipDataset actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.Layout, actual.Layout);
        Assert.Equal(expected.ClassNames, actual.ClassNames);
        Assert.Equal(expected.Splits.Keys, actual.Splits.Keys);
        foreach (var (name, indices) in expected.Splits) Assert.Equal(indices, actual.Splits[name]);
        var all = Enumerable.Range(0, expected.Count).ToArray();
        var l = expected.Layout;
        void Same(int per, Action<ClipDataset, float[]> read)
        {
            var a = new float[all.Length * per];
            var b = new float[all.Length * per];
            read(expected, a);
            read(actual, b);
            Assert.Equal(a, b);
        }
        Same(l.AudioPerClip, (d, x) => d.ReadAudio(all, x));
        Same(l.VideoPerClip, (d, x) => d.ReadVideo(all, x));
        Same(l.LabelsPerClip, (d, x) => d.ReadLabels(all, x));
        if (l.HasText) Same(l.TextPerClip, (d, x) => d.ReadText(all, x));
        Assert.Equal(expected.ContentHash(), actual.ContentHash());
    }

    [Theory]
    [InlineData("synth:clips=12,classes=3,segments=4,audio=6,grid=2,video=5,text=3,seed=11", 4)]
    [InlineData("synth:clips=9,classes=2,segments=3,audio=4,grid=1,video=3,text=0,cells=1,seed=5", 3)]
    public void A_pack_reads_back_through_the_npy_reader_equal_to_its_source(string name, int fileCount)
    {
        using var source = DatasetOpener.Open(name);
        var hash = source.ContentHash();

        var manifest = DatasetPacker.Pack(source, _dir, hash);
        using var packed = DatasetOpener.Open("npy:" + _dir);

        AssertSameContent(source, packed);
        Assert.Equal((PackManifest.CurrentFormat, hash, source.Name, source.Count), (manifest.Format, manifest.ContentHash, manifest.Source, manifest.ClipCount));
        Assert.Equal(source.ClassNames, manifest.ClassNames);
        Assert.Equal(source.Splits.ToDictionary(s => s.Key, s => s.Value.Count), manifest.Splits);
        Assert.Equal(fileCount, manifest.Files.Count);
        var l = source.Layout;
        var audio = manifest.Files[0];
        Assert.Equal(("audio.npy", "<f4"), (audio.Name, audio.Dtype));
        Assert.Equal([(long)source.Count, l.Segments, l.AudioDim], audio.Shape);
        Assert.Equal([(long)source.Count, l.Segments, l.VideoGrid, l.VideoGrid, l.VideoDim], manifest.Files[1].Shape);
        Assert.Equal([(long)source.Count, l.Segments, l.LabelDim], manifest.Files[2].Shape);
        foreach (var f in manifest.Files)
        {
            var path = Path.Combine(_dir, f.Name);
            Assert.Equal(new FileInfo(path).Length, f.Bytes);
            Assert.Equal(f.Shape.Aggregate(1L, (a, b) => a * b) * 4 + NpyWriter.Header(f.Shape).Length, f.Bytes);   // contiguous float32 after the header
            Assert.Equal(Sha256.OfFile(path), f.Sha256);
        }
        var read = PackManifest.Read(_dir);
        Assert.Equal(
            (manifest.Format, manifest.ContentHash, manifest.Source, manifest.ClipCount, manifest.Layout, manifest.CreatedAt),
            (read.Format, read.ContentHash, read.Source, read.ClipCount, read.Layout, read.CreatedAt));
        Assert.Equal(manifest.Files.Select(Describe), read.Files.Select(Describe));
        Assert.Null(DatasetPacker.Check(_dir, hash, rehash: true));
    }

    private static string Describe(PackFile f) => $"{f.Name} {f.Dtype} [{string.Join(",", f.Shape)}] {f.Bytes} {f.Sha256}";

    [Fact]
    public void Check_names_what_is_missing_or_changed()
    {
        using var source = DatasetOpener.Open("synth:clips=6,classes=2,segments=2,audio=3,grid=1,video=2,text=0,cells=1,seed=1");
        var hash = source.ContentHash();
        DatasetPacker.Pack(source, _dir, hash);
        var video = Path.Combine(_dir, NpyDataset.VideoFile);
        var manifest = Path.Combine(_dir, PackManifest.FileName);

        Assert.Equal($"{manifest}: field 'contentHash' is {hash}; expected {new string('0', 64)}", DatasetPacker.Check(_dir, new string('0', 64), rehash: false));
        var bytes = File.ReadAllBytes(video);
        bytes[^1] ^= 1;
        File.WriteAllBytes(video, bytes);
        Assert.Null(DatasetPacker.Check(_dir, hash, rehash: false));                        // same size: only a re-hash sees it
        Assert.StartsWith($"{video}: sha256 is ", DatasetPacker.Check(_dir, hash, rehash: true));
        File.Delete(video);
        Assert.Equal($"{video}: file not found; the manifest lists it", DatasetPacker.Check(_dir, hash, rehash: false));
        File.Delete(manifest);
        Assert.Equal($"{manifest}: file not found; expected the manifest of a UniCode dataset pack", DatasetPacker.Check(_dir, hash, rehash: false));
    }

    [Fact]
    public void The_manifest_is_plain_json_with_the_documented_fields()
    {
        using var source = DatasetOpener.Open("synth:clips=6,classes=2,segments=2,audio=3,grid=1,video=2,text=2,cells=1,seed=1");
        DatasetPacker.Pack(source, _dir, source.ContentHash());
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, PackManifest.FileName)));
        var root = json.RootElement;

        Assert.Equal(
            ["format", "contentHash", "source", "clipCount", "layout", "classNames", "splits", "files", "createdAt"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(
            ["segments", "audioDim", "videoGrid", "videoDim", "textDim", "classes"],
            root.GetProperty("layout").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["name", "dtype", "shape", "bytes", "sha256"], root.GetProperty("files")[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(["audio.npy", "video.npy", "labels.npy", "text.npy"], root.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("name").GetString()));
        Assert.Equal(["test", "train", "val"], JsonSerializer.Deserialize<Dictionary<string, int[]>>(File.ReadAllText(Path.Combine(_dir, "splits.json")))!.Keys.Order());
    }
}
