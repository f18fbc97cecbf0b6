using System.Text;

namespace UniCode.Data;

/// <summary>A csv/tsv file with a header row; fields may be double-quoted ("" escapes a quote).</summary>
internal sealed class DelimitedFile
{
    private DelimitedFile(string path, string[] header, List<(int Line, string[] Cells)> rows)
    {
        Path = path;
        Header = header;
        Rows = rows;
    }

    public string Path { get; }
    public string[] Header { get; }
    public List<(int Line, string[] Cells)> Rows { get; }

    public static DelimitedFile Read(string path, char delimiter)
    {
        if (!File.Exists(path))
            throw new DatasetFormatException(path, $"file not found; expected a {(delimiter == '\t' ? "tab" : "comma")}-separated table with a header row");
        var records = Parse(path, File.ReadAllText(path), delimiter);
        if (records.Count == 0) throw new DatasetFormatException(path, "is empty; expected a header row");
        var header = records[0].Cells.Select(c => c.Trim()).ToArray();
        var rows = new List<(int, string[])>();
        foreach (var (line, cells) in records.Skip(1))
        {
            if (cells.Length == 1 && cells[0].Length == 0) continue; // blank line
            if (cells.Length != header.Length)
                throw new DatasetFormatException(path, $"line {line} has {cells.Length} fields; expected {header.Length} ({string.Join(", ", header)})");
            rows.Add((line, cells));
        }
        return new DelimitedFile(path, header, rows);
    }

    /// <summary>The index of column <paramref name="name"/>; throws naming the columns there are.</summary>
    public int Column(string name)
    {
        var i = Array.IndexOf(Header, name);
        return i >= 0 ? i : throw new DatasetFormatException(Path, $"has no column '{name}' (header: {string.Join(", ", Header)}); expected a column '{name}'");
    }

    private static List<(int Line, string[] Cells)> Parse(string path, string text, char delimiter)
    {
        var records = new List<(int, string[])>();
        var cells = new List<string>();
        var cell = new StringBuilder();
        var line = 1;
        var start = 1;
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            if (quoted)
            {
                if (ch == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"') { cell.Append('"'); i++; }
                    else quoted = false;
                }
                else
                {
                    if (ch == '\n') line++;
                    cell.Append(ch);
                }
                continue;
            }
            if (ch == '"' && cell.Length == 0) quoted = true;
            else if (ch == delimiter) { cells.Add(cell.ToString()); cell.Clear(); }
            else if (ch == '\r') { }
            else if (ch == '\n')
            {
                cells.Add(cell.ToString());
                cell.Clear();
                records.Add((start, cells.ToArray()));
                cells.Clear();
                line++;
                start = line;
            }
            else cell.Append(ch);
        }
        if (quoted) throw new DatasetFormatException(path, $"line {start} has an unterminated quoted field");
        if (cell.Length > 0 || cells.Count > 0)
        {
            cells.Add(cell.ToString());
            records.Add((start, cells.ToArray()));
        }
        return records;
    }
}
