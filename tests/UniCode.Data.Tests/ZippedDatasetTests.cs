using UniCode.Data.Avvp;
using UniCode.Data.VggSound;
using UniCode.Data.Zipped;

namespace UniCode.Data.Tests;

public sealed class VggSoundDatasetTests
{
    private const int T = 10, Da = 3, G = 2, Dv = 2;

    private static float[] AudioRows(int rows, float offset) => TestFiles.Ramp(rows * Da, 1f, offset);

    private static float[] Video(float offset) => TestFiles.Ramp(T * G * G * Dv, 0.25f, offset);

    private static void Pickle(string zip, float[] data, long[] shape, int protocol = 2) =>
        TestFiles.WriteZip(zip, Path.GetFileNameWithoutExtension(zip) + ".pkl", NumpyPickleEmitter.Float32(data, shape, protocol));

    /// <summary>Three videos: aaa (4 audio rows → padded), bbb (12 rows → truncated), ccc (10 rows, protocol 3).</summary>
    private static void WriteVgg(TempDir dir)
    {
        // a quoted category with a comma, as pandas writes it
        File.WriteAllText(dir["vggsound-avel40k.csv"],
            "category,video_id,split\n\"dog barking, growling\",aaa,train\nengine,bbb,test\n\"dog barking, growling\",ccc,val\n");
        File.WriteAllLines(dir["VggsoundAVEL40kCategories.txt"], ["engine", "dog barking, growling"]);
        Pickle(dir["audio/zip/aaa.zip"], AudioRows(4, 0), [4, Da]);
        Pickle(dir["audio/zip/bbb.zip"], AudioRows(12, 100), [12, Da]);
        Pickle(dir["audio/zip/ccc.zip"], AudioRows(10, 200), [10, Da], protocol: 3);
        foreach (var (id, k) in new[] { ("aaa", 0), ("bbb", 1), ("ccc", 2) })
            Pickle(dir[$"video/zip/{id}.zip"], Video(1000 * k), [T, G, G, Dv]);
    }

    [Fact]
    public void RoundTripsWithPaddingTruncationAndSplits()
    {
        using var dir = new TempDir();
        WriteVgg(dir);
        using var ds = DatasetOpener.Open("vggsound:" + dir.Path);
        Assert.Equal(new ClipLayout(T, Da, G, Dv, 0, 2), ds.Layout);
        Assert.Equal(["aaa", "bbb", "ccc"], Enumerable.Range(0, 3).Select(ds.ClipId));
        Assert.Equal([0], ds.Splits["train"]);
        Assert.Equal([1], ds.Splits["test"]);
        Assert.Equal([2], ds.Splits["val"]);

        var audio = new float[3 * T * Da];
        ds.ReadAudio([0, 1, 2], audio);
        // aaa: rows 0..3 then row 3 repeated for seconds 4..9
        Assert.Equal(AudioRows(4, 0), audio[..(4 * Da)]);
        for (var t = 4; t < T; t++) Assert.Equal([9f, 10f, 11f], audio[(t * Da)..((t + 1) * Da)]);
        // bbb: the first 10 of 12 rows
        Assert.Equal(AudioRows(10, 100), audio[(T * Da)..(2 * T * Da)]);
        Assert.Equal(AudioRows(10, 200), audio[(2 * T * Da)..]);

        var video = new float[T * G * G * Dv];
        ds.ReadVideo([1], video);
        Assert.Equal(Video(1000), video);

        // no label/zip: the class holds on all ten seconds
        var labels = new float[T * 3];
        ds.ReadLabels([0], labels);
        for (var t = 0; t < T; t++) Assert.Equal([0f, 1f, 0f], labels[(t * 3)..((t + 1) * 3)]);
        Assert.Equal(1, ds.ClipClass(0));
        Assert.Equal(0, ds.ClipClass(1));
    }

    [Fact]
    public void PerSecondLabelsComeFromLabelZips()
    {
        using var dir = new TempDir();
        WriteVgg(dir);
        foreach (var id in new[] { "aaa", "bbb", "ccc" })
            Pickle(dir[$"label/zip/{id}.zip"], [0, 0, 1, 1, 1, 0, 0, 0, 0, 0], [T]);
        using var ds = VggSoundDataset.Open(dir.Path);
        var labels = new float[T * 3];
        ds.ReadLabels([1], labels); // engine = class 0
        Assert.Equal([1f, 0f, 0f], labels[6..9]);   // second 2
        Assert.Equal([0f, 0f, 1f], labels[0..3]);   // second 0: background
    }

