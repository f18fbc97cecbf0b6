using System.Globalization;
using UniCode.Data.Zipped;

namespace UniCode.Data.Avvp;

/// <summary>
/// AVVP (the LLP annotated evaluation set; docs/reference-behaviour.md §2), a directory <c>AVVP/</c> with
/// <list type="bullet">
/// <item><c>data/AVVP_Categories.txt</c> (or at the root, or <c>categories.txt</c>): C class names;</item>
/// <item><c>data/AVVP_eval_audio_checked_combined.csv</c>, <c>data/AVVP_eval_visual_checked_combined.csv</c>
/// (or at the root): tab-separated, columns filename (e.g. <c>IgN7v8nWmx8_30_40</c>), onset, offset,
/// event_labels, each a comma-joined list (one entry per event);</item>
/// <item><c>feature/audio/zip/&lt;first 11 chars&gt;.zip</c>, <c>feature/video/zip/&lt;first 11 chars&gt;.zip</c>.</item>
/// </list>
/// Clips are the distinct file names, audio file first. Per track the label [T,C+1] is built as the reference
/// does: for each event, seconds onset..offset−1 are OR-ed into its class column; background = 1 where no event.
/// <see cref="LabelTrack.Audio"/>/<see cref="LabelTrack.Visual"/> read one annotation (a clip absent from it has
/// no events of that modality); <see cref="LabelTrack.Clip"/> is their per-second OR. Splits "audio" and
/// "visual" list the clips of each annotation file (the protocol trains on one and tests on the other).
/// </summary>
public sealed class AvvpDataset : ClipDataset
{
    public const string AudioAnnotations = "AVVP_eval_audio_checked_combined.csv";
    public const string VisualAnnotations = "AVVP_eval_visual_checked_combined.csv";

    public static IReadOnlyList<string> CategoryFiles { get; } = ["AVVP_Categories.txt", "categories.txt"];

    private readonly string[] _ids;
    private readonly float[][] _audioLabels;
    private readonly float[][] _visualLabels;
    private readonly string _audioFile;
    private readonly string _visualFile;
    private readonly ZippedFeatures _features;

    private AvvpDataset(string name, ClipLayout layout, string[] classNames, Dictionary<string, int[]> splits, string[] ids,
        float[][] audioLabels, float[][] visualLabels, string audioFile, string visualFile, ZippedFeatures features)
        : base(name, ids.Length, layout, classNames, splits)
    {
        _ids = ids;
        _audioLabels = audioLabels;
        _visualLabels = visualLabels;
        _audioFile = audioFile;
        _visualFile = visualFile;
        _features = features;
    }

    public override bool HasTrackLabels => true;

    protected override bool MultiLabel => true;

