using UniCode.Experiments.Analysis;
using UniCode.Model.Config;

namespace UniCode.Experiments.Tests.Analysis;

public sealed class ChartsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("unicode-charts-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static int CountColour(PngImage png, Rgba c, Func<int, int, bool>? where = null)
    {
        var n = 0;
        for (var y = 0; y < png.Height; y++)
        for (var x = 0; x < png.Width; x++)
            if (png.Pixel(x, y) == (c.R, c.G, c.B, c.A) && (where is null || where(x, y))) n++;
        return n;
    }

    private static int MaxRow(PngImage png, Rgba c)
    {
        var max = -1;
        for (var y = 0; y < png.Height; y++)
        for (var x = 0; x < png.Width; x++)
            if (png.Pixel(x, y) == (c.R, c.G, c.B, c.A)) max = y;
        return max;
    }

    [Fact]
    public void StackedSharesSegmentsAreProportionalToTheShares()
    {
        var path = Path.Combine(dir, "sub", "shares.png");
        // The hand table: of 5 used codes, 2 shared, 2 mostly audio, 1 mostly video.
        Charts.StackedShares(path, [("Hand table", CodebookSharesTests.HandTable())], "Code shares");
        var png = PngImage.Read(File.ReadAllBytes(path));
        Assert.True(png.Width > 300 && png.Height > 300);
        var shared = CountColour(png, Rgba.Parse("#59a14f"));
        var audio = CountColour(png, Rgba.Parse("#4e79a7"));
        var video = CountColour(png, Rgba.Parse("#f28e2b"));
        Assert.Equal(0, CountColour(png, Rgba.Parse("#b07aa1")));   // no text modality, no text colour
        // Each colour also fills one legend square (22×16); the bar segments are 2 : 2 : 1 up to their percent labels.
        const int legend = 22 * 16;
        Assert.InRange((double)(shared - legend) / (video - legend), 1.8, 2.2);
        Assert.InRange((double)(audio - legend) / (video - legend), 1.8, 2.2);
    }

    [Fact]
    public void SweepPutsHigherMeansHigherOnTheChart()
    {
        var path = Path.Combine(dir, "sweep.png");
        Charts.Sweep(path,
        [
            (64, "low", [19, 20, 21]), (128, "low", [20, 21, 22]), (512, "low", [18, 20]),
            (64, "high", [79, 80, 81]), (128, "high", [80]), (512, "high", [78, 80, 82]),
        ], "accuracy (%)", "Sweep");
        var png = PngImage.Read(File.ReadAllBytes(path));
        // Series 0 ("low") is blue, series 1 ("high") red; the legend sits near the top right for both,
        // so the lowest blue pixel is the low series' plot, far below any red one.
        var low = MaxRow(png, Rgba.Parse("#4e79a7"));
        var high = MaxRow(png, Rgba.Parse("#e15759"));
        Assert.True(low > high + 100, $"lowest blue row {low}, lowest red row {high}");
    }

    [Fact]
    public void ChartsRejectEmptyInput()
    {
        Assert.Throws<ArgumentException>(() => Charts.StackedShares(Path.Combine(dir, "x.png"), []));
        Assert.Throws<ArgumentException>(() => Charts.Sweep(Path.Combine(dir, "x.png"), []));
        Assert.Throws<ArgumentException>(() => Charts.Sweep(Path.Combine(dir, "x.png"), [(0, "v2a", [1.0])]));
        Assert.False(File.Exists(Path.Combine(dir, "x.png")));
    }
}
