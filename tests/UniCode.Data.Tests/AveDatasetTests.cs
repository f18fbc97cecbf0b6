using UniCode.Data.Ave;

namespace UniCode.Data.Tests;

public sealed class AveDatasetTests
{
    private const int N = 3, T = 10, Da = 4, G = 2, Dv = 3, C = 2;

    /// <summary>A tiny AVE directory written with PureHDF: features are ramps so every value is known.</summary>
    private static void WriteAve(TempDir dir, float[]? audio = null, float[]? labels = null, ulong[]? audioDims = null, bool text = false)
    {
        TestFiles.WriteH5(dir["audio_feature.h5"], "avadataset", audio ?? TestFiles.Ramp(N * T * Da), audioDims ?? [N, T, Da]);
        TestFiles.WriteH5(dir["visual_feature.h5"], "avadataset", TestFiles.Ramp(N * T * G * G * Dv, 0.5f), N, T, G, G, Dv);
        // labels as float64, as AVE-ECCV18's labels.h5; clip 0: class 1 on seconds 2..5, clip 1: class 0 on 0..9, clip 2: class 1 on 9
        TestFiles.WriteH5(dir["labels.h5"], "avadataset",
            (labels ?? TestFiles.Labels(T, C, (1, 2, 4), (0, 0, 10), (1, 9, 1))).Select(v => (double)v).ToArray(), N, T, C + 1);
        TestFiles.WriteH5(dir["train_order.h5"], "order", new long[] { 2, 0 }, 2);
        TestFiles.WriteH5(dir["val_order.h5"], "order", new int[] { 1 }, 1);
        TestFiles.WriteH5(dir["test_order.h5"], "order", new long[] { 1 }, 1);
        if (text) TestFiles.WriteH5(dir["text_feature.h5"], "avadataset", TestFiles.Ramp(N * T * 5, -1f), N, T, 5);
    }

    [Fact]
    public void RoundTripsFeaturesLabelsSplitsAndClasses()
    {
        using var dir = new TempDir();
        WriteAve(dir, text: true);
        using var ds = DatasetOpener.Open("ave:" + dir.Path);
        Assert.IsType<AveDataset>(ds);
        Assert.Equal(new ClipLayout(T, Da, G, Dv, 5, C), ds.Layout);
        Assert.Equal(N, ds.Count);
        Assert.Equal(["class_00", "class_01"], ds.ClassNames);
        Assert.Equal([0, 2], ds.Splits["train"].Order());
        Assert.Equal([1], ds.Splits["val"]);

        // clips 2 then 0, in that order, into one contiguous [2,T,Da] buffer
        var audio = new float[2 * T * Da];
        ds.ReadAudio([2, 0], audio);
        Assert.Equal(TestFiles.Ramp(T * Da, 1f, 2 * T * Da), audio[..(T * Da)]);
        Assert.Equal(TestFiles.Ramp(T * Da), audio[(T * Da)..]);

        var video = new float[T * G * G * Dv];
        ds.ReadVideo([1], video);
        Assert.Equal(TestFiles.Ramp(T * G * G * Dv, 0.5f, 0.5f * T * G * G * Dv), video);

        var text = new float[T * 5];
        ds.ReadText([2], text);
        Assert.Equal(-1f * (2 * T * 5 + 7), text[7]);

        var labels = new float[T * (C + 1)];
        ds.ReadLabels([0], labels);
        Assert.Equal(1f, labels[2 * 3 + 1]);  // second 2, class 1
        Assert.Equal(1f, labels[1 * 3 + 2]);  // second 1, background
        var classes = new long[3];
        ds.ReadClasses([0, 1, 2], classes);
        Assert.Equal([1L, 0L, 1L], classes);
    }

    [Fact]
    public void ReadsCategoriesFile()
    {
        using var dir = new TempDir();
        WriteAve(dir);
        File.WriteAllLines(dir["categories.txt"], ["Church bell", "Bark", ""]);
        using var ds = AveDataset.Open(dir.Path);
        Assert.Equal(["Church bell", "Bark"], ds.ClassNames);
    }

