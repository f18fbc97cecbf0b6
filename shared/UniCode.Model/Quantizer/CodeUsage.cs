using UniCode.Model.Config;

namespace UniCode.Model.Quantizer;

/// <summary>
/// Host copy of how often each modality chose each code in training forwards (since construction or the
/// last <see cref="SharedCodebookQuantizer.ResetUsage"/>): the data of the paper's Fig. 4, which contrasts
/// codes used by one modality only with codes shared by all of them.
/// </summary>
/// <param name="Modalities">The quantizer's modalities in processing order.</param>
/// <param name="Counts">Per modality, assignments per code ([L] each).</param>
/// <param name="Forwards">Training forwards counted.</param>
public sealed record CodeUsage(IReadOnlyList<Modality> Modalities, IReadOnlyDictionary<Modality, long[]> Counts, long Forwards)
{
    /// <summary>L: the number of codes.</summary>
    public int CodebookSize => Counts[Modalities[0]].Length;

    /// <summary>Codes <paramref name="modality"/> chose at least once.</summary>
    public int CodesUsedBy(Modality modality) => Counts[modality].Count(c => c > 0);

    /// <summary>Codes <paramref name="modality"/> chose and no other modality did.</summary>
    public int CodesUsedOnlyBy(Modality modality) =>
        Enumerable.Range(0, CodebookSize).Count(k => Counts[modality][k] > 0 && Modalities.All(o => o == modality || Counts[o][k] == 0));

    /// <summary>Codes every modality chose at least once.</summary>
    public int CodesUsedByAll() => Enumerable.Range(0, CodebookSize).Count(k => Modalities.All(m => Counts[m][k] > 0));

    /// <summary>Codes no modality chose.</summary>
    public int CodesUsedByNone() => Enumerable.Range(0, CodebookSize).Count(k => Modalities.All(m => Counts[m][k] == 0));
}
