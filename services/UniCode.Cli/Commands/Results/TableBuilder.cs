namespace UniCode.Cli.Commands.Results;

/// <summary>A column made from a query row; a context column whose value is the same in every row moves into the caption.</summary>
public sealed record ColumnSpec<TRow>(string Name, Func<TRow, string> Cell, bool Numeric = false, bool Context = false);

public static class TableBuilder
{
    /// <summary>
    /// Builds a display table: context columns with one value in every row become caption lines
    /// ("dataset: synth:…"), so the table keeps only what varies. Context columns that are empty everywhere vanish.
    /// </summary>
    public static TextTable Build<TRow>(string title, IReadOnlyList<TRow> rows, IReadOnlyList<ColumnSpec<TRow>> columns, IEnumerable<string>? notes = null)
    {
        var kept = new List<ColumnSpec<TRow>>();
        var context = new List<string>();
        foreach (var c in columns)
        {
            if (c.Context && rows.Count > 0)
            {
                var values = rows.Select(c.Cell).Distinct(StringComparer.Ordinal).ToList();
                if (values.Count == 1)
                {
                    if (values[0].Length > 0) context.Add($"{c.Name} {values[0]}");
                    continue;
                }
            }
            kept.Add(c);
        }
        var caption = new List<string> { context.Count == 0 ? title : $"{title} · {string.Join(" · ", context)}" };
        if (notes is not null) caption.AddRange(notes);
        var cells = rows.Select(r => (IReadOnlyList<string>)kept.Select(c => c.Cell(r)).ToList()).ToList();
        return new TextTable(kept.Select(c => new TextColumn(c.Name, c.Numeric)).ToList(), cells, caption);
    }
}
