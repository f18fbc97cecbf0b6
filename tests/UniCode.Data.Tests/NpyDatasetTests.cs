using UniCode.Data.Npy;

namespace UniCode.Data.Tests;

public sealed class NpyDatasetTests
{
    private const int N = 4, T = 3, Da = 2, G = 2, Dv = 2, C = 2;

    private static void WriteNpyDir(TempDir dir, int labelsVersion = 1)
    {
        TestFiles.WriteNpy(dir["audio.npy"], "<f4", [N, T, Da], TestFiles.F4(TestFiles.Ramp(N * T * Da)));
        TestFiles.WriteNpy(dir["video.npy"], "<f8", [N, T, G, G, Dv], TestFiles.F8(TestFiles.Ramp(N * T * G * G * Dv, -0.5f)));
        var labels = TestFiles.Labels(T, C, (0, 0, 1), (1, 1, 2), (0, 0, 3), (1, 2, 1));
        TestFiles.WriteNpy(dir["labels.npy"], "<f4", [N, T, C + 1], TestFiles.F4(labels), version: labelsVersion);
    }

    [Fact]
    public void RoundTripsV1AndV2HeadersFloat32And64()
    {
        using var dir = new TempDir();
        WriteNpyDir(dir, labelsVersion: 2);
        TestFiles.WriteNpy(dir["text.npy"], "<f4", [N, T, 5], TestFiles.F4(TestFiles.Ramp(N * T * 5, 2f)));
        File.WriteAllText(dir["splits.json"], """{"train": [3, 0], "test": [1, 2]}""");
        using var ds = DatasetOpener.Open("npy:" + dir.Path);
        Assert.Equal(new ClipLayout(T, Da, G, Dv, 5, C), ds.Layout);
        var audio = new float[2 * T * Da];
        ds.ReadAudio([3, 1], audio);
        Assert.Equal(TestFiles.Ramp(T * Da, 1f, 3 * T * Da).Concat(TestFiles.Ramp(T * Da, 1f, T * Da)), audio);
        var video = new float[T * G * G * Dv];
        ds.ReadVideo([2], video);
        Assert.Equal(TestFiles.Ramp(T * G * G * Dv, -0.5f, -0.5f * 2 * T * G * G * Dv), video);
        var text = new float[T * 5];
        ds.ReadText([1], text);
        Assert.Equal(2f * (T * 5 + 4), text[4]);
        var classes = new long[N];
        ds.ReadClasses([0, 1, 2, 3], classes);
        Assert.Equal([0L, 1, 0, 1], classes);
        Assert.Equal([3, 0], ds.Splits["train"]);
        Assert.False(ds.Splits.ContainsKey("all"));
    }

    [Fact]
    public void WithoutSplitsJsonThereIsOneSplitAll()
    {
        using var dir = new TempDir();
        WriteNpyDir(dir);
        using var ds = NpyDataset.Open(dir.Path);
        Assert.Equal([0, 1, 2, 3], ds.Splits["all"]);
    }

    [Fact]
    public void RejectsFortranOrderOtherDtypesAndTruncation()
    {
        using var dir = new TempDir();
        WriteNpyDir(dir);
        TestFiles.WriteNpy(dir["audio.npy"], "<f4", [N, T, Da], TestFiles.F4(TestFiles.Ramp(N * T * Da)), fortran: true);
        var fortran = Assert.Throws<DatasetFormatException>(() => NpyDataset.Open(dir.Path));
        Assert.StartsWith($"{dir["audio.npy"]}: is in Fortran order (fortran_order: True); expected a C-order array", fortran.Message);

        TestFiles.WriteNpy(dir["audio.npy"], "<i8", [N, T, Da], new byte[N * T * Da * 8]);
        var dtype = Assert.Throws<DatasetFormatException>(() => NpyDataset.Open(dir.Path));
        Assert.Equal($"{dir["audio.npy"]}: has dtype '<i8'; expected '<f4' or '<f8' (little-endian float32/float64)", dtype.Message);

        TestFiles.WriteNpy(dir["audio.npy"], "<f4", [N, T, Da], TestFiles.F4(TestFiles.Ramp(N * T * Da - 1)));
        var cut = Assert.Throws<DatasetFormatException>(() => NpyDataset.Open(dir.Path));
        Assert.Equal($"{dir["audio.npy"]}: holds {(N * T * Da - 1) * 4} data bytes; expected {N * T * Da * 4} for shape [4,3,2] of '<f4' (the file is truncated)", cut.Message);
    }

