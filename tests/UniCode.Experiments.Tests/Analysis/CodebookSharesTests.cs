using UniCode.Experiments.Analysis;
using UniCode.Model.Config;
using UniCode.Model.Quantizer;
using static TorchSharp.torch;

namespace UniCode.Experiments.Tests.Analysis;

public sealed class CodebookSharesTests
{
    private static readonly Modality[] AV = [Modality.Audio, Modality.Video];

    /// <summary>
    /// L = 6: code 0 audio only (100% → mostly audio); code 1 4 of 5 audio (exactly 80%, not more → shared);
    /// code 2 9 of 10 video (90% → mostly video); code 3 unused; code 4 half and half (shared);
    /// code 5 17 of 21 audio (81% → mostly audio).
    /// </summary>
    internal static CodebookShares HandTable(double threshold = CodebookShares.DefaultThreshold) => CodebookShares.Classify(AV,
        new Dictionary<Modality, long[]>
        {
            [Modality.Audio] = [10, 4, 1, 0, 5, 17],
            [Modality.Video] = [0, 1, 9, 0, 5, 4],
        }, threshold);

    [Fact]
    public void ClassifiesAHandMadeTableAtEightyPercent()
    {
        var s = HandTable();
        Assert.Equal(
            [CodeRole.Mostly(Modality.Audio), CodeRole.Shared, CodeRole.Mostly(Modality.Video), CodeRole.Unused, CodeRole.Shared, CodeRole.Mostly(Modality.Audio)],
            s.Roles);
        Assert.Equal(6, s.CodebookSize);
        Assert.Equal(5, s.CodesUsed);
        Assert.Equal(2, s.SharedCodes);
        Assert.Equal(2, s.MostlyCodes[Modality.Audio]);
        Assert.Equal(1, s.MostlyCodes[Modality.Video]);
        Assert.Equal(0.4, s.SharedFraction, 12);
        Assert.Equal(0.4, s.MostlyFraction(Modality.Audio), 12);
        Assert.Equal(0.2, s.MostlyFraction(Modality.Video), 12);
        Assert.Equal(0.0, s.MostlyFraction(Modality.Text));
        Assert.Equal(37, s.Tokens[Modality.Audio]);
        Assert.Equal(19, s.Tokens[Modality.Video]);
        Assert.Equal(9.0 / 37, s.SharedTokenShare[Modality.Audio], 12);   // codes 1 and 4: 4 + 5 of 37
        Assert.Equal(6.0 / 19, s.SharedTokenShare[Modality.Video], 12);   // 1 + 5 of 19
        Assert.Null(s.MajorityClass);
        Assert.Empty(s.Agreement);
        Assert.Equal("mostly audio", s.Roles[0].ToString());
    }

    [Fact]
    public void AHigherThresholdMakesBorderlineCodesShared()
    {
        var s = HandTable(0.9);
        // 90% (code 2) is not more than 90%; 81% (code 5) neither; only code 0 stays one modality's.
        Assert.Equal(
            [CodeRole.Mostly(Modality.Audio), CodeRole.Shared, CodeRole.Shared, CodeRole.Unused, CodeRole.Shared, CodeRole.Shared],
            s.Roles);
        Assert.Equal(4, s.SharedCodes);
        Assert.Equal(0, s.MostlyCodes[Modality.Video]);
    }

    [Fact]
    public void FromUsageClassifiesTheTrainingCounters()
    {
        var usage = new CodeUsage(AV, new Dictionary<Modality, long[]> { [Modality.Audio] = [3, 0], [Modality.Video] = [3, 7] }, 2);
        var s = CodebookShares.FromUsage(usage);
        Assert.Equal([CodeRole.Shared, CodeRole.Mostly(Modality.Video)], s.Roles);
    }

    [Fact]
    public void RejectsBadTablesAndThresholds()
    {
        var counts = new Dictionary<Modality, long[]> { [Modality.Audio] = [1, 2], [Modality.Video] = [1] };
        Assert.Contains("counts[Video] has 1 codes; expected 2", Assert.Throws<ArgumentException>(() => CodebookShares.Classify(AV, counts)).Message);
        var ok = new Dictionary<Modality, long[]> { [Modality.Audio] = [1, 2], [Modality.Video] = [1, 0] };
        Assert.Throws<ArgumentOutOfRangeException>(() => CodebookShares.Classify(AV, ok, 0.4));
        Assert.Throws<ArgumentOutOfRangeException>(() => CodebookShares.Classify(AV, ok, 1.0));
        Assert.Contains("no entry for Text", Assert.Throws<ArgumentException>(() => CodebookShares.Classify([Modality.Audio, Modality.Text], ok)).Message);
    }

