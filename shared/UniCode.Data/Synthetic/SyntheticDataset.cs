using System.Globalization;
using System.Text;

namespace UniCode.Data.Synthetic;

/// <summary>What the generator decided for one clip (ground truth for tests and analyses).</summary>
/// <param name="Class">The event class c.</param>
/// <param name="Onset">First event segment.</param>
/// <param name="Length">Event length in segments (the event covers Onset..Onset+Length−1 in every modality).</param>
/// <param name="ObjectCells">Grid cells (row·G+col) that show the event.</param>
/// <param name="AudioDistractor">Audio-only distractor prototype heard outside the event, or −1.</param>
/// <param name="VideoDistractor">Video-only distractor prototype seen outside the event, or −1.</param>
/// <param name="DistractorCells">Grid cells that show the video distractor.</param>
/// <param name="Prompt">The text prompt whose tokens are the clip's text features.</param>
public sealed record SyntheticClip(int Class, int Onset, int Length, int[] ObjectCells, int AudioDistractor, int VideoDistractor,
    int[] DistractorCells, string Prompt)
{
    public bool InEvent(int segment) => segment >= Onset && segment < Onset + Length;
}

/// <summary>
/// The synthetic benchmark as an in-memory <see cref="ClipDataset"/>: nothing is stored; every clip is regenerated
/// on read from its own random streams, so reads are deterministic in any order. The generative story is in
/// docs/synthetic-benchmark.md; in short, per clip i with class c and event segments [onset, onset+len):
/// <code>
/// q          = p_c + jitter·ε/√k                        (shared by all modalities of the clip)
/// audio[t]   = r(o_a + u_a + [t∈event]·signal·α_t·P_a q + [t∉event, audio distractor j]·signal·α_t·P_a d^a_j + noise·ε)
/// video[t,g] = r(o_v + u_v + [t∈event, g∈object cells]·signal·β_t·P_v q
///                  + [t∉event, g∈distractor cells, video distractor j]·signal·β_t·P_v d^v_j + noise·ε)
/// text       = token embeddings of a class prompt ("the sound of a {name}"), zero-padded to T tokens
/// labels[t]  = one-hot(c) inside the event, background (column C) outside
/// </code>
/// with per-clip styles u_a ~ style·N(0,I), u_v ~ style·N(0,I) (constant over the clip and, for video, over cells),
/// fixed random projections P_a [Da×k], P_v [Dv×k] with N(0,1) entries, unit-scale prototypes p, d ~ N(0,I/k),
/// per-segment amplitudes α_t, β_t ~ U(0.75, 1.25), fixed channel offsets o ~ offset·N(0,I), and r = max(0,·) when
/// rectify is set (else the identity).
/// </summary>
public sealed class SyntheticDataset : ClipDataset
{
    // stream ids of SeededRandom
    private const ulong ClassStream = 1, SplitStream = 2, PrototypeStream = 3, ProjectionStream = 4, NameStream = 5, TokenStream = 6;
    private const ulong PlanStream = 10, AudioStream = 11, VideoStream = 12, OffsetStream = 13;

    private static readonly string[] Templates =
    [
        "the sound of a {0}",
        "a {0} can be heard",
        "a video of a {0} making noise",
        "someone recorded a {0} nearby",
    ];

    private static readonly string[] NamePool =
    [
        "dog", "cat", "church bell", "violin", "flute", "acoustic guitar", "helicopter", "train horn", "motorcycle",
        "baby cry", "chainsaw", "accordion", "banjo", "goat", "horse", "clock", "truck", "bus", "race car", "airplane",
        "frying pan", "toilet flush", "rooster", "drum", "piano", "trumpet", "saxophone", "lawn mower", "siren",
        "thunder", "waterfall", "typewriter",
    ];

    private static readonly string[] Syllables = ["ka", "lo", "mi", "ru", "te", "zo", "pa", "ni", "sho", "ve", "du", "ba"];