    [Fact]
    public void UnknownCategoryAndBadShapesAreReported()
    {
        using var dir = new TempDir();
        WriteVgg(dir);
        Pickle(dir["video/zip/bbb.zip"], TestFiles.Ramp(9 * G * G * Dv), [9, G, G, Dv]);
        using (var ds = VggSoundDataset.Open(dir.Path))
        {
            var e = Assert.Throws<DatasetFormatException>(() => ds.ReadVideo([1], new float[T * G * G * Dv]));
            Assert.Equal($"{dir["video/zip/bbb.zip"]}: array has shape [9,2,2,2]; expected [10,2,2,2]", e.Message);
        }
        var wrongDim = Assert.Throws<DatasetFormatException>(() => VggSoundDataset.Open(dir.Path, DatasetExpectations.Reference));
        Assert.Equal($"{dir["audio/zip/aaa.zip"]}: array has shape [4,3]; expected [rows,128]", wrongDim.Message);

        File.AppendAllText(dir["vggsound-avel40k.csv"], "cat meowing,ddd,train\n");
        var e2 = Assert.Throws<DatasetFormatException>(() => VggSoundDataset.Open(dir.Path));
        Assert.Equal($"{dir["vggsound-avel40k.csv"]}: line 5: category 'cat meowing' is not in VggsoundAVEL40kCategories.txt; expected one of its 2 names", e2.Message);
    }

    [Fact]
    public void PickleOfSomethingElseAndTruncatedZipAreReported()
    {
        using var dir = new TempDir();
        WriteVgg(dir);
        // pickle.dumps([1, 2], protocol=2)
        TestFiles.WriteZip(dir["audio/zip/bbb.zip"], "bbb.pkl", [0x80, 0x02, (byte)']', (byte)'q', 0, (byte)'(', (byte)'K', 1, (byte)'K', 2, (byte)'e', (byte)'.']);
        using var ds = VggSoundDataset.Open(dir.Path);
        var e = Assert.Throws<DatasetFormatException>(() => ds.ReadAudio([1], new float[T * Da]));
        Assert.Equal($"{dir["audio/zip/bbb.zip"]}: member 'bbb.pkl' holds a list of 2; expected a numpy ndarray", e.Message);

        var bytes = File.ReadAllBytes(dir["audio/zip/ccc.zip"]);
        File.WriteAllBytes(dir["audio/zip/ccc.zip"], bytes[..(bytes.Length - 30)]);
        var cut = Assert.Throws<DatasetFormatException>(() => ds.ReadAudio([2], new float[T * Da]));
        Assert.StartsWith($"{dir["audio/zip/ccc.zip"]}: cannot be read as a zip", cut.Message);
    }

    [Fact]
    public void MemberNameThatEscapesItsFolderIsRefusedByName()
    {
        using var dir = new TempDir();
        WriteVgg(dir);
        // the only member is a valid array pickle, under a name outside the archive's folder
        TestFiles.WriteZip(dir["audio/zip/bbb.zip"], "../bbb.pkl", NumpyPickleEmitter.Float32(AudioRows(10, 0), [10, Da]));
        using (var ds = VggSoundDataset.Open(dir.Path))
        {
            var e = Assert.Throws<DatasetFormatException>(() => ds.ReadAudio([1], new float[T * Da]));
            Assert.Equal($"{dir["audio/zip/bbb.zip"]}: member '../bbb.pkl' escapes the archive's folder (an absolute path or a '..' segment); expected member names inside it, such as 'bbb.pkl'", e.Message);
        }
        // beside a valid member too, and on the first video (read when the dataset is opened)
        using (var zip = System.IO.Compression.ZipFile.Open(dir["audio/zip/aaa.zip"], System.IO.Compression.ZipArchiveMode.Update))
            zip.CreateEntry("x/../../x.pkl");
        var first = Assert.Throws<DatasetFormatException>(() => VggSoundDataset.Open(dir.Path));
        Assert.Equal(dir["audio/zip/aaa.zip"], first.File);
        Assert.Contains("member 'x/../../x.pkl' escapes the archive's folder", first.Message);
    }

