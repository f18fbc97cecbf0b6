namespace UniCode.Data.Ave;

/// <summary>
/// The AVE-ECCV18 layout (a directory), read one clip (hyperslab row) at a time:
/// <list type="bullet">
/// <item><c>audio_feature.h5</c> dataset <c>avadataset</c> [N,T,Da] (reference: [4143,10,128]);</item>
/// <item><c>visual_feature.h5</c> dataset <c>avadataset</c> [N,T,G,G,Dv] ([4143,10,7,7,512]);</item>
/// <item><c>labels.h5</c> dataset <c>avadataset</c> [N,T,C+1], one-hot rows, background last ([4143,10,29]);</item>
/// <item><c>{train,val,test}_order.h5</c> dataset <c>order</c>: clip indices (3339/402/402);</item>
/// <item>UniCode extensions, optional: <c>text_feature.h5</c> dataset <c>avadataset</c> [N,T,Dt] (text tokens,
/// written by the synthetic benchmark) and <c>categories.txt</c> (C class names, one a line; otherwise "class_00"…).</item>
/// </list>
/// Element types float32/float64/integers are accepted and converted to float32.
/// </summary>
public sealed class AveDataset : ClipDataset
{
    public const string AudioFile = "audio_feature.h5";
    public const string VideoFile = "visual_feature.h5";
    public const string LabelsFile = "labels.h5";
    public const string TextFile = "text_feature.h5";
    public const string CategoriesFile = "categories.txt";
    public const string FeatureKey = "avadataset";
    public const string OrderKey = "order";

    /// <summary>The split names; each is read from <c>{name}_order.h5</c>.</summary>
    public static IReadOnlyList<string> SplitNames { get; } = ["train", "val", "test"];

    private readonly H5Array _audio;
    private readonly H5Array _video;
    private readonly H5Array _labels;
    private readonly H5Array? _text;

    private AveDataset(string name, ClipLayout layout, IReadOnlyList<string> classes, Dictionary<string, int[]> splits,
        H5Array audio, H5Array video, H5Array labels, H5Array? text)
        : base(name, (int)audio.Dims[0], layout, classes, splits)
    {
        _audio = audio;
        _video = video;
        _labels = labels;
        _text = text;
        Directory = name[(name.IndexOf(':') + 1)..];
    }

    public string Directory { get; }

    public static AveDataset Open(string directory, DatasetExpectations? expectations = null)
    {
        var expect = expectations ?? DatasetExpectations.None;
        if (!System.IO.Directory.Exists(directory))
            throw new DatasetFormatException(directory,
                $"directory not found; expected the AVE layout ({AudioFile}, {VideoFile}, {LabelsFile}, {string.Join(", ", SplitNames.Select(s => $"{s}_order.h5"))})");
        var opened = new List<H5Array>();
        try
        {
            H5Array Open(string file, string key)
            {
                var a = H5Array.Open(Path.Combine(directory, file), key);
                opened.Add(a);
                return a;
            }

            var audio = Open(AudioFile, FeatureKey);
            ShapeRule.Check(audio.File, audio.Field, audio.Dims,
                Dim.Free("N"), Dim.Of("T", expect.Segments), Dim.Of("Da", expect.AudioDim));
            var n = audio.Dims[0];
            var t = audio.Dims[1];
            var video = Open(VideoFile, FeatureKey);
            ShapeRule.CheckAgrees(video.File, video.Field, video.Dims, audio.File, audio.Field, audio.Dims);
            ShapeRule.Check(video.File, video.Field, video.Dims,
                Dim.Is(n), Dim.Is(t), Dim.Of("G", expect.VideoGrid), Dim.Of("G", expect.VideoGrid), Dim.Of("Dv", expect.VideoDim));
            var labels = Open(LabelsFile, FeatureKey);
            ShapeRule.CheckAgrees(labels.File, labels.Field, labels.Dims, audio.File, audio.Field, audio.Dims);
            ShapeRule.Check(labels.File, labels.Field, labels.Dims,
                Dim.Is(n), Dim.Is(t), Dim.Of("C+1", expect.Classes + 1));
            if (labels.Dims[2] < 2)
                throw new DatasetFormatException(labels.File, $"{labels.Field} has shape {FloatChecks.Shape(labels.Dims)}; expected [N,T,C+1] with at least one class before the background column");
            H5Array? text = null;
            if (File.Exists(Path.Combine(directory, TextFile)))
            {
                text = Open(TextFile, FeatureKey);
                ShapeRule.CheckAgrees(text.File, text.Field, text.Dims, audio.File, audio.Field, audio.Dims);
                ShapeRule.Check(text.File, text.Field, text.Dims, Dim.Is(n), Dim.Is(t), Dim.Of("Dt", expect.TextDim));
            }
            else if (expect.TextDim is { } dt)
            {
                throw new DatasetFormatException(Path.Combine(directory, TextFile), $"file not found; expected text tokens [N,{t},{dt}]");
            }

            var classes = (int)labels.Dims[2] - 1;
            var splits = new Dictionary<string, int[]>();
            foreach (var split in SplitNames)
            {
                using var order = H5Array.Open(Path.Combine(directory, $"{split}_order.h5"), OrderKey);
                var indices = order.ReadIndices();
                var list = new int[indices.Length];
                for (var i = 0; i < indices.Length; i++)
                {
                    if (indices[i] < 0 || indices[i] >= n)
                        throw new DatasetFormatException(order.File,
                            $"{order.Field} has index {indices[i]} at position {i}; expected 0 <= index < {n} (N from {AudioFile})");
                    list[i] = (int)indices[i];
                }
                splits[split] = list;
            }
            var names = CategoryFile.ReadForLabels(Path.Combine(directory, CategoriesFile), labels.File, labels.Field, labels.Dims);
            var layout = new ClipLayout((int)t, (int)audio.Dims[2], (int)video.Dims[2], (int)video.Dims[4],
                text is null ? 0 : (int)text.Dims[2], classes);
            return new AveDataset(new DatasetName(DatasetKind.Ave, directory).ToString(), layout, names, splits, audio, video, labels, text);
        }
        catch
        {
            foreach (var a in opened) a.Dispose();
            throw;
        }
    }

    protected override void ReadAudioClip(int clip, Span<float> destination) => _audio.ReadRow(clip, destination);

    protected override void ReadVideoClip(int clip, Span<float> destination) => _video.ReadRow(clip, destination);

    protected override void ReadTextClip(int clip, Span<float> destination) => _text!.ReadRow(clip, destination);

    protected override void ReadLabelsClip(int clip, LabelTrack track, Span<float> destination) => _labels.ReadRow(clip, destination);

    protected override (string File, string Field) Source(ClipField field, int clip, LabelTrack track)
    {
        var a = field switch
        {
            ClipField.Audio => _audio,
            ClipField.Video => _video,
            ClipField.Text => _text!,
            _ => _labels,
        };
        return (a.File, a.Field);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _audio.Dispose();
            _video.Dispose();
            _labels.Dispose();
            _text?.Dispose();
        }
        base.Dispose(disposing);
    }
}
