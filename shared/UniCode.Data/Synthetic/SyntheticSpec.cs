using System.Globalization;

namespace UniCode.Data.Synthetic;

/// <summary>
/// Parameters of the synthetic cross-modal generalisation benchmark (docs/synthetic-benchmark.md). Defaults are
/// sized for a 2-core CPU. Text form (the PATH of a <c>synth:</c> dataset name): comma-separated <c>key=value</c>
/// pairs in any order, keys case-insensitive, unspecified keys keep their defaults, the empty string is all
/// defaults; e.g. <c>synth:classes=10,clips=1200,seed=7</c>. Keys: seed, clips, classes, segments, audio, grid,
/// video, text, proto, signal, style, noise, jitter, distractors, distractor_rate, min_len, max_len, cells,
/// offset, rectify, train, val (see the properties). <see cref="ToString"/> writes every key in that order and parses back equal.
/// </summary>
public sealed record SyntheticSpec
{
    /// <summary>Seed of everything (key seed).</summary>
    public int Seed { get; init; } = 7;
    /// <summary>N, number of clips (key clips).</summary>
    public int Clips { get; init; } = 1200;
    /// <summary>C, event classes; labels have C+1 columns (key classes).</summary>
    public int Classes { get; init; } = 10;
    /// <summary>T, one-second segments per clip (key segments).</summary>
    public int Segments { get; init; } = 10;
    /// <summary>Da, audio feature width (key audio).</summary>
    public int AudioDim { get; init; } = 128;
    /// <summary>G, side of the video feature grid (key grid).</summary>
    public int VideoGrid { get; init; } = 7;
    /// <summary>Dv, video channels per grid cell (key video).</summary>
    public int VideoDim { get; init; } = 64;
    /// <summary>Dt, text token width; 0 = no text (key text).</summary>
    public int TextDim { get; init; } = 64;
    /// <summary>k, width of the shared class prototypes each modality projects (key proto).</summary>
    public int PrototypeDim { get; init; } = 16;
    /// <summary>Per-element scale of the semantic (event and distractor) content (key signal).</summary>
    public double SignalScale { get; init; } = 1.0;
    /// <summary>Per-element scale of the per-clip modality style vector; above <see cref="SignalScale"/> so style dominates the variance (key style).</summary>
    public double StyleScale { get; init; } = 2.0;
    /// <summary>Standard deviation of the per-element Gaussian noise (key noise).</summary>
    public double NoiseScale { get; init; } = 0.5;
    /// <summary>Within-class spread: a clip's prototype is the class prototype plus this × a random unit-scale vector (key jitter).</summary>
    public double PrototypeJitter { get; init; } = 0.3;
    /// <summary>Distractor prototypes per modality (modality-only content); 0 disables distractors (key distractors).</summary>
    public int Distractors { get; init; } = 8;
    /// <summary>Probability that a clip carries a distractor in a modality, outside its event (key distractor_rate).</summary>
    public double DistractorRate { get; init; } = 0.5;
    /// <summary>Shortest event, in segments (key min_len).</summary>
    public int MinEventLength { get; init; } = 2;
    /// <summary>Longest event, in segments; null = T (key max_len).</summary>
    public int? MaxEventLength { get; init; }
    /// <summary>Grid cells that carry the event (and, separately drawn, the video distractor) in a clip (key cells).</summary>
    public int ObjectCells { get; init; } = 3;
    /// <summary>
    /// Scale of the fixed per-channel offsets (key offset): channel d of a modality gets o_d = offset·N(0,1), the same
    /// in every clip, as real CNN/VGGish features have channel means far from zero; 0 = centred features.
    /// </summary>
    public double Offset { get; init; }
    /// <summary>Rectify every feature, x → max(0, x) (key rectify, 0 or 1): non-negative, sparse, ReLU-like features as real pool5/VGGish ones.</summary>
    public bool Rectify { get; init; }
    /// <summary>Fraction of clips in train (key train).</summary>
    public double TrainFraction { get; init; } = 0.7;
    /// <summary>Fraction of clips in val; test gets the rest (key val).</summary>
    public double ValFraction { get; init; } = 0.15;

    public int EffectiveMaxEventLength => MaxEventLength ?? Segments;

