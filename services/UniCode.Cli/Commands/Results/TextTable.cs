using System.Globalization;
using System.Text;
using UniCode.Cli.CommandLine;

namespace UniCode.Cli.Commands.Results;

/// <summary>How a table is written: aligned text for the terminal, CSV, GitHub markdown, or a LaTeX booktabs tabular.</summary>
public enum TableFormat
{
    Table,
    Csv,
    Markdown,
    Latex,
}

/// <summary>A column of a <see cref="TextTable"/>; numbers are right-aligned.</summary>
public sealed record TextColumn(string Name, bool Numeric = false);

/// <summary>
/// A table of display strings with caption lines (shown above text and markdown tables, as a comment
/// above LaTeX, left out of CSV, which holds only the header and the rows).
/// </summary>
public sealed class TextTable(IReadOnlyList<TextColumn> columns, IReadOnlyList<IReadOnlyList<string>> rows, IReadOnlyList<string>? caption = null)
{
    public IReadOnlyList<TextColumn> Columns { get; } = columns;
    public IReadOnlyList<IReadOnlyList<string>> Rows { get; } = rows;
    public IReadOnlyList<string> Caption { get; } = caption ?? [];

    /// <summary>Parses <c>--format</c>: table, csv, markdown (md), latex (tex).</summary>
    public static TableFormat ParseFormat(string text, string option = "format") => text.ToLowerInvariant() switch
    {
        "table" or "text" => TableFormat.Table,
        "csv" => TableFormat.Csv,
        "markdown" or "md" => TableFormat.Markdown,
        "latex" or "tex" => TableFormat.Latex,
        _ => throw new UsageException($"option '--{option}' = '{text}': expected table, csv, markdown or latex"),
    };

    /// <summary>The format a file name implies: .csv, .md/.markdown, .tex; null for other extensions.</summary>
    public static TableFormat? FormatOfFile(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".csv" => TableFormat.Csv,
        ".md" or ".markdown" => TableFormat.Markdown,
        ".tex" => TableFormat.Latex,
        ".txt" => TableFormat.Table,
        _ => null,
    };

    public string Render(TableFormat format) => format switch
    {
        TableFormat.Csv => Csv(),
        TableFormat.Markdown => Markdown(),
        TableFormat.Latex => Latex(),
        _ => Text(),
    };

