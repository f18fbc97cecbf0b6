using System.Text.Json;
using System.Text.Json.Serialization;
using UniCode.Data;
using UniCode.Data.Npy;

namespace UniCode.Preprocessing;

/// <summary>Per-clip sizes of a pack (the source's <see cref="ClipLayout"/>).</summary>
public sealed record PackLayout(int Segments, int AudioDim, int VideoGrid, int VideoDim, int TextDim, int Classes);

/// <summary>One array file of a pack.</summary>
/// <param name="Name">File name inside the pack directory.</param>
/// <param name="Dtype">numpy dtype string ('&lt;f4').</param>
/// <param name="Shape">Array shape.</param>
/// <param name="Bytes">File size.</param>
/// <param name="Sha256">sha256 of the file.</param>
public sealed record PackFile(string Name, string Dtype, IReadOnlyList<long> Shape, long Bytes, string Sha256);

/// <summary>
/// <c>manifest.json</c> of a pack (docs/preprocessing.md): what was packed, from where, its content hash,
/// layout, class names, split sizes, and every array file with its shape, size and sha256.
/// </summary>
public sealed record PackManifest(
    string Format, string ContentHash, string Source, int ClipCount, PackLayout Layout,
    IReadOnlyList<string> ClassNames, IReadOnlyDictionary<string, int> Splits, IReadOnlyList<PackFile> Files,
    DateTimeOffset CreatedAt)
{
    public const string CurrentFormat = "unicode.npy-pack/1";
    public const string FileName = "manifest.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public void Write(string directory) =>
        File.WriteAllText(Path.Combine(directory, FileName), JsonSerializer.Serialize(this, Json) + "\n");

    /// <summary>Reads a pack's manifest; throws <see cref="DatasetFormatException"/> naming the file when it is missing or malformed.</summary>
    public static PackManifest Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) throw new DatasetFormatException(path, "file not found; expected the manifest of a UniCode dataset pack");
        try
        {
            var manifest = JsonSerializer.Deserialize<PackManifest>(File.ReadAllText(path), Json);
            if (manifest is null || manifest.Format != CurrentFormat)
                throw new DatasetFormatException(path, $"field 'format' is '{manifest?.Format}'; expected '{CurrentFormat}'");
            return manifest;
        }
        catch (JsonException e)
        {
            throw new DatasetFormatException(path, $"is not a pack manifest ({e.Message})", e);
        }
    }
}

/// <summary>
/// Packs a <see cref="ClipDataset"/> into a directory the <c>npy:</c> reader (<see cref="NpyDataset"/>) opens:
/// <c>audio.npy</c> [N,T,Da], <c>video.npy</c> [N,T,G,G,Dv], <c>labels.npy</c> [N,T,C+1], <c>text.npy</c> [N,T,Dt]
/// (when the source has text), all '&lt;f4' C order, one contiguous array per field over every clip;
/// <c>splits.json</c> (every split's clip indices), <c>categories.txt</c> (class names) and
/// <c>manifest.json</c> (<see cref="PackManifest"/>). Clips keep their source order, so split indices are unchanged.
/// </summary>
public static class DatasetPacker
{
    /// <summary>True when the source can be packed: the npy layout holds one single-label track per clip.</summary>
    public static bool CanPack(ClipDataset source) => !source.HasTrackLabels;

