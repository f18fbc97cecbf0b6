using UniCode.Data;
using UniCode.Model.Config;
using UniCode.Model.Downstream;
using UniCode.Model.Training;
using static TorchSharp.torch;

namespace UniCode.Experiments;

/// <summary>
/// A dataset's clips loaded into memory as float32 tensors, once, in chunks (the readers stream from
/// disk); shared by pre-training (<see cref="TensorBatchSource"/>) and the downstream protocols
/// (<see cref="LabeledClips"/>).
/// </summary>
public sealed class DatasetTensors : IDisposable
{
    private const int Chunk = 256;

    public ClipDataset Dataset { get; }
    public string ContentHash { get; }
    public IReadOnlyDictionary<Modality, Tensor> Features { get; }
    public Tensor Labels { get; }
    public IReadOnlyDictionary<Modality, Tensor>? TrackLabels { get; }

    private DatasetTensors(ClipDataset dataset, IReadOnlyDictionary<Modality, Tensor> features, Tensor labels, IReadOnlyDictionary<Modality, Tensor>? trackLabels)
    {
        Dataset = dataset;
        ContentHash = dataset.ContentHash();
        Features = features;
        Labels = labels;
        TrackLabels = trackLabels;
    }

    /// <summary>Reads every clip of <paramref name="dataset"/> for the given modalities, reporting progress per chunk.</summary>
    public static DatasetTensors Load(ClipDataset dataset, ModalitySet modalities, Action<int, int>? progress = null)
    {
        var layout = dataset.Layout;
        if (modalities.HasFlag(ModalitySet.Text) && !layout.HasText)
            throw new ArgumentException($"dataset '{dataset.Name}' has no text features, but modalities '{modalities.Code()}' include text");
        var n = dataset.Count;
        var features = new Dictionary<Modality, Tensor>();
        long[] Shape(Modality m) => m switch
        {
            Modality.Audio => [n, layout.Segments, layout.AudioDim],
            Modality.Video => [n, layout.Segments, layout.VideoGrid, layout.VideoGrid, layout.VideoDim],
            _ => [n, layout.Segments, layout.TextDim],
        };
        int PerClip(Modality m) => m switch
        {
            Modality.Audio => layout.AudioPerClip,
            Modality.Video => layout.VideoPerClip,
            _ => layout.TextPerClip,
        };
        var members = modalities.Members();
        // Each modality goes straight into its tensor, a chunk of clips at a time: a data set of the real AVE size
        // (4,143 clips × 10 × 7 × 7 × 512 video floats, 4.2 GB) is held once, not once managed and once native.
        foreach (var m in members) features[m] = empty(Shape(m), ScalarType.Float32).DetachFromDisposeScope();
        var buffers = members.ToDictionary(m => m, m => new float[checked(Math.Min(Chunk, n) * PerClip(m))]);
        var labels = new float[checked((long)n * layout.LabelsPerClip)];
        var tracks = dataset.HasTrackLabels
            ? new Dictionary<Modality, float[]> { [Modality.Audio] = new float[labels.Length], [Modality.Video] = new float[labels.Length] }
            : null;
        try
        {
            var indices = new int[Chunk];
            for (var start = 0; start < n; start += Chunk)
            {
                var count = Math.Min(Chunk, n - start);
                for (var i = 0; i < count; i++) indices[i] = start + i;
                var span = indices.AsSpan(0, count);
                foreach (var m in members)
                {
                    var dst = buffers[m].AsSpan(0, count * PerClip(m));
                    switch (m)
                    {
                        case Modality.Audio: dataset.ReadAudio(span, dst); break;
                        case Modality.Video: dataset.ReadVideo(span, dst); break;
                        default: dataset.ReadText(span, dst); break;
                    }
                    var shape = Shape(m);
                    shape[0] = count;
                    using var rows = tensor(dst.Length == buffers[m].Length ? buffers[m] : dst.ToArray(), shape);   // a copy only for a short last chunk
                    using var slot = features[m].narrow(0, start, count);
                    slot.copy_(rows);
                }
                dataset.ReadLabels(span, labels.AsSpan(start * layout.LabelsPerClip, count * layout.LabelsPerClip));
                if (tracks is not null)
                {
                    dataset.ReadLabels(span, tracks[Modality.Audio].AsSpan(start * layout.LabelsPerClip, count * layout.LabelsPerClip), LabelTrack.Audio);
                    dataset.ReadLabels(span, tracks[Modality.Video].AsSpan(start * layout.LabelsPerClip, count * layout.LabelsPerClip), LabelTrack.Visual);
                }
                progress?.Invoke(start + count, n);
            }
        }
        catch
        {
            foreach (var f in features.Values) f.Dispose();
            throw;
        }
        long[] labelShape = [n, layout.Segments, layout.LabelDim];
        var labelTensor = tensor(labels, labelShape).DetachFromDisposeScope();
        var trackTensors = tracks?.ToDictionary(kv => kv.Key, kv => tensor(kv.Value, labelShape).DetachFromDisposeScope());
        return new DatasetTensors(dataset, features, labelTensor, trackTensors);
    }

    /// <summary>The clips of <paramref name="split"/> (all clips when null) as a pre-training source.</summary>
    public TensorBatchSource BatchSource(string? split = null)
    {
        using var scope = NewDisposeScope();
        Tensor? Take(Modality m)
        {
            if (!Features.TryGetValue(m, out var f)) return null;
            if (split is null) return f;
            using var idx = tensor(Dataset.Split(split).Select(i => (long)i).ToArray());
            return f.index_select(0, idx);
        }
        // No second copy: the split's rows are a fresh tensor, the whole set is Features, which nothing changes in place.
        return new TensorBatchSource(Take(Modality.Audio), Take(Modality.Video), Take(Modality.Text), copy: false);
    }

