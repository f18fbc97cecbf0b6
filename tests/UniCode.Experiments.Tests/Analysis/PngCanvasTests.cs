using System.Text;
using UniCode.Experiments.Analysis;

namespace UniCode.Experiments.Tests.Analysis;

public sealed class PngCanvasTests
{
    private static readonly Rgba Red = new(255, 0, 0);
    private static readonly Rgba Blue = new(0, 0, 255, 128);

    [Fact]
    public void Crc32MatchesTheStandardCheckValue()
    {
        // The CRC-32 check value of "123456789" (IEEE 802.3 / PNG / zlib).
        Assert.Equal(0xCBF43926u, PngEncoder.Crc32.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0xCBF43926u, PngImage.BitwiseCrc(Encoding.ASCII.GetBytes("123456789")));
    }

    [Fact]
    public void EncodedImageDecodesToTheDrawnPixels()
    {
        var canvas = new PngCanvas(7, 3, Rgba.White);
        canvas.SetPixel(0, 0, Red);
        canvas.SetPixel(6, 2, Blue);
        canvas.FillRect(2, 1, 2, 2, Rgba.Black);
        canvas.SetPixel(-1, 0, Red);     // clipped, not wrapped onto the previous row
        canvas.SetPixel(7, 1, Red);

        var png = PngImage.Read(canvas.ToPng());
        Assert.Equal(["IHDR", "IDAT", "IEND"], png.ChunkTypes);
        Assert.Equal((7, 3), (png.Width, png.Height));
        Assert.Equal((byte)8, png.BitDepth);
        Assert.Equal((byte)6, png.ColourType);
        Assert.Equal((0, 0, 0), (png.Compression, png.Filter, png.Interlace));
        Assert.Equal(3 * (1 + 7 * 4), png.Inflated.Length);
        for (var y = 0; y < 3; y++) Assert.Equal(0, png.Inflated[y * (1 + 7 * 4)]);   // filter byte None

        Assert.Equal(((byte)255, (byte)0, (byte)0, (byte)255), png.Pixel(0, 0));
        Assert.Equal(((byte)0, (byte)0, (byte)255, (byte)128), png.Pixel(6, 2));
        Assert.Equal(((byte)0, (byte)0, (byte)0, (byte)255), png.Pixel(2, 1));
        Assert.Equal(((byte)0, (byte)0, (byte)0, (byte)255), png.Pixel(3, 2));
        Assert.Equal(((byte)255, (byte)255, (byte)255, (byte)255), png.Pixel(1, 1));
        Assert.Equal(((byte)255, (byte)255, (byte)255, (byte)255), png.Pixel(6, 0));
        Assert.Equal(((byte)255, (byte)255, (byte)255, (byte)255), png.Pixel(0, 2));   // (7,1) was clipped, not wrapped here
        Assert.Equal(((byte)255, (byte)255, (byte)255, (byte)255), png.Pixel(4, 1));
    }

    [Fact]
    public void IendChunkHasItsFixedCrc()
    {
        var bytes = new PngCanvas(1, 1).ToPng();
        // Every PNG ends with a zero-length IEND chunk whose CRC is AE 42 60 82.
        Assert.Equal([0, 0, 0, 0, (byte)'I', (byte)'E', (byte)'N', (byte)'D', 0xAE, 0x42, 0x60, 0x82], bytes[^12..]);
    }

    [Fact]
    public void LinesFollowBresenhamAndThicknessWidensThemSymmetrically()
    {
        var c = new PngCanvas(10, 10);
        c.DrawLine(0, 0, 3, 3, Red);
        foreach (var i in new[] { 0, 1, 2, 3 }) Assert.Equal(Red, c.GetPixel(i, i));
        Assert.Equal(Rgba.White, c.GetPixel(1, 0));
        Assert.Equal(Rgba.White, c.GetPixel(4, 4));

        var t = new PngCanvas(10, 10);
        t.DrawLine(2, 5, 6, 5, Red, 3);
        for (var x = 1; x <= 7; x++)
        for (var y = 0; y < 10; y++)
            Assert.Equal(y is >= 4 and <= 6 && x is >= 1 and <= 7 ? Red : Rgba.White, t.GetPixel(x, y));
        Assert.Equal(Rgba.White, t.GetPixel(8, 5));
    }

    [Fact]
    public void TextDrawsGlyphPixelsScaledAndAligned()
    {
        // '-' is the glyph's row 3, all five columns.
        var c = new PngCanvas(30, 30);
        c.DrawText("-", 3, 4, Red, scale: 2);
        for (var x = 0; x < 30; x++)
        for (var y = 0; y < 30; y++)
            Assert.Equal(x is >= 3 and < 13 && y is >= 10 and < 12 ? Red : Rgba.White, c.GetPixel(x, y));

        var r = new PngCanvas(30, 10);
        r.DrawText("-", 20, 0, Red, align: TextAlign.Right);   // 5 px wide, ending at x = 20
        Assert.Equal(Red, r.GetPixel(15, 3));
        Assert.Equal(Red, r.GetPixel(19, 3));
        Assert.Equal(Rgba.White, r.GetPixel(14, 3));
        Assert.Equal(Rgba.White, r.GetPixel(20, 3));

        // Rotated a quarter turn: the dash becomes a vertical bar at column x + 3, rows centred on 20.
        var u = new PngCanvas(30, 30);
        u.DrawTextUp("-", 10, 20, Red);
        for (var y = 17; y <= 21; y++) Assert.Equal(Red, u.GetPixel(13, y));
        Assert.Equal(Rgba.White, u.GetPixel(13, 16));
        Assert.Equal(Rgba.White, u.GetPixel(13, 22));
        Assert.Equal(Rgba.White, u.GetPixel(12, 19));
        Assert.Equal(Rgba.White, u.GetPixel(14, 19));
    }

    [Fact]
    public void FontCoversChartCharactersAndMeasuresWidth()
    {
        foreach (var ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .,:-+=±%()/<>_²–")
            Assert.True(BitmapFont.Has(ch), $"glyph '{ch}' missing");
        Assert.False(BitmapFont.Has('€'));
        Assert.True(BitmapFont.IsSet('€', 0, 0));   // missing glyphs draw a box, not nothing
        Assert.Equal((3 * 6 - 1) * 2, BitmapFont.Measure("abc", 2));
        Assert.Equal(0, BitmapFont.Measure("", 2));
    }

    [Fact]
    public void EncoderRejectsAWrongBufferLength()
    {
        var e = Assert.Throws<ArgumentException>(() => PngEncoder.Encode(2, 2, new byte[15]));
        Assert.Contains("16", e.Message);
    }
}
