using System.Globalization;
using UniCode.Model.Config;

namespace UniCode.Experiments.Analysis;

/// <summary>
/// The paper's analysis figures as PNG files, drawn with <see cref="PngCanvas"/> (no native libraries,
/// no system fonts): Fig. 4 style stacked code shares and Fig. 3 style codebook-size sweeps.
/// </summary>
public static class Charts
{
    private const int TextScale = 2;
    private static readonly Rgba Ink = Rgba.Parse("#222222");
    private static readonly Rgba Grid = Rgba.Parse("#e3e3e3");
    private static readonly Rgba SharedColour = Rgba.Parse("#59a14f");
    private static readonly Rgba[] ModalityColours = [Rgba.Parse("#4e79a7"), Rgba.Parse("#f28e2b"), Rgba.Parse("#b07aa1")];
    private static readonly Rgba[] SeriesColours =
    [
        Rgba.Parse("#4e79a7"), Rgba.Parse("#e15759"), Rgba.Parse("#59a14f"), Rgba.Parse("#f28e2b"),
        Rgba.Parse("#b07aa1"), Rgba.Parse("#76b7b2"), Rgba.Parse("#9c755f"), Rgba.Parse("#edc948"),
    ];

    private static int LineHeight => BitmapFont.Height(TextScale) + 4;

    /// <summary>
    /// Fig. 4 style: one stacked bar per method, 100% = its used codes, split into shared codes and codes
    /// mostly used by each modality (percent labels inside segments tall enough), "used k/L" above the
    /// bar, a legend and axis labels. Writes a PNG to <paramref name="path"/>.
    /// </summary>
    public static void StackedShares(string path, IEnumerable<(string Label, CodebookShares Shares)> rows, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var list = rows.ToList();
        if (list.Count == 0) throw new ArgumentException("charts: no rows; expected at least one (label, shares)", nameof(rows));
        var modalities = list.SelectMany(r => r.Shares.Modalities).Distinct().OrderBy(m => m).ToList();
        var thresholds = list.Select(r => r.Shares.Threshold).Distinct().ToList();
        var pct = thresholds.Count == 1 ? (100 * thresholds[0]).ToString("0.#", CultureInfo.InvariantCulture) + "%" : "threshold";

        var legend = new List<(string Text, Rgba Colour)> { ("shared", SharedColour) };
        legend.AddRange(modalities.Select(m => ($"mostly {Name(m)} (>{pct})", ModalityColours[(int)m])));

        const int plotHeight = 360;
        const int left = 110;
        var slot = Math.Max(150, list.Max(r => Wrap(r.Label, 200).Max(l => BitmapFont.Measure(l, TextScale))) + 30);
        var barWidth = Math.Min(90, slot - 40);
        var labelLines = list.Max(r => Wrap(r.Label, slot - 10).Count);
        var legendWidth = legend.Max(l => BitmapFont.Measure(l.Text, TextScale)) + 70;
        var top = title is null ? 50 : 90;
        var width = left + slot * list.Count + 30 + legendWidth;
        var height = top + plotHeight + 30 + labelLines * LineHeight + 50;
        var canvas = new PngCanvas(width, height);
        var plotWidth = slot * list.Count;
        var bottom = top + plotHeight;
        int Y(double percent) => bottom - (int)Math.Round(percent / 100 * plotHeight);

        if (title is not null) canvas.DrawText(title, width / 2, 24, Ink, 3, TextAlign.Center);
        for (var p = 0; p <= 100; p += 20)
        {
            var y = Y(p);
            if (p > 0) canvas.DrawLine(left + 1, y, left + plotWidth, y, Grid);
            canvas.DrawLine(left - 6, y, left, y, Ink, 2);
            canvas.DrawText(p.ToString(CultureInfo.InvariantCulture), left - 12, y - BitmapFont.Height(TextScale) / 2 + 2, Ink, TextScale, TextAlign.Right);
        }
        canvas.DrawTextUp("% of used codes", 16, top + plotHeight / 2, Ink, TextScale);

        for (var i = 0; i < list.Count; i++)
        {
            var (label, s) = list[i];
            var x = left + i * slot + (slot - barWidth) / 2;
            var segments = new List<(double Percent, Rgba Colour)> { (100 * s.SharedFraction, SharedColour) };
            segments.AddRange(modalities.Select(m => (100 * s.MostlyFraction(m), ModalityColours[(int)m])));
            var cumulative = 0.0;
            foreach (var (p, colour) in segments)
            {
                var y0 = Y(cumulative + p);
                var y1 = Y(cumulative);
                canvas.FillRect(x, y0, barWidth, y1 - y0, colour);
                if (y1 - y0 >= BitmapFont.Height(TextScale) + 4)
                    canvas.DrawText(p.ToString("F0", CultureInfo.InvariantCulture) + "%", x + barWidth / 2, (y0 + y1) / 2 - BitmapFont.Height(TextScale) / 2 + 2, Rgba.White, TextScale, TextAlign.Center);
                cumulative += p;
            }
            if (s.CodesUsed > 0) canvas.StrokeRect(x, Y(100), barWidth, plotHeight, Ink);
            canvas.DrawText($"{s.CodesUsed}/{s.CodebookSize}", x + barWidth / 2, Y(100) - LineHeight - 2, Ink, TextScale, TextAlign.Center);
            var lines = Wrap(label, slot - 10);
            for (var l = 0; l < lines.Count; l++)
                canvas.DrawText(lines[l], left + i * slot + slot / 2, bottom + 14 + l * LineHeight, Ink, TextScale, TextAlign.Center);
        }
        canvas.DrawLine(left, top - 10, left, bottom, Ink, 2);
        canvas.DrawLine(left, bottom, left + plotWidth, bottom, Ink, 2);
        canvas.DrawText("codes used / L above each bar", left + plotWidth / 2, height - 32, Ink, TextScale, TextAlign.Center);
        DrawLegend(canvas, left + plotWidth + 30, top, legend, square: true);
        canvas.Save(path);
    }