    /// <summary>
    /// Writes the pack of <paramref name="source"/> into the empty <paramref name="directory"/>, a block of clips at a
    /// time; <paramref name="progress"/> gets the number of clips written after each block.
    /// </summary>
    public static PackManifest Pack(ClipDataset source, string directory, string contentHash, Action<int>? progress = null, CancellationToken cancellationToken = default)
    {
        if (!CanPack(source))
            throw new ArgumentException($"{source.Name}: has separate audio/visual label tracks; the npy pack holds one label track", nameof(source));
        var l = source.Layout;
        long n = source.Count, t = l.Segments;
        var audio = new NpyWriter(Path.Combine(directory, NpyDataset.AudioFile), [n, t, l.AudioDim]);
        var video = new NpyWriter(Path.Combine(directory, NpyDataset.VideoFile), [n, t, l.VideoGrid, l.VideoGrid, l.VideoDim]);
        var labels = new NpyWriter(Path.Combine(directory, NpyDataset.LabelsFile), [n, t, l.LabelDim]);
        var text = l.HasText ? new NpyWriter(Path.Combine(directory, NpyDataset.TextFile), [n, t, l.TextDim]) : null;
        NpyWriter[] writers = text is null ? [audio, video, labels] : [audio, video, labels, text];
        var files = new List<PackFile>();
        try
        {
            var block = Math.Clamp(4_000_000 / Math.Max(1, l.VideoPerClip), 1, 256);
            var ids = new int[block];
            var audioBuffer = new float[block * l.AudioPerClip];
            var videoBuffer = new float[block * l.VideoPerClip];
            var labelBuffer = new float[block * l.LabelsPerClip];
            var textBuffer = new float[block * l.TextPerClip];
            for (var start = 0; start < source.Count; start += block)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = Math.Min(block, source.Count - start);
                for (var i = 0; i < count; i++) ids[i] = start + i;
                var clips = ids.AsSpan(0, count);
                source.ReadAudio(clips, audioBuffer.AsSpan(0, count * l.AudioPerClip));
                audio.Write(audioBuffer.AsSpan(0, count * l.AudioPerClip));
                source.ReadVideo(clips, videoBuffer.AsSpan(0, count * l.VideoPerClip));
                video.Write(videoBuffer.AsSpan(0, count * l.VideoPerClip));
                source.ReadLabels(clips, labelBuffer.AsSpan(0, count * l.LabelsPerClip));
                labels.Write(labelBuffer.AsSpan(0, count * l.LabelsPerClip));
                if (text is not null)
                {
                    source.ReadText(clips, textBuffer.AsSpan(0, count * l.TextPerClip));
                    text.Write(textBuffer.AsSpan(0, count * l.TextPerClip));
                }
                progress?.Invoke(start + count);
            }
            foreach (var w in writers)
            {
                var (bytes, sha) = w.Complete();
                files.Add(new PackFile(System.IO.Path.GetFileName(w.Path), "<f4", w.Shape, bytes, sha));
            }
        }
        finally
        {
            foreach (var w in writers) w.Dispose();
        }

        var splits = source.Splits.ToDictionary(s => s.Key, s => s.Value.ToArray(), StringComparer.Ordinal);
        File.WriteAllText(Path.Combine(directory, NpyDataset.SplitsFile), JsonSerializer.Serialize(splits));
        File.WriteAllLines(Path.Combine(directory, NpyDataset.CategoriesFile), source.ClassNames);
        var manifest = new PackManifest(
            PackManifest.CurrentFormat, contentHash, source.Name, source.Count,
            new PackLayout(l.Segments, l.AudioDim, l.VideoGrid, l.VideoDim, l.TextDim, l.Classes),
            source.ClassNames.ToArray(),
            new SortedDictionary<string, int>(source.Splits.ToDictionary(s => s.Key, s => s.Value.Count), StringComparer.Ordinal),
            files, DateTimeOffset.UtcNow);
        manifest.Write(directory);
        return manifest;
    }

    /// <summary>
    /// Null when <paramref name="directory"/> holds a complete pack of <paramref name="contentHash"/> (manifest present
    /// and naming that hash, every array file present with its recorded size, and, when <paramref name="rehash"/>,
    /// its recorded sha256); otherwise what is wrong.
    /// </summary>
    public static string? Check(string directory, string contentHash, bool rehash)
    {
        PackManifest manifest;
        try
        {
            manifest = PackManifest.Read(directory);
        }
        catch (DatasetFormatException e)
        {
            return e.Message;
        }
        if (manifest.ContentHash != contentHash)
            return $"{Path.Combine(directory, PackManifest.FileName)}: field 'contentHash' is {manifest.ContentHash}; expected {contentHash}";
        foreach (var f in manifest.Files)
        {
            var path = Path.Combine(directory, f.Name);
            if (!File.Exists(path)) return $"{path}: file not found; the manifest lists it";
            var size = new FileInfo(path).Length;
            if (size != f.Bytes) return $"{path}: {size} bytes; the manifest says {f.Bytes}";
            if (rehash && Core.Sha256.OfFile(path) is var sha && sha != f.Sha256)
                return $"{path}: sha256 is {sha}; the manifest says {f.Sha256}";
        }
        foreach (var name in new[] { NpyDataset.SplitsFile, NpyDataset.CategoriesFile })
            if (!File.Exists(Path.Combine(directory, name))) return $"{Path.Combine(directory, name)}: file not found";
        return null;
    }
}
