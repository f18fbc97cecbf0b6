using UniCode.Data.Ave;

namespace UniCode.Data.Synthetic;

/// <summary>
/// The synthetic cross-modal generalisation benchmark (docs/synthetic-benchmark.md): in memory as a
/// <c>synth:</c> dataset, or written in the AVE layout (plus <c>text_feature.h5</c>, <c>categories.txt</c> and
/// <c>synthetic-spec.txt</c>) so that it goes through exactly the reader real AVE data uses.
/// Same spec → same bytes → same content hash.
/// </summary>
public static class SyntheticBenchmark
{
    public const string SpecFile = "synthetic-spec.txt";

    /// <summary>The in-memory dataset for <paramref name="spec"/>.</summary>
    public static SyntheticDataset Create(SyntheticSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return SyntheticDataset.Create(spec);
    }

    /// <summary>The in-memory dataset for a spec string such as "classes=10,clips=1200,seed=7".</summary>
    public static SyntheticDataset Create(string spec) => Create(SyntheticSpec.Parse(spec));

    /// <summary>Writes the AVE layout into <paramref name="directory"/> (created if needed) and returns the <c>ave:</c> name to open it.</summary>
    public static string WriteAve(SyntheticSpec spec, string directory)
    {
        using var dataset = Create(spec);
        AveLayoutWriter.Write(dataset, directory);
        File.WriteAllText(Path.Combine(directory, SpecFile), spec.DatasetName + Environment.NewLine);
        return new DatasetName(DatasetKind.Ave, directory).ToString();
    }
}
