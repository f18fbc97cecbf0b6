using UniCode.Data.Zipped;

namespace UniCode.Data.VggSound;

/// <summary>
/// VGGSound-AVEL (the pre-training set), a directory with
/// <list type="bullet">
/// <item><c>vggsound-avel40k.csv</c>: columns category, video_id, split (train/val/test); one clip per row, in file order;</item>
/// <item><c>VggsoundAVEL40kCategories.txt</c> (or <c>categories.txt</c>): the C class names, one a line;</item>
/// <item><c>audio/zip/&lt;video_id&gt;.zip</c> → pickled [≤T,128] (repeat-last / truncate to T),
/// <c>video/zip/&lt;video_id&gt;.zip</c> → pickled [T,7,7,512];</item>
/// <item>optional <c>label/zip/&lt;video_id&gt;.zip</c> → pickled per-second 0/1 [T] (the AV loader's <c>avc_label</c>):
/// label[t,class] = v_t, background = 1 − v_t. Without it the class holds on all T seconds.</item>
/// </list>
/// Splits train/val/test come from the split column; the reference trains on all three ("40K"), "24K" = train.
/// </summary>
public sealed class VggSoundDataset : ClipDataset
{
    public const string MetaFile = "vggsound-avel40k.csv";

    public static IReadOnlyList<string> CategoryFiles { get; } = ["VggsoundAVEL40kCategories.txt", "categories.txt"];

    public static IReadOnlyList<string> SplitNames { get; } = ["train", "val", "test"];

    private readonly string[] _ids;
    private readonly int[] _classes;
    private readonly ZippedFeatures _features;
    private readonly string? _labelDirectory;

    private VggSoundDataset(string name, ClipLayout layout, string[] classNames, Dictionary<string, int[]> splits,
        string[] ids, int[] classes, ZippedFeatures features, string? labelDirectory)
        : base(name, ids.Length, layout, classNames, splits)
    {
        _ids = ids;
        _classes = classes;
        _features = features;
        _labelDirectory = labelDirectory;
    }

    public static VggSoundDataset Open(string root, DatasetExpectations? expectations = null)
    {
        var expect = expectations ?? DatasetExpectations.None;
        if (!Directory.Exists(root))
            throw new DatasetFormatException(root, $"directory not found; expected the VGGSound-AVEL layout ({MetaFile}, {CategoryFiles[0]}, audio/zip, video/zip)");
        var categoriesPath = CategoryFiles.Select(f => Path.Combine(root, f)).FirstOrDefault(File.Exists)
            ?? throw new DatasetFormatException(Path.Combine(root, CategoryFiles[0]), $"file not found (nor {CategoryFiles[1]}); expected the class names, one a line");
        var categories = CategoryFile.Read(categoriesPath);
        if (expect.Classes is { } c && c != categories.Length)
            throw new DatasetFormatException(categoriesPath, $"holds {categories.Length} class names; expected {c}");
        var index = categories.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);

        var meta = DelimitedFile.Read(Path.Combine(root, MetaFile), ',');
        int categoryCol = meta.Column("category"), idCol = meta.Column("video_id"), splitCol = meta.Column("split");
        var ids = new List<string>();
        var classes = new List<int>();
        var splits = SplitNames.ToDictionary(s => s, _ => new List<int>());
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (line, cells) in meta.Rows)
        {
            var category = cells[categoryCol].Trim();
            var id = cells[idCol].Trim();
            var split = cells[splitCol].Trim();
            if (!index.TryGetValue(category, out var cls))
                throw new DatasetFormatException(meta.Path, $"line {line}: category '{category}' is not in {Path.GetFileName(categoriesPath)}; expected one of its {categories.Length} names");
            if (id.Length == 0) throw new DatasetFormatException(meta.Path, $"line {line}: video_id is empty; expected a video id");
            if (seen.TryGetValue(id, out var first))
                throw new DatasetFormatException(meta.Path, $"line {line}: video_id '{id}' repeats line {first}; expected one row per video");
            seen[id] = line;
            if (!splits.TryGetValue(split, out var members))
                throw new DatasetFormatException(meta.Path, $"line {line}: split '{split}'; expected one of {string.Join(", ", SplitNames)}");
            members.Add(ids.Count);
            ids.Add(id);
            classes.Add(cls);
        }
        if (ids.Count == 0) throw new DatasetFormatException(meta.Path, "has no rows; expected one row per video");

        var features = ZippedFeatures.Probe(Path.Combine(root, "audio", "zip"), Path.Combine(root, "video", "zip"), ids[0], expect);
        var labelDir = Path.Combine(root, "label", "zip");
        var layout = new ClipLayout(features.Segments, features.AudioDim, features.Grid, features.VideoDim, 0, categories.Length);
        var name = new DatasetName(DatasetKind.VggSound, root).ToString();
        return new VggSoundDataset(name, layout, categories, splits.ToDictionary(p => p.Key, p => p.Value.ToArray()),
            ids.ToArray(), classes.ToArray(), features, Directory.Exists(labelDir) ? labelDir : null);
    }

    protected override string ClipIdCore(int clip) => _ids[clip];

    protected override void ReadAudioClip(int clip, Span<float> destination) => _features.ReadAudio(_ids[clip], destination);

    protected override void ReadVideoClip(int clip, Span<float> destination) => _features.ReadVideo(_ids[clip], destination);

    protected override void ReadLabelsClip(int clip, LabelTrack track, Span<float> destination)
    {
        var t = Layout.Segments;
        var width = Layout.LabelDim;
        Span<float> foreground = stackalloc float[t];
        if (_labelDirectory is null)
        {
            foreground.Fill(1f);
        }
        else
        {
            var path = LabelPath(clip);
            var array = PickledFeatureZip.Read(path);
            if (array.ElementCount != t || array.Shape.Count(d => d != 1) > 1)
                throw new DatasetFormatException(path, $"array has shape {FloatChecks.Shape(array.Shape)}; expected [{t}] (per-second 0/1)");
            array.ToSingle(path).AsSpan().CopyTo(foreground);
        }
        destination.Clear();
        for (var s = 0; s < t; s++)
        {
            destination[s * width + _classes[clip]] = foreground[s];
            destination[s * width + width - 1] = 1f - foreground[s];
        }
    }

    private string LabelPath(int clip) => Path.Combine(_labelDirectory!, _ids[clip] + ".zip");

    protected override (string File, string Field) Source(ClipField field, int clip, LabelTrack track) => field switch
    {
        ClipField.Audio => (_features.AudioPath(_ids[clip]), "pickled audio"),
        ClipField.Video => (_features.VideoPath(_ids[clip]), "pickled video"),
        _ => _labelDirectory is null ? (Name, "labels") : (LabelPath(clip), "pickled per-second labels"),
    };
}