    public static AvvpDataset Open(string root, DatasetExpectations? expectations = null)
    {
        var expect = expectations ?? DatasetExpectations.None;
        if (!Directory.Exists(root))
            throw new DatasetFormatException(root, $"directory not found; expected the AVVP layout (data/{CategoryFiles[0]}, data/{AudioAnnotations}, data/{VisualAnnotations}, feature/{{audio,video}}/zip)");
        string Find(params string[] names)
        {
            foreach (var n in names)
                foreach (var dir in new[] { Path.Combine(root, "data"), root })
                    if (File.Exists(Path.Combine(dir, n))) return Path.Combine(dir, n);
            throw new DatasetFormatException(Path.Combine(root, "data", names[0]), $"file not found (also looked in {root}); expected the AVVP layout");
        }

        var categoriesPath = Find([.. CategoryFiles]);
        var categories = CategoryFile.Read(categoriesPath);
        if (expect.Classes is { } c && c != categories.Length)
            throw new DatasetFormatException(categoriesPath, $"holds {categories.Length} class names; expected {c}");
        var t = expect.SegmentsOrDefault;
        var audio = Annotations.Read(Find(AudioAnnotations), categories, t);
        var visual = Annotations.Read(Find(VisualAnnotations), categories, t);

        var ids = new List<string>(audio.Order);
        foreach (var id in visual.Order)
            if (!audio.Labels.ContainsKey(id)) ids.Add(id);
        var position = ids.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i, StringComparer.Ordinal);
        var empty = Annotations.Background(t, categories.Length);
        var audioLabels = ids.Select(id => audio.Labels.GetValueOrDefault(id) ?? empty).ToArray();
        var visualLabels = ids.Select(id => visual.Labels.GetValueOrDefault(id) ?? empty).ToArray();
        var splits = new Dictionary<string, int[]>
        {
            ["audio"] = audio.Order.Select(id => position[id]).ToArray(),
            ["visual"] = visual.Order.Select(id => position[id]).ToArray(),
        };
        var features = ZippedFeatures.Probe(Path.Combine(root, "feature", "audio", "zip"), Path.Combine(root, "feature", "video", "zip"),
            FeatureId(ids[0]), expect);
        var layout = new ClipLayout(t, features.AudioDim, features.Grid, features.VideoDim, 0, categories.Length);
        return new AvvpDataset(new DatasetName(DatasetKind.Avvp, root).ToString(), layout, categories, splits, ids.ToArray(),
            audioLabels, visualLabels, audio.Path, visual.Path, features);
    }

    /// <summary>The reference keys features by the YouTube id, the file name's first 11 characters.</summary>
    public static string FeatureId(string filename) => filename.Length >= 11 ? filename[..11] : filename;

    protected override string ClipIdCore(int clip) => _ids[clip];

    protected override void ReadAudioClip(int clip, Span<float> destination) => _features.ReadAudio(FeatureId(_ids[clip]), destination);

    protected override void ReadVideoClip(int clip, Span<float> destination) => _features.ReadVideo(FeatureId(_ids[clip]), destination);

    protected override void ReadLabelsClip(int clip, LabelTrack track, Span<float> destination)
    {
        switch (track)
        {
            case LabelTrack.Audio: _audioLabels[clip].CopyTo(destination); break;
            case LabelTrack.Visual: _visualLabels[clip].CopyTo(destination); break;
            default:
                var width = Layout.LabelDim;
                for (var s = 0; s < Layout.Segments; s++)
                {
                    var any = false;
                    for (var k = 0; k < width - 1; k++)
                    {
                        var i = s * width + k;
                        destination[i] = Math.Max(_audioLabels[clip][i], _visualLabels[clip][i]);
                        any |= destination[i] == 1f;
                    }
                    destination[s * width + width - 1] = any ? 0f : 1f;
                }
                break;
        }
    }

    protected override (string File, string Field) Source(ClipField field, int clip, LabelTrack track) => field switch
    {
        ClipField.Audio => (_features.AudioPath(FeatureId(_ids[clip])), "pickled audio"),
        ClipField.Video => (_features.VideoPath(FeatureId(_ids[clip])), "pickled video"),
        _ => track switch
        {
            LabelTrack.Audio => (_audioFile, "labels"),
            LabelTrack.Visual => (_visualFile, "labels"),
            _ => ($"{_audioFile} + {_visualFile}", "labels"),
        },
    };

    /// <summary>One annotation file: label [T,C+1] per file name, in first-appearance order.</summary>
    internal sealed class Annotations
    {
        private Annotations(string path, List<string> order, Dictionary<string, float[]> labels)
        {
            Path = path;
            Order = order;
            Labels = labels;
        }

        public string Path { get; }
        public List<string> Order { get; }
        public Dictionary<string, float[]> Labels { get; }

        public static float[] Background(int segments, int classes)
        {
            var label = new float[segments * (classes + 1)];
            for (var s = 0; s < segments; s++) label[s * (classes + 1) + classes] = 1f;
            return label;
        }

        public static Annotations Read(string path, IReadOnlyList<string> categories, int segments)
        {
            var table = DelimitedFile.Read(path, '\t');
            int fileCol = table.Column("filename"), onCol = table.Column("onset"), offCol = table.Column("offset"), labelCol = table.Column("event_labels");
            var index = categories.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
            var width = categories.Count + 1;
            var order = new List<string>();
            var labels = new Dictionary<string, float[]>(StringComparer.Ordinal);
            foreach (var (line, cells) in table.Rows)
            {
                var filename = cells[fileCol].Trim();
                if (filename.Length < 11)
                    throw new DatasetFormatException(path, $"line {line}: filename '{filename}' is shorter than 11 characters; expected <youtube id>_<start>_<end>");
                var events = cells[labelCol].Split(',').Select(e => e.Trim()).ToArray();
                var onsets = Integers(path, line, "onset", cells[onCol]);
                var offsets = Integers(path, line, "offset", cells[offCol]);
                if (onsets.Length != events.Length || offsets.Length != events.Length)
                    throw new DatasetFormatException(path,
                        $"line {line}: {events.Length} event_labels, {onsets.Length} onsets, {offsets.Length} offsets; expected one onset and offset per event");
                if (!labels.TryGetValue(filename, out var label))
                {
                    label = Background(segments, categories.Count);
                    labels[filename] = label;
                    order.Add(filename);
                }
                for (var e = 0; e < events.Length; e++)
                {
                    if (!index.TryGetValue(events[e], out var cls))
                        throw new DatasetFormatException(path, $"line {line}: event label '{events[e]}' is not a class of the categories file; expected one of its {categories.Count} names");
                    if (onsets[e] < 0 || offsets[e] > segments || onsets[e] > offsets[e])
                        throw new DatasetFormatException(path,
                            $"line {line}: event '{events[e]}' has onset {onsets[e]}, offset {offsets[e]}; expected 0 <= onset <= offset <= {segments}");
                    for (var s = onsets[e]; s < offsets[e]; s++)
                    {
                        label[s * width + cls] = 1f;          // OR into the class column
                        label[s * width + width - 1] = 0f;    // background AND not-event
                    }
                }
            }
            if (order.Count == 0) throw new DatasetFormatException(path, "has no rows; expected one row per annotated video");
            return new Annotations(path, order, labels);
        }

        private static int[] Integers(string path, int line, string column, string cell) =>
            cell.Split(',').Select(v =>
            {
                var s = v.Trim();
                // pandas may have written a float column ("3.0"); accept integral values only
                if (int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)) return i;
                if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d == Math.Floor(d) && Math.Abs(d) < 1e6) return (int)d;
                throw new DatasetFormatException(path, $"line {line}: {column} '{cell}'; expected comma-separated integers (seconds)");
            }).ToArray();
    }
}