    [Theory]
    [InlineData("bbb.pkl", false)]
    [InlineData("features/bbb.pkl", false)]
    [InlineData("bbb..pkl", false)]
    [InlineData("../x.pkl", true)]
    [InlineData("a/../../x.pkl", true)]
    [InlineData("..\\x.pkl", true)]
    [InlineData("/etc/x.pkl", true)]
    [InlineData("\\x.pkl", true)]
    [InlineData("C:x.pkl", true)]
    public void EscapingMemberNames(string name, bool escapes) => Assert.Equal(escapes, PickledFeatureZip.EscapesFolder(name));

    [Fact]
    public void NonFiniteValueInAPickleIsReported()
    {
        using var dir = new TempDir();
        WriteVgg(dir);
        var rows = AudioRows(10, 200);
        rows[5 * Da + 1] = float.NegativeInfinity;
        Pickle(dir["audio/zip/ccc.zip"], rows, [10, Da]);
        using var ds = VggSoundDataset.Open(dir.Path);
        var e = Assert.Throws<DatasetFormatException>(() => ds.ReadAudio([2], new float[T * Da]));
        Assert.Equal($"{dir["audio/zip/ccc.zip"]}: pickled audio clip 2 (id ccc) holds -Inf at segment 5, element 1; expected finite values", e.Message);
    }

    [Fact]
    public void PadOrTruncateRepeatsTheLastRow()
    {
        var dst = new float[4 * 2];
        ZippedFeatures.PadOrTruncate([1, 2, 3, 4], 2, 2, 4, dst);
        Assert.Equal([1f, 2, 3, 4, 3, 4, 3, 4], dst);
        ZippedFeatures.PadOrTruncate([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5, 2, 4, dst);
        Assert.Equal([1f, 2, 3, 4, 5, 6, 7, 8], dst);
    }
}

public sealed class AvvpDatasetTests
{
    private const int T = 10, Da = 2, G = 1, Dv = 2, C = 3;

    private static void WriteAvvp(TempDir dir, string audioRows, string visualRows)
    {
        Directory.CreateDirectory(dir["data"]);
        File.WriteAllLines(dir["data/AVVP_Categories.txt"], ["Speech", "Dog", "Car"]);
        File.WriteAllText(dir["data/AVVP_eval_audio_checked_combined.csv"], "filename\tonset\toffset\tevent_labels\n" + audioRows);
        File.WriteAllText(dir["data/AVVP_eval_visual_checked_combined.csv"], "filename\tonset\toffset\tevent_labels\n" + visualRows);
        foreach (var id in new[] { "IgN7v8nWmx8", "-0A9suni5YA" })
        {
            TestFiles.WriteZip(dir[$"feature/audio/zip/{id}.zip"], id + ".pkl", NumpyPickleEmitter.Float32(TestFiles.Ramp(10 * Da), [10, Da]));
            TestFiles.WriteZip(dir[$"feature/video/zip/{id}.zip"], id + ".pkl", NumpyPickleEmitter.Float32(TestFiles.Ramp(T * G * G * Dv), [T, G, G, Dv]));
        }
    }

    private static float[] Row(params float[] values) => values;