    /// <summary>Clips per split: round(N·train), round(N·val), the rest.</summary>
    public (int Train, int Val, int Test) SplitCounts
    {
        get
        {
            var train = (int)Math.Round(Clips * TrainFraction, MidpointRounding.AwayFromZero);
            var val = (int)Math.Round(Clips * ValFraction, MidpointRounding.AwayFromZero);
            return (train, val, Clips - train - val);
        }
    }

    private sealed record Knob(string Key, Func<SyntheticSpec, string> Get, Func<SyntheticSpec, string, SyntheticSpec> Set);

    private static readonly Knob[] Knobs =
    [
        new("seed", s => I(s.Seed), (s, v) => s with { Seed = Int(v, "seed") }),
        new("clips", s => I(s.Clips), (s, v) => s with { Clips = Int(v, "clips") }),
        new("classes", s => I(s.Classes), (s, v) => s with { Classes = Int(v, "classes") }),
        new("segments", s => I(s.Segments), (s, v) => s with { Segments = Int(v, "segments") }),
        new("audio", s => I(s.AudioDim), (s, v) => s with { AudioDim = Int(v, "audio") }),
        new("grid", s => I(s.VideoGrid), (s, v) => s with { VideoGrid = Int(v, "grid") }),
        new("video", s => I(s.VideoDim), (s, v) => s with { VideoDim = Int(v, "video") }),
        new("text", s => I(s.TextDim), (s, v) => s with { TextDim = Int(v, "text") }),
        new("proto", s => I(s.PrototypeDim), (s, v) => s with { PrototypeDim = Int(v, "proto") }),
        new("signal", s => D(s.SignalScale), (s, v) => s with { SignalScale = Real(v, "signal") }),
        new("style", s => D(s.StyleScale), (s, v) => s with { StyleScale = Real(v, "style") }),
        new("noise", s => D(s.NoiseScale), (s, v) => s with { NoiseScale = Real(v, "noise") }),
        new("jitter", s => D(s.PrototypeJitter), (s, v) => s with { PrototypeJitter = Real(v, "jitter") }),
        new("distractors", s => I(s.Distractors), (s, v) => s with { Distractors = Int(v, "distractors") }),
        new("distractor_rate", s => D(s.DistractorRate), (s, v) => s with { DistractorRate = Real(v, "distractor_rate") }),
        new("min_len", s => I(s.MinEventLength), (s, v) => s with { MinEventLength = Int(v, "min_len") }),
        new("max_len", s => I(s.EffectiveMaxEventLength), (s, v) => s with { MaxEventLength = Int(v, "max_len") }),
        new("cells", s => I(s.ObjectCells), (s, v) => s with { ObjectCells = Int(v, "cells") }),
        new("offset", s => D(s.Offset), (s, v) => s with { Offset = Real(v, "offset") }),
        new("rectify", s => s.Rectify ? "1" : "0", (s, v) => s with { Rectify = Flag(v, "rectify") }),
        new("train", s => D(s.TrainFraction), (s, v) => s with { TrainFraction = Real(v, "train") }),
        new("val", s => D(s.ValFraction), (s, v) => s with { ValFraction = Real(v, "val") }),
    ];

    /// <summary>The keys of the text form, in canonical order.</summary>
    public static IReadOnlyList<string> Keys { get; } = Knobs.Select(k => k.Key).ToArray();

