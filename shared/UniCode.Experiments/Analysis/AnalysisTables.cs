using System.Globalization;
using System.Text;
using UniCode.Model.Config;

namespace UniCode.Experiments.Analysis;

/// <summary>Markdown tables of the codebook analysis (Fig. 4) and the codebook-size sweep (Fig. 3).</summary>
public static class AnalysisTables
{
    /// <summary>
    /// One row per method: used codes (of L), shared / mostly-m codes as percentages of the used ones, per
    /// modality the percentage of its tokens on shared codes, and per modality pair the same-code and
    /// same-class rates (<see cref="ModalityAgreement"/>). Columns cover every modality and pair of any row;
    /// a row without one shows "–".
    /// </summary>
    public static string Shares(IEnumerable<(string Label, CodebookShares Shares)> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var list = rows.ToList();
        if (list.Count == 0) throw new ArgumentException("analysis tables: no rows; expected at least one (label, shares)", nameof(rows));
        var modalities = list.SelectMany(r => r.Shares.Modalities).Distinct().OrderBy(m => m).ToList();
        var pairs = list.SelectMany(r => r.Shares.Agreement.Select(a => (a.First, a.Second))).Distinct().OrderBy(p => p.First).ThenBy(p => p.Second).ToList();

        var header = new List<string> { "Method", "Used codes", "Shared" };
        header.AddRange(modalities.Select(m => $"Mostly {Name(m)}"));
        header.AddRange(modalities.Select(m => $"{Cap(m)} tokens on shared"));
        foreach (var (a, b) in pairs) header.AddRange([$"Same code {Letters(a, b)}", $"Same class {Letters(a, b)}"]);
        var table = new List<string[]> { header.ToArray() };
        foreach (var (label, s) in list)
        {
            var row = new List<string> { Escape(label), $"{s.CodesUsed}/{s.CodebookSize}", Percent(s.SharedFraction) };
            row.AddRange(modalities.Select(m => s.Modalities.Contains(m) ? Percent(s.MostlyFraction(m)) : "–"));
            row.AddRange(modalities.Select(m => s.SharedTokenShare.TryGetValue(m, out var v) ? Percent(v) : "–"));
            foreach (var (a, b) in pairs)
            {
                var ag = s.AgreementOf(a, b);
                row.AddRange(ag is null ? ["–", "–"] : [Percent(ag.SameCode), Percent(ag.SameClass)]);
            }
            table.Add(row.ToArray());
        }
        return Markdown(table, firstLeft: true);
    }

    /// <summary>
    /// The codebook-size sweep: one row per codebook size L (ascending), one column per direction (in order
    /// of first appearance), cells "mean ± sample std" over seeds (<see cref="SeedStatistics.Format"/>);
    /// "–" where a (L, direction) was not run. A (L, direction) given twice is an error.
    /// </summary>
    public static string Sweep(IEnumerable<(int CodebookSize, string Direction, IReadOnlyList<double> ValuesOverSeeds)> cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        var list = cells.ToList();
        if (list.Count == 0) throw new ArgumentException("analysis tables: no sweep cells; expected at least one (L, direction, values)", nameof(cells));
        var byKey = new Dictionary<(int, string), IReadOnlyList<double>>();
        foreach (var (l, d, v) in list)
        {
            if (!byKey.TryAdd((l, d), v))
                throw new ArgumentException($"analysis tables: sweep cell (L={l}, direction '{d}') is given twice; expected one list of seed values per cell", nameof(cells));
        }
        var directions = list.Select(c => c.Direction).Distinct().ToList();
        var sizes = list.Select(c => c.CodebookSize).Distinct().Order().ToList();
        List<string[]> table = [["L", .. directions.Select(Escape)]];
        foreach (var l in sizes)
            table.Add([l.ToString(CultureInfo.InvariantCulture), .. directions.Select(d => byKey.TryGetValue((l, d), out var v) ? SeedStatistics.Format(v) : "–")]);
        return Markdown(table, firstLeft: false);
    }

    private static string Markdown(List<string[]> rows, bool firstLeft)
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => Math.Max(3, rows.Max(r => r[c].Length))).ToArray();
        var sb = new StringBuilder();
        void Line(IEnumerable<string> cells) => sb.Append("| ").AppendJoin(" | ", cells).Append(" |\n");
        Line(rows[0].Select((h, c) => h.PadRight(widths[c])));
        Line(widths.Select((w, c) => c == 0 && firstLeft ? new string('-', w) : new string('-', w - 1) + ":"));
        foreach (var r in rows.Skip(1)) Line(r.Select((v, c) => c == 0 && firstLeft ? v.PadRight(widths[c]) : v.PadLeft(widths[c])));
        return sb.ToString();
    }

    private static string Percent(double fraction) => (100 * fraction).ToString("F1", CultureInfo.InvariantCulture) + "%";

    private static string Name(Modality m) => m.ToString().ToLowerInvariant();

    private static string Cap(Modality m) => m.ToString();

    private static string Letters(Modality a, Modality b) => $"{a.Letter()}–{b.Letter()}";

    private static string Escape(string s) => s.Replace("|", "\\|");
}
