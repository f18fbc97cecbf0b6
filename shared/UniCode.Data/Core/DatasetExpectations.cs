namespace UniCode.Data;

/// <summary>
/// What the consumer (usually the model config) requires of a dataset's shapes; null = accept what the files hold.
/// Readers check these when opening and name the offending file and field, e.g.
/// "audio_feature.h5: dataset 'avadataset' has shape [4143,10,127]; expected [N,10,128]".
/// </summary>
public sealed record DatasetExpectations(
    int? Segments = null,
    int? AudioDim = null,
    int? VideoGrid = null,
    int? VideoDim = null,
    int? TextDim = null,
    int? Classes = null)
{
    /// <summary>No requirement.</summary>
    public static DatasetExpectations None { get; } = new();

    /// <summary>The reference features (docs/reference-behaviour.md §1.2): T=10, VGGish 128, VGG-19 pool5 7×7×512.</summary>
    public static DatasetExpectations Reference { get; } = new(Segments: 10, AudioDim: 128, VideoGrid: 7, VideoDim: 512);

    /// <summary>T for the zipped-pickle layouts, whose files do not fix it (audio rows are padded/cut to it).</summary>
    internal int SegmentsOrDefault => Segments ?? 10;

    /// <summary>Throws when <paramref name="layout"/> contradicts an expectation; names the dataset.</summary>
    public void Check(string datasetName, ClipLayout layout)
    {
        static void One(string name, string what, int actual, int? expected)
        {
            if (expected is { } e && e != actual)
                throw new DatasetFormatException(name, $"{what} is {actual}; expected {e}");
        }
        One(datasetName, "segments per clip (T)", layout.Segments, Segments);
        One(datasetName, "audio dim", layout.AudioDim, AudioDim);
        One(datasetName, "video grid", layout.VideoGrid, VideoGrid);
        One(datasetName, "video dim", layout.VideoDim, VideoDim);
        if (TextDim is { } t)
        {
            if (!layout.HasText)
                throw new DatasetFormatException(datasetName, $"has no text features; expected text tokens of dim {t}");
            One(datasetName, "text token dim", layout.TextDim, t);
        }
        One(datasetName, "class count (C, background excluded)", layout.Classes, Classes);
    }
}