    [Fact]
    public void RejectsBadSplitIndexAndMismatchedLabels()
    {
        using var dir = new TempDir();
        WriteNpyDir(dir);
        File.WriteAllText(dir["splits.json"], """{"train": [0, 4]}""");
        var split = Assert.Throws<DatasetFormatException>(() => NpyDataset.Open(dir.Path));
        Assert.Equal($"{dir["splits.json"]}: split 'train' has index 4 at position 1; expected 0 <= index < 4 (N from audio.npy)", split.Message);

        File.Delete(dir["splits.json"]);
        TestFiles.WriteNpy(dir["labels.npy"], "<f4", [N, T + 1, C + 1], new byte[N * (T + 1) * (C + 1) * 4]);
        var shape = Assert.Throws<DatasetFormatException>(() => NpyDataset.Open(dir.Path));
        Assert.Equal($"{dir["labels.npy"]}: array has 4 segments per clip (T, shape [4,4,3]) but {dir["audio.npy"]} array has 3 (shape [4,3,2]); expected the same T in both files", shape.Message);
    }

    [Fact]
    public void ClipCountMismatchNamesBothFilesAndLabelWidthNamesTheExpectedWidth()
    {
        using var dir = new TempDir();
        WriteNpyDir(dir);
        TestFiles.WriteNpy(dir["video.npy"], "<f4", [N - 1, T, G, G, Dv], new byte[(N - 1) * T * G * G * Dv * 4]);
        var clips = Assert.Throws<DatasetFormatException>(() => NpyDataset.Open(dir.Path));
        Assert.Equal($"{dir["video.npy"]}: array has 3 clips (N, shape [3,3,2,2,2]) but {dir["audio.npy"]} array has 4 (shape [4,3,2]); expected the same N in both files", clips.Message);

        WriteNpyDir(dir);
        File.WriteAllLines(dir["categories.txt"], ["only"]);
        var width = Assert.Throws<DatasetFormatException>(() => NpyDataset.Open(dir.Path));
        Assert.Equal($"{dir["labels.npy"]}: array has 3 label columns (shape [4,3,3]); expected 2 (the 1 class names of {dir["categories.txt"]} + the background column)", width.Message);
    }

    [Fact]
    public void LabelValuesOtherThanZeroOrOneAreReported()
    {
        using var dir = new TempDir();
        WriteNpyDir(dir);
        var labels = TestFiles.Labels(T, C, (0, 0, 1), (1, 1, 2), (0, 0, 3), (1, 2, 1));
        labels[(2 * T + 1) * (C + 1)] = 0.5f;
        TestFiles.WriteNpy(dir["labels.npy"], "<f4", [N, T, C + 1], TestFiles.F4(labels));
        using var ds = NpyDataset.Open(dir.Path);
        var e = Assert.Throws<DatasetFormatException>(() => ds.ReadLabels([2], new float[T * (C + 1)]));
        Assert.Equal($"{dir["labels.npy"]}: array clip 2 (id 2) has value 0.5 at segment 1, column 0; expected 0 or 1", e.Message);
    }