    [Fact]
    public void WrongShapeNamesFileFieldAndExpectation()
    {
        using var dir = new TempDir();
        WriteAve(dir, audio: TestFiles.Ramp(N * T * 127), audioDims: [N, T, 127]);
        var e = Assert.Throws<DatasetFormatException>(() => AveDataset.Open(dir.Path, DatasetExpectations.Reference));
        Assert.Equal($"{dir["audio_feature.h5"]}: dataset 'avadataset' has shape [3,10,127]; expected [N,10,128]", e.Message);
    }

    [Fact]
    public void MismatchedClipCountIsReported()
    {
        using var dir = new TempDir();
        WriteAve(dir);
        TestFiles.WriteH5(dir["visual_feature.h5"], "avadataset", TestFiles.Ramp(2 * T * G * G * Dv), 2, T, G, G, Dv);
        var e = Assert.Throws<DatasetFormatException>(() => AveDataset.Open(dir.Path));
        // both files, both fields, both counts
        Assert.Equal($"{dir["visual_feature.h5"]}: dataset 'avadataset' has 2 clips (N, shape [2,10,2,2,3]) but {dir["audio_feature.h5"]} dataset 'avadataset' has 3 (shape [3,10,4]); expected the same N in both files", e.Message);
    }

    [Fact]
    public void MismatchedClipCountOrSegmentsOfLabelsAndTextNameBothFiles()
    {
        using var dir = new TempDir();
        WriteAve(dir, text: true);
        TestFiles.WriteH5(dir["labels.h5"], "avadataset", new double[4 * T * (C + 1)], 4, T, C + 1);
        var labels = Assert.Throws<DatasetFormatException>(() => AveDataset.Open(dir.Path));
        Assert.Equal($"{dir["labels.h5"]}: dataset 'avadataset' has 4 clips (N, shape [4,10,3]) but {dir["audio_feature.h5"]} dataset 'avadataset' has 3 (shape [3,10,4]); expected the same N in both files", labels.Message);

        WriteAve(dir);
        TestFiles.WriteH5(dir["text_feature.h5"], "avadataset", new float[N * 9 * 5], N, 9, 5);
        var text = Assert.Throws<DatasetFormatException>(() => AveDataset.Open(dir.Path));
        Assert.Equal($"{dir["text_feature.h5"]}: dataset 'avadataset' has 9 segments per clip (T, shape [3,9,5]) but {dir["audio_feature.h5"]} dataset 'avadataset' has 10 (shape [3,10,4]); expected the same T in both files", text.Message);
    }

    [Fact]
    public void LabelWidthThatDoesNotMatchTheClassNamesSaysTheExpectedWidth()
    {
        using var dir = new TempDir();
        WriteAve(dir);
        File.WriteAllLines(dir["categories.txt"], ["Church bell", "Bark", "Horse"]);   // 3 names, labels have 2 classes + background
        var e = Assert.Throws<DatasetFormatException>(() => AveDataset.Open(dir.Path));
        Assert.Equal($"{dir["labels.h5"]}: dataset 'avadataset' has 3 label columns (shape [3,10,3]); expected 4 (the 3 class names of {dir["categories.txt"]} + the background column)", e.Message);

        // an expected class count (the model's) names the width too
        File.Delete(dir["categories.txt"]);
        var expected = Assert.Throws<DatasetFormatException>(() => AveDataset.Open(dir.Path, new DatasetExpectations(Classes: 28)));
        Assert.Equal($"{dir["labels.h5"]}: dataset 'avadataset' has shape [3,10,3]; expected [3,10,29]", expected.Message);
    }

    [Fact]
    public void MissingKeyAndMissingFileAreReported()
    {
        using var dir = new TempDir();
        WriteAve(dir);
        TestFiles.WriteH5(dir["labels.h5"], "labels", new double[N * T * (C + 1)], N, T, C + 1);
        var key = Assert.Throws<DatasetFormatException>(() => AveDataset.Open(dir.Path));
        Assert.Equal($"{dir["labels.h5"]}: has no dataset 'avadataset' (found 'labels'); expected dataset 'avadataset'", key.Message);

        File.Delete(dir["labels.h5"]);
        var file = Assert.Throws<DatasetFormatException>(() => AveDataset.Open(dir.Path));
        Assert.StartsWith($"{dir["labels.h5"]}: file not found", file.Message);
    }