    /// <summary>The labelled clips for the downstream protocols (features shared, not copied).</summary>
    public LabeledClips Labeled() => new LabeledClips(
        Features,
        Labels,
        Dataset.Splits.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()),
        Dataset.ClassNames,
        ContentHash,
        TrackLabels).Validate();

    /// <summary>Sets the config's input shapes to this dataset's.</summary>
    public UniCodeConfig Fit(UniCodeConfig c) => Fit(c, Dataset.Layout);

    /// <summary>
    /// The config with a dataset's input shapes (segments, feature widths, video grid; text width only
    /// when the dataset has text), as the model and the trainer require.
    /// </summary>
    public static UniCodeConfig Fit(UniCodeConfig c, ClipLayout l) => c with
    {
        Segments = l.Segments,
        AudioInputDim = l.AudioDim,
        VideoInputDim = l.VideoDim,
        VideoGrid = l.VideoGrid,
        TextTokenDim = l.HasText ? l.TextDim : c.TextTokenDim,
    };

    /// <summary>
    /// What <see cref="Fit(UniCodeConfig, ClipLayout)"/> changed in <paramref name="preset"/> for <paramref name="dataset"/>,
    /// one notice per input shape that differs (segments; the widths of the pre-trained modalities; the video grid), naming
    /// the file, the field, the value found and the preset's, e.g. "…/audio_feature.h5: dataset 'avadataset' has audio
    /// feature width (Da) 127; the preset 'small' is built for 128: the model is fitted to 127 for this run (AudioInputDim
    /// in its config)". A dataset whose shapes differ from the preset's is accepted, and said so (docs/datasets.md).
    /// </summary>
    public static IReadOnlyList<string> FitNotices(UniCodeConfig preset, string presetName, ClipDataset dataset, ModalitySet modalities)
    {
        var l = dataset.Layout;
        var notices = new List<string>();
        void One(ClipField field, string what, string configField, int found, int expected)
        {
            if (found == expected) return;
            var (file, name) = dataset.FieldSource(field);
            notices.Add($"{file}: {name} has {what} {found}; the preset '{presetName}' is built for {expected}: the model is fitted to {found} for this run ({configField} in its config)");
        }
        One(ClipField.Audio, "segments per clip (T)", nameof(UniCodeConfig.Segments), l.Segments, preset.Segments);
        if (modalities.HasFlag(ModalitySet.Audio)) One(ClipField.Audio, "audio feature width (Da)", nameof(UniCodeConfig.AudioInputDim), l.AudioDim, preset.AudioInputDim);
        if (modalities.HasFlag(ModalitySet.Video))
        {
            One(ClipField.Video, "video grid side (G)", nameof(UniCodeConfig.VideoGrid), l.VideoGrid, preset.VideoGrid);
            One(ClipField.Video, "video feature width (Dv)", nameof(UniCodeConfig.VideoInputDim), l.VideoDim, preset.VideoInputDim);
        }
        if (modalities.HasFlag(ModalitySet.Text) && l.HasText)
            One(ClipField.Text, "text token width (Dt)", nameof(UniCodeConfig.TextTokenDim), l.TextDim, preset.TextTokenDim);
        return notices;
    }

    /// <summary>
    /// A pre-training batch no larger than the pre-training split (<paramref name="split"/>; every clip when null): when
    /// the split holds fewer clips than <c>BatchSize</c>, the batch shrinks to the split's size and <paramref name="notice"/>
    /// says so — the config returned (stored and hashed for the run) carries the batch size used. When the batch size was
    /// set explicitly (<paramref name="explicitBy"/> names where, e.g. "--config"), it is kept and a split smaller than it is
    /// a <see cref="ConfigException"/> naming that option. A split of fewer than 2 clips cannot be pre-trained on (every loss
    /// contrasts the items of a batch). A split the dataset does not have is left to the reader that asks for it.
    /// </summary>
    public static UniCodeConfig FitBatchSize(UniCodeConfig c, ClipDataset dataset, string? split, string? explicitBy, out string? notice)
    {
        notice = null;
        int clips;
        if (split is null) clips = dataset.Count;
        else if (dataset.Splits.TryGetValue(split, out var members)) clips = members.Count;
        else return c;
        if (clips >= c.BatchSize) return c;
        var what = split is null ? $"{dataset.Name} has {clips} clips" : $"the pre-training split '{split}' of {dataset.Name} has {clips} clips";
        if (explicitBy is not null)
            throw new ConfigException(nameof(UniCodeConfig.BatchSize), c.BatchSize,
                $"at most {clips}: {what} (the batch size was set by {explicitBy}; leave it unset and it shrinks to the split's size)");
        if (clips < 2)
            throw new DatasetFormatException(dataset.Name,
                $"{(split is null ? "holds" : $"pre-training split '{split}' holds")} {clips} clip{(clips == 1 ? "" : "s")}; expected at least 2 (a pre-training batch contrasts at least 2 clips)");
        notice = $"{what}, fewer than one batch ({nameof(UniCodeConfig.BatchSize)}={c.BatchSize}): the batch size shrinks to {clips} for this run (recorded in its config)";
        return c with { BatchSize = clips };
    }

    public void Dispose()
    {
        foreach (var t in Features.Values) t.Dispose();
        Labels.Dispose();
        if (TrackLabels is not null) foreach (var t in TrackLabels.Values) t.Dispose();
    }
}