    [Fact]
    public void BuildsLabelsAsTheReferenceDoes()
    {
        using var dir = new TempDir();
        // audio: speech 0–3 and 6–8 (two events of one class), dog 2–5; the second video has only a visual event
        WriteAvvp(dir, "IgN7v8nWmx8_30_40\t0,2,6\t3,5,8\tSpeech,Dog,Speech\n", "IgN7v8nWmx8_30_40\t4\t10\tCar\n-0A9suni5YA_0_10\t1\t2\tDog\n");
        using var ds = DatasetOpener.Open("avvp:" + dir.Path);
        Assert.True(ds.HasTrackLabels);
        Assert.Equal(["IgN7v8nWmx8_30_40", "-0A9suni5YA_0_10"], new[] { ds.ClipId(0), ds.ClipId(1) });
        Assert.Equal([0], ds.Splits["audio"]);
        Assert.Equal([0, 1], ds.Splits["visual"]);

        // hand-computed audio label of clip 0, columns Speech, Dog, Car, background
        float[][] audioExpected =
        [
            Row(1, 0, 0, 0), Row(1, 0, 0, 0), Row(1, 1, 0, 0), Row(0, 1, 0, 0), Row(0, 1, 0, 0),
            Row(0, 0, 0, 1), Row(1, 0, 0, 0), Row(1, 0, 0, 0), Row(0, 0, 0, 1), Row(0, 0, 0, 1),
        ];
        var labels = new float[T * (C + 1)];
        ds.ReadLabels([0], labels, LabelTrack.Audio);
        Assert.Equal(audioExpected.SelectMany(r => r), labels);

        // the clip track ORs the visual Car 4–9 in
        float[][] clipExpected =
        [
            Row(1, 0, 0, 0), Row(1, 0, 0, 0), Row(1, 1, 0, 0), Row(0, 1, 0, 0), Row(0, 1, 1, 0),
            Row(0, 0, 1, 0), Row(1, 0, 1, 0), Row(1, 0, 1, 0), Row(0, 0, 1, 0), Row(0, 0, 1, 0),
        ];
        ds.ReadLabels([0], labels);
        Assert.Equal(clipExpected.SelectMany(r => r), labels);

        // clip 1 has no audio annotation: background everywhere on the audio track
        ds.ReadLabels([1], labels, LabelTrack.Audio);
        for (var t = 0; t < T; t++) Assert.Equal([0f, 0f, 0f, 1f], labels[(t * 4)..((t + 1) * 4)]);

        // features come from the first 11 characters of the file name
        var audio = new float[T * Da];
        ds.ReadAudio([1], audio);
        Assert.Equal(TestFiles.Ramp(T * Da), audio);
    }

    [Fact]
    public void BadAnnotationsAreReported()
    {
        using var dir = new TempDir();
        WriteAvvp(dir, "IgN7v8nWmx8_30_40\t0,2\t3\tSpeech,Dog\n", "IgN7v8nWmx8_30_40\t4\t10\tCar\n");
        var counts = Assert.Throws<DatasetFormatException>(() => AvvpDataset.Open(dir.Path));
        Assert.Equal($"{dir["data/AVVP_eval_audio_checked_combined.csv"]}: line 2: 2 event_labels, 2 onsets, 1 offsets; expected one onset and offset per event", counts.Message);

        WriteAvvp(dir, "IgN7v8nWmx8_30_40\t8\t11\tSpeech\n", "IgN7v8nWmx8_30_40\t4\t10\tCar\n");
        var range = Assert.Throws<DatasetFormatException>(() => AvvpDataset.Open(dir.Path));
        Assert.EndsWith("line 2: event 'Speech' has onset 8, offset 11; expected 0 <= onset <= offset <= 10", range.Message);

        WriteAvvp(dir, "IgN7v8nWmx8_30_40\t0\t1\tSpeech\n", "IgN7v8nWmx8_30_40\t4\t10\tHorse\n");
        var unknown = Assert.Throws<DatasetFormatException>(() => AvvpDataset.Open(dir.Path));
        Assert.Equal($"{dir["data/AVVP_eval_visual_checked_combined.csv"]}: line 2: event label 'Horse' is not a class of the categories file; expected one of its 3 names", unknown.Message);
    }

    [Fact]
    public void FeatureZipMemberThatEscapesItsFolderIsRefusedByName()
    {
        using var dir = new TempDir();
        WriteAvvp(dir, "IgN7v8nWmx8_30_40\t0\t1\tSpeech\n", "IgN7v8nWmx8_30_40\t4\t10\tCar\n");
        TestFiles.WriteZip(dir["feature/video/zip/IgN7v8nWmx8.zip"], "../../IgN7v8nWmx8.pkl",
            NumpyPickleEmitter.Float32(TestFiles.Ramp(T * G * G * Dv), [T, G, G, Dv]));
        var e = Assert.Throws<DatasetFormatException>(() => AvvpDataset.Open(dir.Path));
        Assert.Equal($"{dir["feature/video/zip/IgN7v8nWmx8.zip"]}: member '../../IgN7v8nWmx8.pkl' escapes the archive's folder (an absolute path or a '..' segment); expected member names inside it, such as 'IgN7v8nWmx8.pkl'", e.Message);
    }
}