    private readonly int[] _classOf;
    private readonly double[][] _prototypes;        // [C][k]
    private readonly double[][] _audioDistractors;  // [J][k]
    private readonly double[][] _videoDistractors;  // [J][k]
    private readonly double[] _audioProjection;     // [Da·k] row-major
    private readonly double[] _videoProjection;     // [Dv·k]
    private readonly double[] _audioOffset;         // [Da] fixed per-channel offsets
    private readonly double[] _videoOffset;         // [Dv]
    private readonly Dictionary<string, float[]> _tokens = new(StringComparer.Ordinal);
    private readonly object _tokenGate = new();

    internal SyntheticDataset(SyntheticSpec spec, string[] classNames, Dictionary<string, int[]> splits, int[] classOf)
        : base(spec.DatasetName, spec.Clips,
            new ClipLayout(spec.Segments, spec.AudioDim, spec.VideoGrid, spec.VideoDim, spec.TextDim, spec.Classes), classNames, splits)
    {
        Spec = spec;
        _classOf = classOf;
        var k = spec.PrototypeDim;
        var protoRng = new SeededRandom(spec.Seed, PrototypeStream, 0);
        double[] Prototype(ref SeededRandom r)
        {
            var v = new double[k];
            for (var i = 0; i < k; i++) v[i] = r.NextGaussian() / Math.Sqrt(k);
            return v;
        }
        _prototypes = new double[spec.Classes][];
        for (var c = 0; c < spec.Classes; c++) _prototypes[c] = Prototype(ref protoRng);
        _audioDistractors = new double[spec.Distractors][];
        _videoDistractors = new double[spec.Distractors][];
        for (var j = 0; j < spec.Distractors; j++) _audioDistractors[j] = Prototype(ref protoRng);
        for (var j = 0; j < spec.Distractors; j++) _videoDistractors[j] = Prototype(ref protoRng);
        var projRng = new SeededRandom(spec.Seed, ProjectionStream, 0);
        _audioProjection = new double[spec.AudioDim * k];
        for (var i = 0; i < _audioProjection.Length; i++) _audioProjection[i] = projRng.NextGaussian();
        _videoProjection = new double[spec.VideoDim * k];
        for (var i = 0; i < _videoProjection.Length; i++) _videoProjection[i] = projRng.NextGaussian();
        _audioOffset = Offsets(spec, 0, spec.AudioDim);
        _videoOffset = Offsets(spec, 1, spec.VideoDim);
    }

    // o_d = offset·N(0,1) per channel, from a stream of its own so that offset=0 leaves every other draw unchanged.
    private static double[] Offsets(SyntheticSpec spec, ulong modality, int width)
    {
        var rng = new SeededRandom(spec.Seed, OffsetStream, modality);
        var o = new double[width];
        for (var i = 0; i < width; i++) o[i] = spec.Offset * rng.NextGaussian();
        return o;
    }

    // The last step of every feature: the fixed channel offset, then (if asked) rectification.
    private float Finish(double value, double offset) =>
        (float)(Spec.Rectify ? Math.Max(0, value + offset) : value + offset);

    public SyntheticSpec Spec { get; }

    /// <summary>Builds the dataset for <paramref name="spec"/> (validated): classes, names and splits.</summary>
    internal static SyntheticDataset Create(SyntheticSpec spec)
    {
        spec.Validate();
        // balanced classes, in a seeded order
        var classOf = Enumerable.Range(0, spec.Clips).Select(i => i % spec.Classes).ToArray();
        new SeededRandom(spec.Seed, ClassStream, 0).Shuffle(classOf);
        var order = Enumerable.Range(0, spec.Clips).ToArray();
        new SeededRandom(spec.Seed, SplitStream, 0).Shuffle(order);
        var (train, val, _) = spec.SplitCounts;
        var splits = new Dictionary<string, int[]>
        {
            ["train"] = order[..train].Order().ToArray(),
            ["val"] = order[train..(train + val)].Order().ToArray(),
            ["test"] = order[(train + val)..].Order().ToArray(),
        };
        return new SyntheticDataset(spec, ClassNamesFor(spec), splits, classOf);
    }

