using UniCode.Experiments.Analysis;
using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Experiments.Tests.Analysis;

public sealed class AnalysisTablesTests
{
    [Fact]
    public void MeanStdUsesTheSampleStandardDeviation()
    {
        // 50, 52, 54: mean 52, squared deviations 4 + 0 + 4 = 8, sample std √(8/2) = 2 (population std would be √(8/3) ≈ 1.63).
        Assert.Equal((52.0, 2.0), SeedStatistics.MeanStd([50, 52, 54]));
        Assert.Equal("52.0 ± 2.0", SeedStatistics.Format([50, 52, 54]));
        // 60, 61: mean 60.5, sample std √(0.25 + 0.25) ≈ 0.707.
        Assert.Equal("60.5 ± 0.7", SeedStatistics.Format([60, 61]));
        Assert.Equal("45.0", SeedStatistics.Format([45]));
        Assert.Equal("52.00 ± 2.00", SeedStatistics.Format([50, 52, 54], decimals: 2));
        Assert.Throws<ArgumentException>(() => SeedStatistics.MeanStd([]));
        Assert.Throws<ArgumentException>(() => SeedStatistics.MeanStd([1, double.NaN]));
    }

    [Fact]
    public void SweepTableHasOneRowPerSizeAscendingAndOneColumnPerDirection()
    {
        var table = AnalysisTables.Sweep(
        [
            (256, "v2a", [45]),
            (64, "v2a", [50, 52, 54]),
            (64, "a2v", [60, 61]),
        ]);
        Assert.Equal(
            "| L   | v2a        | a2v        |\n" +
            "| --: | ---------: | ---------: |\n" +
            "|  64 | 52.0 ± 2.0 | 60.5 ± 0.7 |\n" +
            "| 256 |       45.0 |          – |\n",
            table);
    }

    [Fact]
    public void SweepRejectsADuplicateCell()
    {
        var e = Assert.Throws<ArgumentException>(() => AnalysisTables.Sweep([(64, "v2a", [1.0]), (64, "v2a", [2.0])]));
        Assert.Contains("(L=64, direction 'v2a') is given twice", e.Message);
    }

    [Fact]
    public void SharesTableRowsCarryTheHandComputedPercentages()
    {
        using var scope = NewDisposeScope();
        var withAgreement = CodebookShares.FromCodes(
            new Dictionary<Modality, Tensor>
            {
                [Modality.Audio] = tensor(new long[] { 0, 1, 2, 3, 0, 1 }).view(2, 3),
                [Modality.Video] = tensor(new long[] { 0, 2, 2, 3, 3, 1 }).view(2, 3),
            },
            tensor(new long[] { 0, 1, 2, 0, 0, 1 }).view(2, 3), 5, 3);
        var table = AnalysisTables.Shares([("Hand | table", CodebookSharesTests.HandTable()), ("Codes", withAgreement)]);
        var lines = table.TrimEnd('\n').Split('\n');
        Assert.Equal(4, lines.Length);
        string[] Cells(string line) => line.Trim('|').Split(" | ").Select(c => c.Trim()).ToArray();
        Assert.Equal(
            ["Method", "Used codes", "Shared", "Mostly audio", "Mostly video", "Audio tokens on shared", "Video tokens on shared", "Same code a–v", "Same class a–v"],
            Cells(lines[0]));
        Assert.StartsWith("| ------", lines[1]);
        Assert.EndsWith("-: |", lines[1]);
        // 5 of 6 codes used; 2/5 shared, 2/5 mostly audio, 1/5 mostly video; tokens on shared 9/37 and 6/19; no agreement measured.
        Assert.Equal([@"Hand \| table", "5/6", "40.0%", "40.0%", "20.0%", "24.3%", "31.6%", "–", "–"], Cells(lines[2].Replace(@"\|", "\u0001")).Select(c => c.Replace("\u0001", @"\|")));
        // 4 of 5 used, all shared; every token on a shared code; same code 4/6, same class 5/6.
        Assert.Equal(["Codes", "4/5", "100.0%", "0.0%", "0.0%", "100.0%", "100.0%", "66.7%", "83.3%"], Cells(lines[3]));
    }
}
