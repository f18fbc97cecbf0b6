using System.Collections.ObjectModel;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace UniCode.Data;

/// <summary>
/// N clips × T one-second segments with audio [T,Da], video [T,G,G,Dv], optional text tokens [T,Dt] and
/// per-segment labels [T,C+1] (background last, as AVE), plus named splits of clip indices.
/// Batch reads fill contiguous row-major buffers — e.g. <see cref="ReadVideo"/> writes [n,T,G,G,Dv] for n clips —
/// so a model can wrap them as tensors without copies. Every value read is checked: non-finite features and
/// malformed label rows throw <see cref="DatasetFormatException"/> naming the file, field, clip and position.
/// Readers are safe to call from several threads; <see cref="ContentHash"/> is computed once and cached.
/// </summary>
public abstract class ClipDataset : IDisposable
{
    private readonly object _hashGate = new();
    private string? _contentHash;

    protected ClipDataset(string name, int count, ClipLayout layout, IReadOnlyList<string> classNames,
        IReadOnlyDictionary<string, int[]> splits)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentNullException.ThrowIfNull(splits);
        Name = name;
        layout.Validate(name);
        if (count <= 0) throw new DatasetFormatException(name, $"holds {count} clips; expected at least 1");
        if (classNames.Count != layout.Classes)
            throw new DatasetFormatException(name, $"has {classNames.Count} class names; expected {layout.Classes} (label columns − background)");
        var copy = new SortedDictionary<string, IReadOnlyList<int>>(StringComparer.Ordinal);
        foreach (var (split, indices) in splits)
        {
            for (var p = 0; p < indices.Length; p++)
                if ((uint)indices[p] >= (uint)count)
                    throw new DatasetFormatException(name, $"split '{split}' has index {indices[p]} at position {p}; expected 0 <= index < {count}");
            copy[split] = Array.AsReadOnly((int[])indices.Clone());
        }
        Count = count;
        Layout = layout;
        ClassNames = Array.AsReadOnly(classNames.ToArray());
        Splits = new ReadOnlyDictionary<string, IReadOnlyList<int>>(copy);
    }

    /// <summary>The <c>KIND:PATH</c> name the dataset was opened with.</summary>
    public string Name { get; }

    /// <summary>N, the number of clips.</summary>
    public int Count { get; }

    public ClipLayout Layout { get; }

    /// <summary>The C foreground class names (label column order; background is column C).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Named splits (e.g. train/val/test), each a list of clip indices, sorted by name.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int>> Splits { get; }

    /// <summary>True when <see cref="LabelTrack.Audio"/> and <see cref="LabelTrack.Visual"/> differ from the clip labels (AVVP).</summary>
    public virtual bool HasTrackLabels => false;

    /// <summary>A clip's identifier in its source (video id, file name) or its index.</summary>
    public string ClipId(int clip)
    {
        CheckClip(clip);
        return ClipIdCore(clip);
    }

    /// <summary>
    /// Where a field's values come from, for messages about the dataset as a whole: (file, field), e.g.
    /// ("/d/audio_feature.h5", "dataset 'avadataset'"); for per-clip files (zips), those of the first clip.
    /// <see cref="ClipField.Text"/> only when <see cref="ClipLayout.HasText"/>.
    /// </summary>
    public (string File, string Field) FieldSource(ClipField field) => Source(field, 0, LabelTrack.Clip);

    /// <summary>The indices of a split; throws <see cref="KeyNotFoundException"/> listing the splits there are.</summary>
    public int[] Split(string name) =>
        Splits.TryGetValue(name, out var indices)
            ? indices.ToArray()
            : throw new KeyNotFoundException($"{Name}: no split '{name}'; the splits are {string.Join(", ", Splits.Keys)}");

    /// <summary>Fills <paramref name="destination"/> [clips.Length, T, Da] row-major.</summary>
    public void ReadAudio(ReadOnlySpan<int> clips, Span<float> destination) =>
        ReadField(ClipField.Audio, LabelTrack.Clip, clips, destination);

    /// <summary>Fills <paramref name="destination"/> [clips.Length, T, G, G, Dv] row-major.</summary>
    public void ReadVideo(ReadOnlySpan<int> clips, Span<float> destination) =>
        ReadField(ClipField.Video, LabelTrack.Clip, clips, destination);

    /// <summary>Fills <paramref name="destination"/> [clips.Length, T, Dt] row-major; throws when there is no text.</summary>
    public void ReadText(ReadOnlySpan<int> clips, Span<float> destination)
    {
        if (!Layout.HasText) throw new InvalidOperationException($"{Name}: has no text features");
        ReadField(ClipField.Text, LabelTrack.Clip, clips, destination);
    }

    /// <summary>Fills <paramref name="destination"/> [clips.Length, T, C+1] row-major (background last).</summary>
    public void ReadLabels(ReadOnlySpan<int> clips, Span<float> destination, LabelTrack track = LabelTrack.Clip) =>
        ReadField(ClipField.Labels, track, clips, destination);

    /// <summary>
    /// Clip-level classes, as the reference's AVE protocol derives them (docs/reference-behaviour.md §3): per second the
    /// argmax over the C foreground columns (0 when all are 0), then the maximum over seconds. For a clip
    /// with one event class c this is c.
    /// </summary>
    public void ReadClasses(ReadOnlySpan<int> clips, Span<long> destination, LabelTrack track = LabelTrack.Clip)
    {
        if (destination.Length != clips.Length)
            throw new ArgumentException($"destination holds {destination.Length} values; expected {clips.Length} (one per clip)", nameof(destination));
        var labels = new float[Layout.LabelsPerClip];
        for (var i = 0; i < clips.Length; i++)
        {
            ReadLabels([clips[i]], labels, track);
            destination[i] = ClassFromLabels(labels, Layout.Segments, Layout.LabelDim);
        }
    }

    /// <summary>The clip-level class of one clip (see <see cref="ReadClasses"/>).</summary>
    public int ClipClass(int clip, LabelTrack track = LabelTrack.Clip)
    {
        Span<long> one = stackalloc long[1];
        ReadClasses([clip], one, track);
        return (int)one[0];
    }

    /// <summary>The reference rule: max over t of argmax_c labels[t, 0..C-1] (first maximum; all-zero row → 0).</summary>
    public static int ClassFromLabels(ReadOnlySpan<float> labels, int segments, int labelDim)
    {
        if (labels.Length != segments * labelDim)
            throw new ArgumentException($"labels hold {labels.Length} values; expected {segments}×{labelDim}", nameof(labels));
        var best = 0;
        for (var t = 0; t < segments; t++)
        {
            var row = labels.Slice(t * labelDim, labelDim - 1);
            var arg = 0;
            for (var c = 1; c < row.Length; c++)
                if (row[c] > row[arg]) arg = c;
            best = Math.Max(best, arg);
        }
        return best;
    }

    /// <summary>
    /// SHA-256 (lowercase hex) over, in order: a version tag, the layout sizes, then per clip its audio, video,
    /// text (if any), clip labels (and audio/visual labels when <see cref="HasTrackLabels"/>) as little-endian
    /// float32, then every split (by name: UTF-8 name, 0, count, int32 indices). Streamed a few clips at a time;
    /// reads the whole dataset once (minutes for the multi-GB real sets), then cached.
    /// </summary>
    public string ContentHash()
    {
        lock (_hashGate)
            return _contentHash ??= ComputeContentHash();
    }

    private string ComputeContentHash()
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("content hashes are defined on little-endian float32 bytes");
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData("unicode.clip-dataset.v1\n"u8);
        Span<int> header = [Count, Layout.Segments, Layout.AudioDim, Layout.VideoGrid, Layout.VideoDim, Layout.TextDim, Layout.Classes, HasTrackLabels ? 1 : 0];
        sha.AppendData(MemoryMarshal.AsBytes(header));

        var block = Math.Clamp(4_000_000 / Math.Max(1, Layout.VideoPerClip), 1, 64);
        var ids = new int[block];
        var audio = new float[block * Layout.AudioPerClip];
        var video = new float[block * Layout.VideoPerClip];
        var text = new float[block * Layout.TextPerClip];
        var tracks = HasTrackLabels ? new[] { LabelTrack.Clip, LabelTrack.Audio, LabelTrack.Visual } : [LabelTrack.Clip];
        var labels = tracks.Select(_ => new float[block * Layout.LabelsPerClip]).ToArray();
        for (var start = 0; start < Count; start += block)
        {
            var n = Math.Min(block, Count - start);
            for (var i = 0; i < n; i++) ids[i] = start + i;
            var span = ids.AsSpan(0, n);
            ReadAudio(span, audio.AsSpan(0, n * Layout.AudioPerClip));
            ReadVideo(span, video.AsSpan(0, n * Layout.VideoPerClip));
            if (Layout.HasText) ReadText(span, text.AsSpan(0, n * Layout.TextPerClip));
            for (var k = 0; k < tracks.Length; k++) ReadLabels(span, labels[k].AsSpan(0, n * Layout.LabelsPerClip), tracks[k]);
            for (var i = 0; i < n; i++)
            {
                sha.AppendData(MemoryMarshal.AsBytes(audio.AsSpan(i * Layout.AudioPerClip, Layout.AudioPerClip)));
                sha.AppendData(MemoryMarshal.AsBytes(video.AsSpan(i * Layout.VideoPerClip, Layout.VideoPerClip)));
                if (Layout.HasText) sha.AppendData(MemoryMarshal.AsBytes(text.AsSpan(i * Layout.TextPerClip, Layout.TextPerClip)));
                foreach (var track in labels)
                    sha.AppendData(MemoryMarshal.AsBytes(track.AsSpan(i * Layout.LabelsPerClip, Layout.LabelsPerClip)));
            }
        }
        foreach (var (split, indices) in Splits)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(split));
            sha.AppendData([0]);
            Span<int> n = [indices.Count];
            sha.AppendData(MemoryMarshal.AsBytes(n));
            sha.AppendData(MemoryMarshal.AsBytes(indices.ToArray().AsSpan()));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    // ------------------------------------------------------------------ what a reader implements

    /// <summary>Writes clip <paramref name="clip"/>'s audio [T,Da] into <paramref name="destination"/> (exact length).</summary>
    protected abstract void ReadAudioClip(int clip, Span<float> destination);

    /// <summary>Writes clip <paramref name="clip"/>'s video [T,G,G,Dv].</summary>
    protected abstract void ReadVideoClip(int clip, Span<float> destination);

    /// <summary>Writes clip <paramref name="clip"/>'s text tokens [T,Dt]; only called when <see cref="ClipLayout.HasText"/>.</summary>
    protected virtual void ReadTextClip(int clip, Span<float> destination) =>
        throw new InvalidOperationException($"{Name}: has no text features");

    /// <summary>Writes clip <paramref name="clip"/>'s labels [T,C+1] for <paramref name="track"/>.</summary>
    protected abstract void ReadLabelsClip(int clip, LabelTrack track, Span<float> destination);

    /// <summary>Where a field of a clip comes from, for error messages: (file, field) e.g. ("/d/labels.h5", "dataset 'avadataset'").</summary>
    protected abstract (string File, string Field) Source(ClipField field, int clip, LabelTrack track);

    /// <summary>True when a label row may hold several events (AVVP); rows are then checked as multi-hot with an exclusive background.</summary>
    protected virtual bool MultiLabel => false;

    protected virtual string ClipIdCore(int clip) => clip.ToString(CultureInfo.InvariantCulture);

    // ------------------------------------------------------------------ checks

    private void ReadField(ClipField field, LabelTrack track, ReadOnlySpan<int> clips, Span<float> destination)
    {
        var per = field switch
        {
            ClipField.Audio => Layout.AudioPerClip,
            ClipField.Video => Layout.VideoPerClip,
            ClipField.Text => Layout.TextPerClip,
            _ => Layout.LabelsPerClip,
        };
        if (destination.Length != clips.Length * per)
            throw new ArgumentException(
                $"{Name}: destination for {field.ToString().ToLowerInvariant()} holds {destination.Length} floats; expected {clips.Length} clips × {per}",
                nameof(destination));
        for (var i = 0; i < clips.Length; i++)
        {
            var clip = clips[i];
            CheckClip(clip);
            var slice = destination.Slice(i * per, per);
            switch (field)
            {
                case ClipField.Audio: ReadAudioClip(clip, slice); break;
                case ClipField.Video: ReadVideoClip(clip, slice); break;
                case ClipField.Text: ReadTextClip(clip, slice); break;
                default: ReadLabelsClip(clip, track, slice); break;
            }
            var bad = FloatChecks.IndexOfNonFinite(slice);
            if (bad >= 0)
            {
                var (file, what) = Source(field, clip, track);
                throw new DatasetFormatException(file,
                    $"{what} clip {clip} (id {ClipIdCore(clip)}) holds {FloatChecks.Describe(slice[bad])} at {Position(field, bad)}; expected finite values");
            }
            if (field == ClipField.Labels) CheckLabelRows(clip, track, slice);
        }
    }

    private void CheckClip(int clip)
    {
        if ((uint)clip >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(clip), clip, $"{Name}: clip index {clip}; expected 0 <= index < {Count}");
    }

    private void CheckLabelRows(int clip, LabelTrack track, ReadOnlySpan<float> labels)
    {
        var width = Layout.LabelDim;
        for (var t = 0; t < Layout.Segments; t++)
        {
            var row = labels.Slice(t * width, width);
            var foreground = 0;
            for (var c = 0; c < width; c++)
            {
                if (row[c] != 0f && row[c] != 1f)
                {
                    var (file, what) = Source(ClipField.Labels, clip, track);
                    throw new DatasetFormatException(file,
                        $"{what} clip {clip} (id {ClipIdCore(clip)}) has value {row[c].ToString(CultureInfo.InvariantCulture)} at segment {t}, column {c}; expected 0 or 1");
                }
                if (c < width - 1 && row[c] == 1f) foreground++;
            }
            var background = row[width - 1] == 1f;
            var ok = MultiLabel ? background == (foreground == 0) : foreground + (background ? 1 : 0) == 1;
            if (!ok)
            {
                var (file, what) = Source(ClipField.Labels, clip, track);
                var expected = MultiLabel
                    ? $"a multi-hot row over {width} columns whose background (last) is 1 exactly when no class is"
                    : $"a one-hot row over {width} columns (background last)";
                throw new DatasetFormatException(file,
                    $"{what} clip {clip} (id {ClipIdCore(clip)}) segment {t} has row {FloatChecks.FormatRow(row)}; expected {expected}");
            }
        }
    }

    private string Position(ClipField field, int index)
    {
        var l = Layout;
        switch (field)
        {
            case ClipField.Audio: return $"segment {index / l.AudioDim}, element {index % l.AudioDim}";
            case ClipField.Text: return $"segment {index / l.TextDim}, element {index % l.TextDim}";
            case ClipField.Labels: return $"segment {index / l.LabelDim}, column {index % l.LabelDim}";
            default:
                var channel = index % l.VideoDim;
                var cell = index / l.VideoDim % (l.VideoGrid * l.VideoGrid);
                return $"segment {index / l.VideoDim / (l.VideoGrid * l.VideoGrid)}, cell ({cell / l.VideoGrid},{cell % l.VideoGrid}), channel {channel}";
        }
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    public override string ToString() => $"{Name} ({Count} clips, {Layout})";
}