    [Fact]
    public void TruncatedFileIsReported()
    {
        using var dir = new TempDir();
        WriteAve(dir);
        var bytes = File.ReadAllBytes(dir["visual_feature.h5"]);
        File.WriteAllBytes(dir["visual_feature.h5"], bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<DatasetFormatException>(() => AveDataset.Open(dir.Path));
        Assert.StartsWith($"{dir["visual_feature.h5"]}: cannot be read as HDF5", e.Message);
    }

    [Fact]
    public void NonFiniteValuesAreReportedWhereTheyAreRead()
    {
        using var dir = new TempDir();
        var audio = TestFiles.Ramp(N * T * Da);
        audio[(1 * T + 3) * Da + 2] = float.NaN;  // clip 1, second 3, element 2
        audio[(2 * T + 0) * Da + 0] = float.PositiveInfinity;
        WriteAve(dir, audio: audio);
        using var ds = AveDataset.Open(dir.Path); // opening reads no features
        var buffer = new float[T * Da];
        ds.ReadAudio([0], buffer);                 // clip 0 is clean
        var nan = Assert.Throws<DatasetFormatException>(() => ds.ReadAudio([1], buffer));
        Assert.Equal($"{dir["audio_feature.h5"]}: dataset 'avadataset' clip 1 (id 1) holds NaN at segment 3, element 2; expected finite values", nan.Message);
        var inf = Assert.Throws<DatasetFormatException>(() => ds.ReadAudio([2], buffer));
        Assert.Contains("holds +Inf at segment 0, element 0", inf.Message);
    }

    [Fact]
    public void LabelRowThatIsNotOneHotIsReported()
    {
        using var dir = new TempDir();
        var labels = TestFiles.Labels(T, C, (1, 2, 4), (0, 0, 10), (1, 9, 1));
        labels[(1 * T + 4) * (C + 1) + 1] = 1f; // clip 1, second 4: class 0 and class 1
        WriteAve(dir, labels: labels);
        using var ds = AveDataset.Open(dir.Path);
        var buffer = new float[T * (C + 1)];
        var e = Assert.Throws<DatasetFormatException>(() => ds.ReadLabels([1], buffer));
        Assert.Equal($"{dir["labels.h5"]}: dataset 'avadataset' clip 1 (id 1) segment 4 has row [1,1,0]; expected a one-hot row over 3 columns (background last)", e.Message);
    }

    [Fact]
    public void OrderIndexOutOfRangeIsReported()
    {
        using var dir = new TempDir();
        WriteAve(dir);
        TestFiles.WriteH5(dir["test_order.h5"], "order", new long[] { 0, 3 }, 2);
        var e = Assert.Throws<DatasetFormatException>(() => AveDataset.Open(dir.Path));
        Assert.Equal($"{dir["test_order.h5"]}: dataset 'order' has index 3 at position 1; expected 0 <= index < 3 (N from audio_feature.h5)", e.Message);
    }

    [Fact]
    public void CallerErrorsAreArgumentExceptions()
    {
        using var dir = new TempDir();
        WriteAve(dir);
        using var ds = AveDataset.Open(dir.Path);
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.ReadAudio([3], new float[T * Da]));
        Assert.Throws<ArgumentException>(() => ds.ReadAudio([0, 1], new float[T * Da]));
        Assert.Throws<InvalidOperationException>(() => ds.ReadText([0], new float[T]));
        Assert.Throws<KeyNotFoundException>(() => ds.Split("dev"));
    }

    [Fact]
    public void ExpectationsAreCheckedByTheOpener()
    {
        using var dir = new TempDir();
        WriteAve(dir);
        var e = Assert.Throws<DatasetFormatException>(() => DatasetOpener.Open("ave:" + dir.Path, new DatasetExpectations(TextDim: 768)));
        Assert.Equal($"{dir["text_feature.h5"]}: file not found; expected text tokens [N,10,768]", e.Message);
    }

    [Fact]
    public void WriterRoundTripsThroughTheReader()
    {
        using var dir = new TempDir();
        using var copy = new TempDir();
        WriteAve(dir, text: true);
        using var source = AveDataset.Open(dir.Path);
        AveLayoutWriter.Write(source, copy.Path);
        using var back = AveDataset.Open(copy.Path);
        Assert.Equal(source.ContentHash(), back.ContentHash());
        Assert.Equal(source.Layout, back.Layout);
    }
}
