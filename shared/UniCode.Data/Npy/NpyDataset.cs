using System.Text.Json;

namespace UniCode.Data.Npy;

/// <summary>
/// A directory of packed <c>.npy</c> arrays (UniCode's own layout, e.g. features pre-packed from zips):
/// <c>audio.npy</c> [N,T,Da], <c>video.npy</c> [N,T,G,G,Dv], <c>labels.npy</c> [N,T,C+1] (one-hot, background last),
/// optional <c>text.npy</c> [N,T,Dt], optional <c>splits.json</c> (<c>{"train": [0, 5, …], "val": […], …}</c>;
/// without it one split "all" = 0..N−1), optional <c>categories.txt</c>. Arrays are '&lt;f4' or '&lt;f8', C order,
/// format 1.0–3.0, read a clip at a time by offset.
/// </summary>
public sealed class NpyDataset : ClipDataset
{
    public const string AudioFile = "audio.npy";
    public const string VideoFile = "video.npy";
    public const string LabelsFile = "labels.npy";
    public const string TextFile = "text.npy";
    public const string SplitsFile = "splits.json";
    public const string CategoriesFile = "categories.txt";

    private readonly NpyFile _audio;
    private readonly NpyFile _video;
    private readonly NpyFile _labels;
    private readonly NpyFile? _text;

    private NpyDataset(string name, ClipLayout layout, string[] classes, Dictionary<string, int[]> splits,
        NpyFile audio, NpyFile video, NpyFile labels, NpyFile? text)
        : base(name, (int)audio.Shape[0], layout, classes, splits)
    {
        _audio = audio;
        _video = video;
        _labels = labels;
        _text = text;
    }

    public static NpyDataset Open(string directory, DatasetExpectations? expectations = null)
    {
        var expect = expectations ?? DatasetExpectations.None;
        if (!Directory.Exists(directory))
            throw new DatasetFormatException(directory, $"directory not found; expected {AudioFile}, {VideoFile}, {LabelsFile} (+ optional {TextFile}, {SplitsFile})");
        var opened = new List<NpyFile>();
        try
        {
            NpyFile Open(string file)
            {
                var f = NpyFile.Open(Path.Combine(directory, file));
                opened.Add(f);
                return f;
            }

            var audio = Open(AudioFile);
            ShapeRule.Check(audio.Path, "array", audio.Shape, Dim.Free("N"), Dim.Of("T", expect.Segments), Dim.Of("Da", expect.AudioDim));
            long n = audio.Shape[0], t = audio.Shape[1];
            var video = Open(VideoFile);
            ShapeRule.CheckAgrees(video.Path, "array", video.Shape, audio.Path, "array", audio.Shape);
            ShapeRule.Check(video.Path, "array", video.Shape, Dim.Is(n), Dim.Is(t), Dim.Of("G", expect.VideoGrid), Dim.Of("G", expect.VideoGrid), Dim.Of("Dv", expect.VideoDim));
            var labels = Open(LabelsFile);
            ShapeRule.CheckAgrees(labels.Path, "array", labels.Shape, audio.Path, "array", audio.Shape);
            ShapeRule.Check(labels.Path, "array", labels.Shape, Dim.Is(n), Dim.Is(t), Dim.Of("C+1", expect.Classes + 1));
            if (labels.Shape[2] < 2)
                throw new DatasetFormatException(labels.Path, $"array has shape {FloatChecks.Shape(labels.Shape)}; expected [N,T,C+1] with at least one class");
            NpyFile? text = null;
            if (File.Exists(Path.Combine(directory, TextFile)))
            {
                text = Open(TextFile);
                ShapeRule.CheckAgrees(text.Path, "array", text.Shape, audio.Path, "array", audio.Shape);
                ShapeRule.Check(text.Path, "array", text.Shape, Dim.Is(n), Dim.Is(t), Dim.Of("Dt", expect.TextDim));
            }
            else if (expect.TextDim is { } dt)
            {
                throw new DatasetFormatException(Path.Combine(directory, TextFile), $"file not found; expected text tokens [N,{t},{dt}]");
            }
            var classes = (int)labels.Shape[2] - 1;
            var splits = ReadSplits(Path.Combine(directory, SplitsFile), (int)n);
            var names = CategoryFile.ReadForLabels(Path.Combine(directory, CategoriesFile), labels.Path, "array", labels.Shape);
            var layout = new ClipLayout((int)t, (int)audio.Shape[2], (int)video.Shape[2], (int)video.Shape[4], text is null ? 0 : (int)text.Shape[2], classes);
            return new NpyDataset(new DatasetName(DatasetKind.Npy, directory).ToString(), layout, names, splits, audio, video, labels, text);
        }
        catch
        {
            foreach (var f in opened) f.Dispose();
            throw;
        }
    }

    private static Dictionary<string, int[]> ReadSplits(string path, int count)
    {
        if (!File.Exists(path)) return new() { ["all"] = Enumerable.Range(0, count).ToArray() };
        Dictionary<string, long[]>? raw;
        try
        {
            raw = JsonSerializer.Deserialize<Dictionary<string, long[]>>(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new DatasetFormatException(path, $"is not a JSON object of integer lists ({e.Message}); expected {{\"train\": [0, 1, …], \"val\": […], \"test\": […]}}", e);
        }
        if (raw is null || raw.Count == 0) throw new DatasetFormatException(path, "holds no splits; expected {\"train\": [0, 1, …], …}");
        var splits = new Dictionary<string, int[]>();
        foreach (var (name, indices) in raw)
        {
            for (var p = 0; p < indices.Length; p++)
                if (indices[p] < 0 || indices[p] >= count)
                    throw new DatasetFormatException(path, $"split '{name}' has index {indices[p]} at position {p}; expected 0 <= index < {count} (N from {AudioFile})");
            splits[name] = indices.Select(i => (int)i).ToArray();
        }
        return splits;
    }

    protected override void ReadAudioClip(int clip, Span<float> destination) => _audio.ReadRow(clip, destination);

    protected override void ReadVideoClip(int clip, Span<float> destination) => _video.ReadRow(clip, destination);

    protected override void ReadTextClip(int clip, Span<float> destination) => _text!.ReadRow(clip, destination);

    protected override void ReadLabelsClip(int clip, LabelTrack track, Span<float> destination) => _labels.ReadRow(clip, destination);

    protected override (string File, string Field) Source(ClipField field, int clip, LabelTrack track) => field switch
    {
        ClipField.Audio => (_audio.Path, "array"),
        ClipField.Video => (_video.Path, "array"),
        ClipField.Text => (_text!.Path, "array"),
        _ => (_labels.Path, "array"),
    };

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