    /// <summary>Aligned columns separated by two spaces, a dashed rule under the header.</summary>
    public string Text()
    {
        var sb = new StringBuilder();
        foreach (var line in Caption) sb.AppendLine(line);
        if (Caption.Count > 0) sb.AppendLine();
        if (Rows.Count == 0)
        {
            sb.AppendLine("(no rows)");
            return sb.ToString();
        }
        var widths = Columns.Select((c, i) => Math.Max(c.Name.Length, Rows.Max(r => r[i].Length))).ToArray();
        string Line(IReadOnlyList<string> cells) => string.Join("  ", cells.Select((cell, i) =>
            Columns[i].Numeric ? cell.PadLeft(widths[i]) : cell.PadRight(widths[i]))).TrimEnd();
        sb.AppendLine(Line(Columns.Select(c => c.Name).ToList()));
        sb.AppendLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var r in Rows) sb.AppendLine(Line(r));
        return sb.ToString();
    }

    /// <summary>RFC 4180: fields with a comma, quote or line break are quoted; quotes doubled; CRLF-free (LF).</summary>
    public string Csv()
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(",", Columns.Select(c => CsvField(c.Name))));
        foreach (var r in Rows) sb.AppendLine(string.Join(",", r.Select(CsvField)));
        return sb.ToString();
    }

    public static string CsvField(string s) =>
        s.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;

    public string Markdown()
    {
        var sb = new StringBuilder();
        foreach (var line in Caption) sb.AppendLine(line);
        if (Caption.Count > 0) sb.AppendLine();
        static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);
        sb.AppendLine("| " + string.Join(" | ", Columns.Select(c => Cell(c.Name))) + " |");
        sb.AppendLine("|" + string.Concat(Columns.Select(c => c.Numeric ? "---:|" : "---|")));
        foreach (var r in Rows) sb.AppendLine("| " + string.Join(" | ", r.Select(Cell)) + " |");
        return sb.ToString();
    }

    /// <summary>
    /// A booktabs tabular (needs \usepackage{booktabs}). Cells are escaped, except that cells made by
    /// <see cref="LatexCell"/> are passed through verbatim (they carry their own math).
    /// </summary>
    public string Latex()
    {
        var sb = new StringBuilder();
        foreach (var line in Caption) sb.AppendLine("% " + line);
        sb.AppendLine(@"\begin{tabular}{" + string.Concat(Columns.Select(c => c.Numeric ? "r" : "l")) + "}");
        sb.AppendLine(@"\toprule");
        sb.AppendLine(string.Join(" & ", Columns.Select(c => LatexText(c.Name))) + @" \\");
        sb.AppendLine(@"\midrule");
        foreach (var r in Rows) sb.AppendLine(string.Join(" & ", r.Select(LatexText)) + @" \\");
        sb.AppendLine(@"\bottomrule");
        sb.AppendLine(@"\end{tabular}");
        return sb.ToString();
    }

    private const char VerbatimMark = '\u0001';

    /// <summary>Marks <paramref name="latex"/> as ready LaTeX for <see cref="Latex"/> (not escaped).</summary>
    public static string LatexCell(string latex) => VerbatimMark + latex;

    /// <summary>Escapes LaTeX's special characters (and ±, Δ, →, –), unless the cell is marked verbatim.</summary>
    public static string LatexText(string s)
    {
        if (s.Length > 0 && s[0] == VerbatimMark) return s[1..];
        var sb = new StringBuilder(s.Length + 8);
        foreach (var ch in s)
        {
            sb.Append(ch switch
            {
                '\\' => @"\textbackslash{}",
                '&' or '%' or '$' or '#' or '_' or '{' or '}' => "\\" + ch,
                '~' => @"\textasciitilde{}",
                '^' => @"\textasciicircum{}",
                '±' => @"$\pm$",
                'Δ' => @"$\Delta$",
                '→' => @"$\rightarrow$",
                '–' => "--",
                _ => ch.ToString(),
            });
        }
        return sb.ToString();
    }

    /// <summary>Round-trip text of a value for CSV (numbers invariant and exact, times ISO 8601 UTC, arrays comma-joined).</summary>
    public static string Raw(object? v) => v switch
    {
        null => "",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        decimal m => m.ToString(CultureInfo.InvariantCulture),
        DateTime t => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture),
        DateTimeOffset t => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        string s => s,
        System.Collections.IEnumerable e => string.Join(",", e.Cast<object?>().Select(Raw)),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    /// <summary>Display text of a value for tables: numbers with up to 4 decimals, times to the minute.</summary>
    public static string Display(object? v) => v switch
    {
        double d => d.ToString("0.####", CultureInfo.InvariantCulture),
        float f => f.ToString("0.####", CultureInfo.InvariantCulture),
        DateTime t => t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
        DateTimeOffset t => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
        _ => Raw(v),
    };

    public static bool IsNumber(object? v) => v is double or float or decimal or int or long or short;

    /// <summary>A table of query rows as they are (CSV: exact values; other formats: <see cref="Display"/>).</summary>
    public static TextTable FromQuery(QueryResult q, TableFormat format, IReadOnlyList<string>? caption = null)
    {
        var numeric = q.Columns.Select((_, i) => q.Rows.Count > 0 && q.Rows.All(r => r[i] is null || IsNumber(r[i])) && q.Rows.Any(r => r[i] is not null)).ToList();
        var cols = q.Columns.Select((c, i) => new TextColumn(c, numeric[i])).ToList();
        var rows = q.Rows.Select(r => (IReadOnlyList<string>)r.Select(v => format == TableFormat.Csv ? Raw(v) : Display(v)).ToList()).ToList();
        return new TextTable(cols, rows, caption);
    }
}
