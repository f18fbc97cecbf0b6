namespace UniCode.Data.Zipped;

/// <summary>
/// Audio and video features stored one zip per video (VGGSound-AVEL, AVVP). Audio [rows,Da] is brought to T rows
/// as the reference loaders do (fewer: repeat the last row; more: keep the first T); video must be [T,G,G,Dv]
/// (the reference applies no padding to video).
/// </summary>
internal sealed class ZippedFeatures
{
    private ZippedFeatures(string audioDir, string videoDir, int segments, int audioDim, int grid, int videoDim)
    {
        AudioDirectory = audioDir;
        VideoDirectory = videoDir;
        Segments = segments;
        AudioDim = audioDim;
        Grid = grid;
        VideoDim = videoDim;
    }

    public string AudioDirectory { get; }
    public string VideoDirectory { get; }
    public int Segments { get; }
    public int AudioDim { get; }
    public int Grid { get; }
    public int VideoDim { get; }

    public string AudioPath(string id) => Path.Combine(AudioDirectory, id + ".zip");

    public string VideoPath(string id) => Path.Combine(VideoDirectory, id + ".zip");

    /// <summary>Fixes Da, G, Dv from the first video's files (checked against the expectations).</summary>
    public static ZippedFeatures Probe(string audioDir, string videoDir, string firstId, DatasetExpectations expect)
    {
        foreach (var dir in new[] { audioDir, videoDir })
            if (!Directory.Exists(dir))
                throw new DatasetFormatException(dir, "directory not found; expected one <id>.zip per video");
        var t = expect.SegmentsOrDefault;
        var audioPath = Path.Combine(audioDir, firstId + ".zip");
        var audio = PickledFeatureZip.Read(audioPath);
        if (audio.Shape.Length != 2 || (expect.AudioDim is { } da && audio.Shape[1] != da))
            throw new DatasetFormatException(audioPath, $"array has shape {FloatChecks.Shape(audio.Shape)}; expected [rows,{expect.AudioDim?.ToString() ?? "Da"}]");
        var videoPath = Path.Combine(videoDir, firstId + ".zip");
        var video = PickledFeatureZip.Read(videoPath);
        var s = video.Shape;
        if (s.Length != 4 || s[0] != t || s[1] != s[2] || (expect.VideoGrid is { } g && s[1] != g) || (expect.VideoDim is { } dv && s[3] != dv))
            throw new DatasetFormatException(videoPath,
                $"array has shape {FloatChecks.Shape(s)}; expected [{t},{expect.VideoGrid?.ToString() ?? "G"},{expect.VideoGrid?.ToString() ?? "G"},{expect.VideoDim?.ToString() ?? "Dv"}]");
        return new ZippedFeatures(audioDir, videoDir, t, (int)audio.Shape[1], (int)s[1], (int)s[3]);
    }

    /// <summary>Audio [T,Da]: fewer than T rows → repeat the last row; more → truncate.</summary>
    public void ReadAudio(string id, Span<float> destination)
    {
        var path = AudioPath(id);
        var (data, rows) = PickledFeatureZip.ReadRows(path, [AudioDim], $"rows,{AudioDim}");
        if (rows == 0) throw new DatasetFormatException(path, $"array has shape [0,{AudioDim}]; expected at least one row");
        PadOrTruncate(data, rows, AudioDim, Segments, destination);
    }

    /// <summary>Video [T,G,G,Dv], exactly.</summary>
    public void ReadVideo(string id, Span<float> destination)
    {
        var path = VideoPath(id);
        var (data, rows) = PickledFeatureZip.ReadRows(path, [Grid, Grid, VideoDim], $"{Segments},{Grid},{Grid},{VideoDim}");
        if (rows != Segments)
            throw new DatasetFormatException(path, $"array has shape [{rows},{Grid},{Grid},{VideoDim}]; expected [{Segments},{Grid},{Grid},{VideoDim}]");
        data.AsSpan().CopyTo(destination);
    }

    /// <summary>Copies the first min(rows,T) rows, then repeats the last copied row up to T.</summary>
    internal static void PadOrTruncate(ReadOnlySpan<float> data, int rows, int width, int segments, Span<float> destination)
    {
        var kept = Math.Min(rows, segments);
        data[..(kept * width)].CopyTo(destination);
        var last = data.Slice((kept - 1) * width, width);
        for (var t = kept; t < segments; t++) last.CopyTo(destination.Slice(t * width, width));
    }
}
