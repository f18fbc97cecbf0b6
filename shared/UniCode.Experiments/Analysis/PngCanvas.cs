namespace UniCode.Experiments.Analysis;

/// <summary>Where a text's anchor x lies: at its left edge, its centre or its right edge.</summary>
public enum TextAlign
{
    Left,
    Center,
    Right,
}

/// <summary>
/// An RGBA pixel buffer with the few drawing primitives charts need — pixels, filled and outlined
/// rectangles, thick lines, text in <see cref="BitmapFont"/> (horizontal or reading upwards) — saved as PNG
/// by <see cref="PngEncoder"/>. Drawing overwrites (no blending) and clips at the edges; (0,0) is top-left.
/// </summary>
public sealed class PngCanvas
{
    private readonly byte[] pixels;

    public int Width { get; }
    public int Height { get; }

    /// <summary>A <paramref name="width"/>×<paramref name="height"/> canvas filled with <paramref name="background"/> (white by default).</summary>
    public PngCanvas(int width, int height, Rgba? background = null)
    {
        if (width < 1 || height < 1 || (long)width * height > 64L * 1024 * 1024)
            throw new ArgumentOutOfRangeException(nameof(width), $"png canvas: {width}×{height}; expected between 1×1 and 64 megapixels");
        Width = width;
        Height = height;
        pixels = new byte[width * height * 4];
        FillRect(0, 0, width, height, background ?? Rgba.White);
    }

    /// <summary>The colour at (x, y); throws outside the canvas.</summary>
    public Rgba GetPixel(int x, int y)
    {
        if ((uint)x >= Width || (uint)y >= Height)
            throw new ArgumentOutOfRangeException(nameof(x), $"png canvas: pixel ({x},{y}) is outside {Width}×{Height}");
        var i = (y * Width + x) * 4;
        return new Rgba(pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]);
    }

    /// <summary>Sets (x, y) to <paramref name="c"/>; points outside the canvas are ignored.</summary>
    public void SetPixel(int x, int y, Rgba c)
    {
        if ((uint)x >= Width || (uint)y >= Height) return;
        var i = (y * Width + x) * 4;
        pixels[i] = c.R;
        pixels[i + 1] = c.G;
        pixels[i + 2] = c.B;
        pixels[i + 3] = c.A;
    }

    /// <summary>Fills the <paramref name="w"/>×<paramref name="h"/> rectangle whose top-left corner is (x, y).</summary>
    public void FillRect(int x, int y, int w, int h, Rgba c)
    {
        var x0 = Math.Max(0, x);
        var y0 = Math.Max(0, y);
        var x1 = Math.Min(Width, x + w);
        var y1 = Math.Min(Height, y + h);
        for (var yy = y0; yy < y1; yy++)
        for (var xx = x0; xx < x1; xx++)
            SetPixel(xx, yy, c);
    }

    /// <summary>Outlines the rectangle (x, y, w, h) with a border <paramref name="thickness"/> pixels wide, inside it.</summary>
    public void StrokeRect(int x, int y, int w, int h, Rgba c, int thickness = 1)
    {
        FillRect(x, y, w, thickness, c);
        FillRect(x, y + h - thickness, w, thickness, c);
        FillRect(x, y, thickness, h, c);
        FillRect(x + w - thickness, y, thickness, h, c);
    }

    /// <summary>A line from (x0, y0) to (x1, y1), both ends included (Bresenham), drawn with a square pen <paramref name="thickness"/> pixels wide.</summary>
    public void DrawLine(int x0, int y0, int x1, int y1, Rgba c, int thickness = 1)
    {
        if (thickness < 1) throw new ArgumentOutOfRangeException(nameof(thickness), thickness, "png canvas: line thickness must be at least 1");
        var dx = Math.Abs(x1 - x0);
        var dy = -Math.Abs(y1 - y0);
        var sx = x0 < x1 ? 1 : -1;
        var sy = y0 < y1 ? 1 : -1;
        var err = dx + dy;
        var lo = (thickness - 1) / 2;
        while (true)
        {
            FillRect(x0 - lo, y0 - lo, thickness, thickness, c);
            if (x0 == x1 && y0 == y1) break;
            var e2 = 2 * err;
            if (e2 >= dy) { err += dy; x0 += sx; }
            if (e2 <= dx) { err += dx; y0 += sy; }
        }
    }

    /// <summary>
    /// Draws <paramref name="text"/> with its glyph cells' top at <paramref name="y"/>, anchored at
    /// <paramref name="x"/> as <paramref name="align"/> says, each font pixel a <paramref name="scale"/>² square.
    /// </summary>
    public void DrawText(string text, int x, int y, Rgba c, int scale = 1, TextAlign align = TextAlign.Left)
    {
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "png canvas: text scale must be at least 1");
        var width = BitmapFont.Measure(text, scale);
        var left = align switch { TextAlign.Center => x - width / 2, TextAlign.Right => x - width, _ => x };
        for (var i = 0; i < text.Length; i++)
        for (var gy = 0; gy < BitmapFont.GlyphHeight; gy++)
        for (var gx = 0; gx < BitmapFont.GlyphWidth; gx++)
        {
            if (BitmapFont.IsSet(text[i], gx, gy))
                FillRect(left + (i * BitmapFont.Advance + gx) * scale, y + gy * scale, scale, scale, c);
        }
    }

    /// <summary>
    /// Draws <paramref name="text"/> rotated a quarter turn anticlockwise (reading upwards, as a y-axis
    /// label): the glyphs' tops face left at column <paramref name="x"/>, the text centred on row <paramref name="centerY"/>.
    /// </summary>
    public void DrawTextUp(string text, int x, int centerY, Rgba c, int scale = 1)
    {
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "png canvas: text scale must be at least 1");
        var bottom = centerY + BitmapFont.Measure(text, scale) / 2;
        for (var i = 0; i < text.Length; i++)
        for (var gy = 0; gy < BitmapFont.GlyphHeight; gy++)
        for (var gx = 0; gx < BitmapFont.GlyphWidth; gx++)
        {
            if (BitmapFont.IsSet(text[i], gx, gy))
                FillRect(x + gy * scale, bottom - (i * BitmapFont.Advance + gx + 1) * scale, scale, scale, c);
        }
    }

    /// <summary>The canvas as PNG file bytes.</summary>
    public byte[] ToPng() => PngEncoder.Encode(Width, Height, pixels);

    /// <summary>Writes the PNG to <paramref name="path"/>, creating its folder.</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllBytes(path, ToPng());
    }
}