    private static string[] ClassNamesFor(SyntheticSpec spec)
    {
        var rng = new SeededRandom(spec.Seed, NameStream, 0);
        var pool = (string[])NamePool.Clone();
        rng.Shuffle(pool);
        var names = pool.Take(spec.Classes).ToList();
        var used = new HashSet<string>(names, StringComparer.Ordinal);
        while (names.Count < spec.Classes)
        {
            var word = new StringBuilder();
            for (var s = 0; s < 3; s++) word.Append(Syllables[rng.NextInt(Syllables.Length)]);
            if (used.Add(word.ToString())) names.Add(word.ToString());
        }
        return names.ToArray();
    }

    /// <summary>The generator's decisions for <paramref name="clip"/>.</summary>
    public SyntheticClip Describe(int clip)
    {
        if ((uint)clip >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(clip), clip, $"{Name}: expected 0 <= clip < {Count}");
        return Plan(clip).Clip;
    }

    private sealed record ClipPlan(SyntheticClip Clip, double[] Prototype, double[] AudioAmplitude, double[] VideoAmplitude);

    private ClipPlan Plan(int clip)
    {
        var s = Spec;
        var rng = new SeededRandom(s.Seed, PlanStream, (ulong)clip);
        var c = _classOf[clip];
        var length = s.MinEventLength + rng.NextInt(s.EffectiveMaxEventLength - s.MinEventLength + 1);
        var onset = rng.NextInt(s.Segments - length + 1);
        var k = s.PrototypeDim;
        var q = new double[k];
        for (var i = 0; i < k; i++) q[i] = _prototypes[c][i] + s.PrototypeJitter * rng.NextGaussian() / Math.Sqrt(k);
        // draws happen whether or not they are used, so one knob does not reshuffle the others
        var audioHas = rng.NextDouble() < s.DistractorRate;
        var audioPick = s.Distractors > 0 ? rng.NextInt(s.Distractors) : 0;
        var videoHas = rng.NextDouble() < s.DistractorRate;
        var videoPick = s.Distractors > 0 ? rng.NextInt(s.Distractors) : 0;
        var cells = s.VideoGrid * s.VideoGrid;
        var objectCells = rng.Choose(cells, s.ObjectCells);
        var distractorCells = rng.Choose(cells, s.ObjectCells);
        var template = rng.NextInt(Templates.Length);
        var audioAmp = new double[s.Segments];
        var videoAmp = new double[s.Segments];
        for (var t = 0; t < s.Segments; t++)
        {
            audioAmp[t] = 0.75 + 0.5 * rng.NextDouble();
            videoAmp[t] = 0.75 + 0.5 * rng.NextDouble();
        }
        var prompt = string.Format(CultureInfo.InvariantCulture, Templates[template], ClassNames[c]);
        var info = new SyntheticClip(c, onset, length, objectCells, audioHas && s.Distractors > 0 ? audioPick : -1,
            videoHas && s.Distractors > 0 ? videoPick : -1, distractorCells, prompt);
        return new ClipPlan(info, q, audioAmp, videoAmp);
    }

    /// <summary>y = P x for a [rows×k] row-major projection.</summary>
    private static double[] Project(double[] projection, int rows, double[] x)
    {
        var k = x.Length;
        var y = new double[rows];
        for (var r = 0; r < rows; r++)
        {
            double sum = 0;
            for (var i = 0; i < k; i++) sum += projection[r * k + i] * x[i];
            y[r] = sum;
        }
        return y;
    }