    /// <summary>
    /// 2 clips × 3 seconds, L = 5, classes 0, 1 and background 2:
    ///   audio [[0,1,2],[3,0,1]], video [[0,2,2],[3,3,1]], classes [[0,1,2],[0,0,1]].
    /// Majority class per code (both modalities' tokens): 0 → 0 (3×c0); 1 → 1 (3×c1); 2 → 2 (c2 twice, c1 once);
    /// 3 → 0 (3×c0); 4 unused → −1. Same code at (0,0) (0,2) (1,0) (1,2): 4 of 6; same class adds (1,1),
    /// where audio's code 0 and video's code 3 both stand for class 0: 5 of 6.
    /// </summary>
    [Fact]
    public void FromCodesCountsMajorityClassesAndAgreementOnAHandExample()
    {
        using var scope = NewDisposeScope();
        var codes = new Dictionary<Modality, Tensor>
        {
            [Modality.Video] = tensor(new long[] { 0, 2, 2, 3, 3, 1 }).view(2, 3),
            [Modality.Audio] = tensor(new long[] { 0, 1, 2, 3, 0, 1 }).view(2, 3),
        };
        var classes = tensor(new long[] { 0, 1, 2, 0, 0, 1 }).view(2, 3);
        var s = CodebookShares.FromCodes(codes, classes, codebookSize: 5, classes: 3);

        Assert.Equal(AV, s.Modalities);   // processing order, whatever the dictionary's
        Assert.Equal([2L, 2, 1, 1, 0], s.Counts[Modality.Audio]);
        Assert.Equal([1L, 1, 2, 2, 0], s.Counts[Modality.Video]);
        Assert.Equal([0, 1, 2, 0, -1], s.MajorityClass!);
        var a = Assert.Single(s.Agreement);
        Assert.Equal((Modality.Audio, Modality.Video, 6L), (a.First, a.Second, a.Steps));
        Assert.Equal(4.0 / 6, a.SameCode, 12);
        Assert.Equal(5.0 / 6, a.SameClass, 12);
        Assert.Same(a, s.AgreementOf(Modality.Video, Modality.Audio));
        Assert.Equal("audio–video", a.Pair);
        // 2 of 3 is below 80% for every used code.
        Assert.Equal([CodeRole.Shared, CodeRole.Shared, CodeRole.Shared, CodeRole.Shared, CodeRole.Unused], s.Roles);
    }

    [Fact]
    public void MajorityTiesGoToTheLowestClass()
    {
        using var scope = NewDisposeScope();
        var codes = new Dictionary<Modality, Tensor>
        {
            [Modality.Audio] = tensor(new long[] { 1, 1 }).view(1, 2),
            [Modality.Video] = tensor(new long[] { 0, 0 }).view(1, 2),
        };
        var s = CodebookShares.FromCodes(codes, tensor(new long[] { 2, 1 }).view(1, 2), codebookSize: 2, classes: 3);
        Assert.Equal([1, 1], s.MajorityClass!);
        Assert.Equal([CodeRole.Mostly(Modality.Video), CodeRole.Mostly(Modality.Audio)], s.Roles);
        Assert.Equal(0.0, s.SharedTokenShare[Modality.Audio]);
        Assert.Equal(0.0, s.Agreement[0].SameCode);
        Assert.Equal(1.0, s.Agreement[0].SameClass);
    }

    [Fact]
    public void FromCodesRejectsOutOfRangeIndicesAndMismatchedShapes()
    {
        using var scope = NewDisposeScope();
        var classes = tensor(new long[] { 0, 1 }).view(1, 2);
        var bad = new Dictionary<Modality, Tensor> { [Modality.Audio] = tensor(new long[] { 0, 5 }).view(1, 2) };
        Assert.Contains("codes[Audio] holds values in [0, 5]; expected [0, 4]",
            Assert.Throws<ArgumentException>(() => CodebookShares.FromCodes(bad, classes, 5, 2)).Message);
        var shape = new Dictionary<Modality, Tensor> { [Modality.Audio] = tensor(new long[] { 0, 1 }).view(2, 1) };
        Assert.Contains("expected [N,T] = [1,2]", Assert.Throws<ArgumentException>(() => CodebookShares.FromCodes(shape, classes, 5, 2)).Message);
    }
}