    /// <summary>
    /// Parses the text form (see the type summary) and validates the result. The first part may be the name of a
    /// <see cref="SyntheticRegimes">regime</see> instead of key=value: the regime's values, then the keys that follow
    /// (e.g. <c>ave-small,seed=3</c>).
    /// </summary>
    public static SyntheticSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var spec = new SyntheticSpec();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        for (var p = 0; p < parts.Length; p++)
        {
            var part = parts[p];
            var eq = part.IndexOf('=');
            if (eq < 0 && p == 0)
            {
                spec = SyntheticRegimes.Get(part).Spec;
                continue;
            }
            if (eq <= 0)
                throw new FormatException($"synth spec '{text}': '{part}' is not key=value; expected e.g. classes=10,clips=1200,seed=7, or a regime name first ({string.Join(", ", SyntheticRegimes.Names)})");
            var key = part[..eq].Trim().ToLowerInvariant();
            var knob = Knobs.FirstOrDefault(k => k.Key == key)
                ?? throw new FormatException($"synth spec '{text}': unknown key '{part[..eq].Trim()}'; expected one of {string.Join(", ", Keys)}");
            if (!seen.Add(key)) throw new FormatException($"synth spec '{text}': key '{key}' is given twice");
            spec = knob.Set(spec, part[(eq + 1)..].Trim());
        }
        spec.Validate();
        return spec;
    }

    /// <summary>Every key=value in canonical order (parses back to an equal spec, MaxEventLength resolved).</summary>
    public override string ToString() => string.Join(",", Knobs.Select(k => $"{k.Key}={k.Get(this)}"));

    /// <summary>The dataset name <c>synth:…</c> of this spec.</summary>
    public string DatasetName => new DatasetName(DatasetKind.Synth, ToString()).ToString();

    /// <summary>Throws <see cref="ArgumentException"/> naming the key and the allowed range.</summary>
    public void Validate()
    {
        static void Check(bool ok, string key, object value, string expected)
        {
            if (!ok) throw new ArgumentException($"synth spec: {key}={value}; expected {expected}");
        }
        Check(Clips >= 3, "clips", Clips, "at least 3 (one per split)");
        Check(Classes >= 1, "classes", Classes, "at least 1");
        Check(Segments >= 1, "segments", Segments, "at least 1");
        Check(AudioDim >= 1, "audio", AudioDim, "at least 1");
        Check(VideoGrid >= 1, "grid", VideoGrid, "at least 1");
        Check(VideoDim >= 1, "video", VideoDim, "at least 1");
        Check(TextDim >= 0, "text", TextDim, "0 (no text) or more");
        Check(PrototypeDim >= 1, "proto", PrototypeDim, "at least 1");
        Check(SignalScale >= 0 && double.IsFinite(SignalScale), "signal", SignalScale, "a finite value >= 0");
        Check(StyleScale >= 0 && double.IsFinite(StyleScale), "style", StyleScale, "a finite value >= 0");
        Check(NoiseScale >= 0 && double.IsFinite(NoiseScale), "noise", NoiseScale, "a finite value >= 0");
        Check(PrototypeJitter >= 0 && double.IsFinite(PrototypeJitter), "jitter", PrototypeJitter, "a finite value >= 0");
        Check(Distractors >= 0, "distractors", Distractors, "0 or more");
        Check(DistractorRate is >= 0 and <= 1, "distractor_rate", DistractorRate, "in [0, 1]");
        Check(MinEventLength >= 1 && MinEventLength <= Segments, "min_len", MinEventLength, $"in [1, segments={Segments}]");
        Check(EffectiveMaxEventLength >= MinEventLength && EffectiveMaxEventLength <= Segments, "max_len", EffectiveMaxEventLength,
            $"in [min_len={MinEventLength}, segments={Segments}]");
        Check(ObjectCells >= 1 && ObjectCells <= VideoGrid * VideoGrid, "cells", ObjectCells, $"in [1, grid²={VideoGrid * VideoGrid}]");
        Check(Offset >= 0 && double.IsFinite(Offset), "offset", Offset, "a finite value >= 0");
        Check(TrainFraction is > 0 and < 1, "train", TrainFraction, "in (0, 1)");
        Check(ValFraction is > 0 and < 1 && TrainFraction + ValFraction < 1, "val", ValFraction, $"in (0, 1 − train={1 - TrainFraction})");
        var (train, val, test) = SplitCounts;
        Check(train >= 1 && val >= 1 && test >= 1, "clips", Clips, $"enough clips for non-empty splits (train {train}, val {val}, test {test})");
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static string D(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static int Int(string v, string key) =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)
            ? i
            : throw new FormatException($"synth spec: {key}='{v}'; expected an integer");

    private static bool Flag(string v, string key) => v switch
    {
        "0" => false,
        "1" => true,
        _ => throw new FormatException($"synth spec: {key}='{v}'; expected 0 or 1"),
    };

    private static double Real(string v, string key) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
            ? d
            : throw new FormatException($"synth spec: {key}='{v}'; expected a number");
}