    /// <summary>
    /// Fig. 3 style: for each direction, the metric's mean over seeds against codebook size L on a log-2
    /// x axis (ticks at every L given), with ±1 sample-std error bars, a legend and axis labels; series are
    /// nudged sideways a few pixels so their error bars do not hide each other. Writes a PNG to <paramref name="path"/>.
    /// </summary>
    public static void Sweep(string path, IEnumerable<(int CodebookSize, string Direction, IReadOnlyList<double> ValuesOverSeeds)> cells,
        string metric = "accuracy (%)", string? title = null)
    {
        ArgumentNullException.ThrowIfNull(cells);
        var list = cells.ToList();
        if (list.Count == 0) throw new ArgumentException("charts: no sweep cells; expected at least one (L, direction, values)", nameof(cells));
        if (list.Any(c => c.CodebookSize < 1))
            throw new ArgumentException($"charts: codebook sizes [{string.Join(", ", list.Select(c => c.CodebookSize))}] include one below 1; expected L ≥ 1 (log-2 axis)", nameof(cells));
        if (list.GroupBy(c => (c.CodebookSize, c.Direction)).FirstOrDefault(g => g.Count() > 1) is { } dup)
            throw new ArgumentException($"charts: sweep cell (L={dup.Key.CodebookSize}, direction '{dup.Key.Direction}') is given twice; expected one list of seed values per cell", nameof(cells));
        var directions = list.Select(c => c.Direction).Distinct().ToList();
        var sizes = list.Select(c => c.CodebookSize).Distinct().Order().ToList();
        var stats = list.ToDictionary(c => (c.CodebookSize, c.Direction), c => SeedStatistics.MeanStd(c.ValuesOverSeeds));

        var lo = stats.Values.Min(s => s.Mean - s.Std);
        var hi = stats.Values.Max(s => s.Mean + s.Std);
        var (yMin, yMax, yStep) = NiceRange(lo, hi);
        var xMin = Math.Log2(sizes[0]) - 0.5;
        var xMax = Math.Log2(sizes[^1]) + 0.5;

        var decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(yStep) + 1e-9));
        var ticks = (int)Math.Round((yMax - yMin) / yStep);
        var tickLabels = Enumerable.Range(0, ticks + 1).Select(t => (yMin + t * yStep).ToString("F" + decimals, CultureInfo.InvariantCulture)).ToList();
        // Room for the rotated axis label (x 16…34) and the widest tick label right-aligned 12 px before the axis.
        var left = Math.Max(120, 16 + BitmapFont.Height(TextScale) + 16 + tickLabels.Max(t => BitmapFont.Measure(t, TextScale)) + 12);
        const int plotWidth = 560;
        const int plotHeight = 360;
        var top = title is null ? 40 : 80;
        var legendWidth = Math.Max(directions.Max(d => BitmapFont.Measure(d, TextScale)) + 40, BitmapFont.Measure("mean ± std", TextScale)) + 40;
        var width = left + plotWidth + 30 + legendWidth;
        var height = top + plotHeight + 100 + LineHeight;
        var bottom = top + plotHeight;
        var canvas = new PngCanvas(width, height);
        int X(int l) => left + (int)Math.Round((Math.Log2(l) - xMin) / (xMax - xMin) * plotWidth);
        int Y(double v) => bottom - (int)Math.Round((v - yMin) / (yMax - yMin) * plotHeight);

        if (title is not null) canvas.DrawText(title, width / 2, 24, Ink, 3, TextAlign.Center);
        for (var t = 0; t <= ticks; t++)
        {
            var y = Y(yMin + t * yStep);
            if (t > 0) canvas.DrawLine(left + 1, y, left + plotWidth, y, Grid);
            canvas.DrawLine(left - 6, y, left, y, Ink, 2);
            canvas.DrawText(tickLabels[t], left - 12, y - BitmapFont.Height(TextScale) / 2 + 2, Ink, TextScale, TextAlign.Right);
        }
        // Tick labels that would overlap the previous one (close sizes such as 400 and 512) drop to a second row.
        var rowEnds = new[] { int.MinValue, int.MinValue };
        var rowsUsed = 1;
        foreach (var l in sizes)
        {
            var x = X(l);
            var text = l.ToString(CultureInfo.InvariantCulture);
            var half = BitmapFont.Measure(text, TextScale) / 2;
            var row = Array.FindIndex(rowEnds, end => x - half > end + 10);
            canvas.DrawLine(x, top, x, bottom - 1, Grid);
            canvas.DrawLine(x, bottom, x, bottom + 6 + (row == 1 ? LineHeight : 0), Ink, row == 1 ? 1 : 2);
            if (row < 0) continue;
            canvas.DrawText(text, x, bottom + 14 + row * LineHeight, Ink, TextScale, TextAlign.Center);
            rowEnds[row] = x + half;
            rowsUsed = Math.Max(rowsUsed, row + 1);
        }
        canvas.DrawLine(left, top, left, bottom, Ink, 2);
        canvas.DrawLine(left, bottom, left + plotWidth, bottom, Ink, 2);
        canvas.DrawText("codebook size L (log2 scale)", left + plotWidth / 2, bottom + 14 + rowsUsed * LineHeight + 12, Ink, TextScale, TextAlign.Center);
        canvas.DrawTextUp(metric, 16, top + plotHeight / 2, Ink, TextScale);

        for (var d = 0; d < directions.Count; d++)
        {
            var colour = SeriesColours[d % SeriesColours.Length];
            var nudge = (int)Math.Round((d - (directions.Count - 1) / 2.0) * 6);
            var points = sizes.Where(l => stats.ContainsKey((l, directions[d])))
                .Select(l => (X: X(l) + nudge, S: stats[(l, directions[d])])).ToList();
            for (var i = 1; i < points.Count; i++)
                canvas.DrawLine(points[i - 1].X, Y(points[i - 1].S.Mean), points[i].X, Y(points[i].S.Mean), colour, 2);
            foreach (var (x, s) in points)
            {
                if (s.Std > 0)
                {
                    var (y0, y1) = (Y(s.Mean + s.Std), Y(s.Mean - s.Std));
                    canvas.DrawLine(x, y0, x, y1, colour, 2);
                    canvas.DrawLine(x - 6, y0, x + 6, y0, colour, 2);
                    canvas.DrawLine(x - 6, y1, x + 6, y1, colour, 2);
                }
                canvas.FillRect(x - 5, Y(s.Mean) - 5, 11, 11, colour);
                canvas.StrokeRect(x - 5, Y(s.Mean) - 5, 11, 11, Ink);
            }
        }
        DrawLegend(canvas, left + plotWidth + 30, top, directions.Select((d, i) => (d, SeriesColours[i % SeriesColours.Length])).ToList(), square: false);
        var note = top + directions.Count * (LineHeight + 8) + 16;
        canvas.DrawText("mean ± std", left + plotWidth + 30, note, Ink, TextScale);
        canvas.DrawText("over seeds", left + plotWidth + 30, note + LineHeight, Ink, TextScale);
        canvas.Save(path);
    }

    private static void DrawLegend(PngCanvas canvas, int x, int y, IReadOnlyList<(string Text, Rgba Colour)> entries, bool square)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            var (text, colour) = entries[i];
            var row = y + i * (LineHeight + 8);
            var mid = row + BitmapFont.Height(TextScale) / 2 - 2;
            if (square)
            {
                canvas.FillRect(x, row, 22, 16, colour);
            }
            else
            {
                canvas.DrawLine(x, mid, x + 30, mid, colour, 2);
                canvas.FillRect(x + 10, mid - 5, 11, 11, colour);
                canvas.StrokeRect(x + 10, mid - 5, 11, 11, Ink);
            }
            canvas.DrawText(text, x + (square ? 32 : 40), row, Ink, TextScale);
        }
    }

    /// <summary>Axis bounds on multiples of a 1/2/5·10^k step, about six ticks, covering [lo, hi].</summary>
    internal static (double Min, double Max, double Step) NiceRange(double lo, double hi)
    {
        if (hi - lo < 1e-9)
        {
            var pad = Math.Max(1, Math.Abs(lo) * 0.05);
            (lo, hi) = (lo - pad, hi + pad);
        }
        var raw = (hi - lo) / 6;
        var mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var norm = raw / mag;
        var step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
        return (Math.Floor(lo / step) * step, Math.Ceiling(hi / step) * step, step);
    }

    /// <summary>Splits a label at spaces into lines at most <paramref name="maxWidth"/> pixels wide (a longer word keeps its own line).</summary>
    private static List<string> Wrap(string text, int maxWidth)
    {
        var lines = new List<string>();
        var current = "";
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = current.Length == 0 ? word : current + " " + word;
            if (current.Length > 0 && BitmapFont.Measure(candidate, TextScale) > maxWidth)
            {
                lines.Add(current);
                current = word;
            }
            else
            {
                current = candidate;
            }
        }
        lines.Add(current);
        return lines;
    }

    private static string Name(Modality m) => m.ToString().ToLowerInvariant();
}