    protected override void ReadAudioClip(int clip, Span<float> destination)
    {
        var s = Spec;
        var plan = Plan(clip);
        var info = plan.Clip;
        var rng = new SeededRandom(s.Seed, AudioStream, (ulong)clip);
        var d = s.AudioDim;
        var style = new double[d];
        for (var i = 0; i < d; i++) style[i] = s.StyleScale * rng.NextGaussian();
        var evt = Project(_audioProjection, d, plan.Prototype);
        var distractor = info.AudioDistractor >= 0 ? Project(_audioProjection, d, _audioDistractors[info.AudioDistractor]) : null;
        for (var t = 0; t < s.Segments; t++)
        {
            var semantic = info.InEvent(t) ? evt : distractor;
            var gain = s.SignalScale * plan.AudioAmplitude[t];
            var row = destination.Slice(t * d, d);
            for (var i = 0; i < d; i++)
                row[i] = Finish(style[i] + (semantic is null ? 0 : gain * semantic[i]) + s.NoiseScale * rng.NextGaussian(), _audioOffset[i]);
        }
    }

    protected override void ReadVideoClip(int clip, Span<float> destination)
    {
        var s = Spec;
        var plan = Plan(clip);
        var info = plan.Clip;
        var rng = new SeededRandom(s.Seed, VideoStream, (ulong)clip);
        var d = s.VideoDim;
        var cells = s.VideoGrid * s.VideoGrid;
        var style = new double[d];
        for (var i = 0; i < d; i++) style[i] = s.StyleScale * rng.NextGaussian();
        var evt = Project(_videoProjection, d, plan.Prototype);
        var distractor = info.VideoDistractor >= 0 ? Project(_videoProjection, d, _videoDistractors[info.VideoDistractor]) : null;
        var isObject = new bool[cells];
        foreach (var g in info.ObjectCells) isObject[g] = true;
        var isDistractor = new bool[cells];
        foreach (var g in info.DistractorCells) isDistractor[g] = true;
        for (var t = 0; t < s.Segments; t++)
        {
            var inEvent = info.InEvent(t);
            var gain = s.SignalScale * plan.VideoAmplitude[t];
            for (var g = 0; g < cells; g++)
            {
                var semantic = inEvent ? (isObject[g] ? evt : null) : (isDistractor[g] ? distractor : null);
                var row = destination.Slice((t * cells + g) * d, d);
                for (var i = 0; i < d; i++)
                    row[i] = Finish(style[i] + (semantic is null ? 0 : gain * semantic[i]) + s.NoiseScale * rng.NextGaussian(), _videoOffset[i]);
            }
        }
    }

    protected override void ReadTextClip(int clip, Span<float> destination)
    {
        var words = Plan(clip).Clip.Prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var d = Spec.TextDim;
        destination.Clear();
        for (var t = 0; t < Math.Min(words.Length, Spec.Segments); t++)
            Token(words[t]).CopyTo(destination.Slice(t * d, d));
    }

    /// <summary>The fixed token-embedding table: a word's vector is drawn from a stream keyed by its FNV-1a hash.</summary>
    internal float[] Token(string word)
    {
        lock (_tokenGate)
        {
            if (_tokens.TryGetValue(word, out var v)) return v;
            var hash = 14695981039346656037UL;
            foreach (var b in Encoding.UTF8.GetBytes(word)) hash = (hash ^ b) * 1099511628211UL;
            var rng = new SeededRandom(Spec.Seed, TokenStream, hash);
            v = new float[Spec.TextDim];
            for (var i = 0; i < v.Length; i++) v[i] = (float)rng.NextGaussian();
            _tokens[word] = v;
            return v;
        }
    }

    protected override void ReadLabelsClip(int clip, LabelTrack track, Span<float> destination)
    {
        var info = Plan(clip).Clip;
        var width = Layout.LabelDim;
        destination.Clear();
        for (var t = 0; t < Spec.Segments; t++)
            destination[t * width + (info.InEvent(t) ? info.Class : width - 1)] = 1f;
    }

    protected override string ClipIdCore(int clip) => "synth-" + clip.ToString("D6", CultureInfo.InvariantCulture);

    protected override (string File, string Field) Source(ClipField field, int clip, LabelTrack track) =>
        (Name, field.ToString().ToLowerInvariant());
}
