namespace UniCode.Data.Synthetic;

/// <summary>A named benchmark regime: a fixed <see cref="SyntheticSpec"/> and what it is meant to probe.</summary>
public sealed record SyntheticRegime(string Name, SyntheticSpec Spec, string Purpose)
{
    /// <summary>The dataset name, <c>synth:NAME</c>.</summary>
    public string DatasetName => "synth:" + Name;
}

/// <summary>
/// The family of benchmark regimes (docs/synthetic-benchmark.md, "Regimes"). They were fixed and committed before
/// any method was run on them (issue 9) and are never retuned after seeing results: a regime that turns out too
/// hard or too easy is reported as it is. Every regime but <c>easy</c> has the real input widths (VGGish 128,
/// VGG-19 pool5 7×7×512), rectified features with channel offsets (about half exact zeros, mean ≈ 0.45, as real AVE
/// features), a per-clip style larger than the class signal, modality-only distractors and events on part of the
/// clip with background seconds around them.
/// </summary>
public static class SyntheticRegimes
{
    // What every AVE-like regime shares: the real widths, the value regime of real features, 80/10/10 splits.
    private static readonly SyntheticSpec AveLike = new()
    {
        AudioDim = 128,
        VideoGrid = 7,
        VideoDim = 512,
        TextDim = 0,
        SignalScale = 0.5,
        StyleScale = 0.7,
        NoiseScale = 0.5,
        Offset = 0.5,
        Rectify = true,
        Distractors = 8,
        DistractorRate = 0.5,
        MinEventLength = 2,
        MaxEventLength = 8,
        ObjectCells = 6,
        TrainFraction = 0.8,
        ValFraction = 0.1,
    };

    /// <summary>Every regime, in the order results are reported.</summary>
    public static IReadOnlyList<SyntheticRegime> All { get; } =
    [
        new("easy", new SyntheticSpec { ObjectCells = 12, StyleScale = 1 },
            "the setting the first results were tuned on (cells=12, style=1; centred features, video 64 wide, text): kept for comparison"),
        new("ave-small", AveLike with { Classes = 28, Clips = 600 },
            "the AVE shape of issue 9: 28 classes, 480/60/60 clips"),
        new("ave-large", AveLike with { Classes = 28, Clips = 1500 },
            "the same with 1,200 training clips"),
        new("few-classes", AveLike with { Classes = 10, Clips = 375 },
            "10 classes, 300 training clips: the smallest data"),
        new("many-classes", AveLike with { Classes = 50, Clips = 3750 },
            "50 classes, 3,000 training clips: the largest data"),
        new("strong-nuisance", AveLike with { Classes = 20, Clips = 1000, SignalScale = 0.4, StyleScale = 1.0, NoiseScale = 0.6, Offset = 0.3 },
            "20 classes; per-clip style 2.5× the class signal and more noise"),
        new("short-events", AveLike with { Classes = 16, Clips = 1200, MinEventLength = 1, MaxEventLength = 3, ObjectCells = 4 },
            "16 classes; events of 1–3 seconds in 10, on 4 of 49 cells: mostly background"),
    ];

    public static IReadOnlyList<string> Names { get; } = All.Select(r => r.Name).ToArray();

    /// <summary>The regime called <paramref name="name"/> (case-insensitive); the error lists the names.</summary>
    public static SyntheticRegime Get(string name) =>
        All.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new FormatException($"synth spec: '{name}' is neither key=value nor a regime; expected one of {string.Join(", ", Names)}");
}
