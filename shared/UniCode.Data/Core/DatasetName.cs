namespace UniCode.Data;

/// <summary>The dataset kinds a <see cref="DatasetName"/> may name.</summary>
public enum DatasetKind
{
    /// <summary>AVE-ECCV18 HDF5 layout (a directory): <c>ave:/data/AVE</c>.</summary>
    Ave,
    /// <summary>VGGSound-AVEL csv + zipped numpy pickles (a directory): <c>vggsound:/data/vggsound</c>.</summary>
    VggSound,
    /// <summary>AVVP (LLP annotated eval set) tab-separated annotations + zipped pickles: <c>avvp:/data/AVVP</c>.</summary>
    Avvp,
    /// <summary>A directory of <c>.npy</c> arrays: <c>npy:/data/packed</c>.</summary>
    Npy,
    /// <summary>The in-memory synthetic benchmark; the path is a spec: <c>synth:classes=10,clips=1200,seed=7</c>.</summary>
    Synth,
}

/// <summary>
/// A dataset reference of the form <c>KIND:PATH</c>, used everywhere a dataset is named (command line,
/// messages, database). KIND is one of ave, vggsound, avvp, npy, synth (case-insensitive); PATH is a directory,
/// except for synth where it is a <see cref="Synthetic.SyntheticSpec"/> string (possibly empty).
/// </summary>
public readonly record struct DatasetName(DatasetKind Kind, string Path)
{
    /// <summary>The kind keywords in the order of <see cref="DatasetKind"/>.</summary>
    public static IReadOnlyList<string> KindKeywords { get; } = ["ave", "vggsound", "avvp", "npy", "synth"];

    /// <summary>Parses <c>KIND:PATH</c>; throws <see cref="FormatException"/> naming the problem.</summary>
    public static DatasetName Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var colon = name.IndexOf(':');
        if (colon <= 0)
            throw new FormatException(
                $"dataset name '{name}' has no kind; expected KIND:PATH with KIND one of {string.Join(", ", KindKeywords)} (e.g. ave:/data/AVE, synth:classes=10,clips=1200,seed=7)");
        var keyword = name[..colon].Trim().ToLowerInvariant();
        var path = name[(colon + 1)..];
        var index = -1;
        for (var i = 0; i < KindKeywords.Count; i++)
            if (KindKeywords[i] == keyword) index = i;
        if (index < 0)
            throw new FormatException(
                $"dataset name '{name}' has unknown kind '{name[..colon]}'; expected one of {string.Join(", ", KindKeywords)} (format KIND:PATH, e.g. ave:/data/AVE)");
        var kind = (DatasetKind)index;
        if (kind != DatasetKind.Synth && string.IsNullOrWhiteSpace(path))
            throw new FormatException($"dataset name '{name}' has an empty path; expected {keyword}:<directory>");
        return new DatasetName(kind, kind == DatasetKind.Synth ? path.Trim() : path);
    }

    /// <summary>
    /// <see cref="Parse"/>, then what the name alone can show to be wrong: for <c>synth:</c> its spec
    /// (<see cref="Synthetic.SyntheticSpec.Parse"/>: keys, values, ranges); directories are not opened. For names
    /// accepted before anything reads them — the CLI before it submits a chain, the orchestrator's spec parser.
    /// Throws <see cref="FormatException"/> naming the name and the problem, e.g. "dataset name 'synth:cells=12;x':
    /// synth spec: cells='12;x'; expected an integer".
    /// </summary>
    public static DatasetName ParseChecked(string name)
    {
        var parsed = Parse(name);
        if (parsed.Kind == DatasetKind.Synth)
        {
            try
            {
                Synthetic.SyntheticSpec.Parse(parsed.Path);
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                throw new FormatException($"dataset name '{name}': {e.Message}", e);
            }
        }
        return parsed;
    }

    public override string ToString() => $"{KindKeywords[(int)Kind]}:{Path}";
}