    [Fact]
    public void ContentHashIsStableAndSensitiveToOneValue()
    {
        using var dir = new TempDir();
        WriteNpyDir(dir);
        string first, again;
        using (var ds = NpyDataset.Open(dir.Path)) first = ds.ContentHash();
        using (var ds = NpyDataset.Open(dir.Path)) again = ds.ContentHash();
        Assert.Equal(first, again);
        Assert.Matches("^[0-9a-f]{64}$", first);

        // one float of one clip's video changes by one ulp
        var video = TestFiles.Ramp(N * T * G * G * Dv, -0.5f);
        video[37] = MathF.BitIncrement(video[37]);
        TestFiles.WriteNpy(dir["video.npy"], "<f8", [N, T, G, G, Dv], TestFiles.F8(video));
        using (var ds = NpyDataset.Open(dir.Path)) Assert.NotEqual(first, ds.ContentHash());

        // the splits are part of the content too
        TestFiles.WriteNpy(dir["video.npy"], "<f8", [N, T, G, G, Dv], TestFiles.F8(TestFiles.Ramp(N * T * G * G * Dv, -0.5f)));
        File.WriteAllText(dir["splits.json"], """{"all": [0, 1, 2]}""");
        using (var ds = NpyDataset.Open(dir.Path)) Assert.NotEqual(first, ds.ContentHash());
        File.WriteAllText(dir["splits.json"], """{"all": [0, 1, 2, 3]}""");
        using (var ds = NpyDataset.Open(dir.Path)) Assert.Equal(first, ds.ContentHash());
    }
}

public sealed class DatasetNameTests
{
    [Theory]
    [InlineData("ave:/data/AVE", DatasetKind.Ave, "/data/AVE")]
    [InlineData("VGGSound:/d/vgg", DatasetKind.VggSound, "/d/vgg")]
    [InlineData("avvp:rel/AVVP", DatasetKind.Avvp, "rel/AVVP")]
    [InlineData("npy:C:/x", DatasetKind.Npy, "C:/x")]
    [InlineData("synth:classes=10,clips=1200,seed=7", DatasetKind.Synth, "classes=10,clips=1200,seed=7")]
    [InlineData("synth:", DatasetKind.Synth, "")]
    public void ParsesKindAndPath(string text, DatasetKind kind, string path)
    {
        var name = DatasetName.Parse(text);
        Assert.Equal(kind, name.Kind);
        Assert.Equal(path, name.Path);
        Assert.Equal(name, DatasetName.Parse(name.ToString()));
    }

    [Fact]
    public void UnknownKindNoKindAndEmptyPathAreClearErrors()
    {
        var unknown = Assert.Throws<FormatException>(() => DatasetName.Parse("hdf:/data/AVE"));
        Assert.Equal("dataset name 'hdf:/data/AVE' has unknown kind 'hdf'; expected one of ave, vggsound, avvp, npy, synth (format KIND:PATH, e.g. ave:/data/AVE)", unknown.Message);
        Assert.Contains("has no kind", Assert.Throws<FormatException>(() => DatasetName.Parse("/data/AVE")).Message);
        Assert.Contains("has an empty path", Assert.Throws<FormatException>(() => DatasetName.Parse("ave:")).Message);
    }

    [Theory]
    [InlineData("synth:cells=12;x", "dataset name 'synth:cells=12;x': synth spec: cells='12;x'; expected an integer")]
    [InlineData("synth:cells=12`id`", "dataset name 'synth:cells=12`id`': synth spec: cells='12`id`'; expected an integer")]
    [InlineData("synth:clips=2", "dataset name 'synth:clips=2': synth spec: clips=2; expected at least 3 (one per split)")]
    [InlineData("synth:hard-mode", "dataset name 'synth:hard-mode': synth spec: 'hard-mode' is neither key=value nor a regime; expected one of ")]
    [InlineData("hdf:/data", "dataset name 'hdf:/data' has unknown kind 'hdf'")]
    public void ParseChecked_also_refuses_a_malformed_synth_spec(string name, string message)
    {
        Assert.StartsWith(message, Assert.Throws<FormatException>(() => DatasetName.ParseChecked(name)).Message);
        Assert.Equal(DatasetKind.Synth, DatasetName.ParseChecked("synth:cells=12,style=1").Kind);
        Assert.Equal(new DatasetName(DatasetKind.Ave, "/no/such/dir"), DatasetName.ParseChecked("ave:/no/such/dir"));   // directories are not opened
    }
}
