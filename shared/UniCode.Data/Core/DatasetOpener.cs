using UniCode.Data.Ave;
using UniCode.Data.Avvp;
using UniCode.Data.Npy;
using UniCode.Data.Synthetic;
using UniCode.Data.VggSound;

namespace UniCode.Data;

/// <summary>Opens a dataset from its <c>KIND:PATH</c> name.</summary>
public static class DatasetOpener
{
    /// <summary>
    /// Parses <paramref name="name"/> (<see cref="DatasetName.Parse"/>) and opens it with the reader of its kind:
    /// ave → <see cref="AveDataset"/>, vggsound → <see cref="VggSoundDataset"/>, avvp → <see cref="AvvpDataset"/>,
    /// npy → <see cref="NpyDataset"/>, synth → <see cref="SyntheticBenchmark.Create(SyntheticSpec)"/>.
    /// The layout is checked against <paramref name="expectations"/>.
    /// </summary>
    public static ClipDataset Open(string name, DatasetExpectations? expectations = null) =>
        Open(DatasetName.Parse(name), expectations);

    public static ClipDataset Open(DatasetName name, DatasetExpectations? expectations = null)
    {
        var expect = expectations ?? DatasetExpectations.None;
        ClipDataset dataset = name.Kind switch
        {
            DatasetKind.Ave => AveDataset.Open(name.Path, expect),
            DatasetKind.VggSound => VggSoundDataset.Open(name.Path, expect),
            DatasetKind.Avvp => AvvpDataset.Open(name.Path, expect),
            DatasetKind.Npy => NpyDataset.Open(name.Path, expect),
            DatasetKind.Synth => SyntheticBenchmark.Create(SyntheticSpec.Parse(name.Path)),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name.Kind, "unknown dataset kind"),
        };
        try
        {
            expect.Check(dataset.Name, dataset.Layout);
        }
        catch
        {
            dataset.Dispose();
            throw;
        }
        return dataset;
    }
}
