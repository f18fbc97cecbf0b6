using UniCode.Persistence.Entities;
using static UniCode.Persistence.Writers.TableWriter;

namespace UniCode.Persistence.Writers;

/// <summary>
/// The one writer of <c>datasets</c> (preprocessing, and the CLI recorder for in-process runs).
/// <para>
/// Conflict rule: <b>the first row of a content hash stands</b> (<c>ON CONFLICT (content_hash) DO NOTHING</c>). The
/// content hash is the dataset version: every later writer of the same bytes, whatever name or description it
/// brings, gets the existing row's id and changes nothing, so results recorded against that version keep the
/// name and description they were recorded with.
/// </para>
/// </summary>
public static class DatasetsWriter
{
    /// <summary>
    /// Inserts <paramref name="dataset"/> unless a row with its content hash exists. Returns the id of the row that
    /// holds the content hash (this one, or the existing one) and whether it is new. <see cref="Dataset.Id"/>
    /// <see cref="Guid.Empty"/> gets a new id.
    /// </summary>
    public static async Task<(Guid Id, bool Inserted)> InsertAsync(TableWriter writer, Dataset dataset, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var inserted = await writer.ExecuteAsync(
            """
            INSERT INTO datasets (id, name, kind, content_hash, clip_count, created_at, description)
            VALUES (@id, @name, @kind, @hash, @clips, @created, CAST(@description AS jsonb))
            ON CONFLICT (content_hash) DO NOTHING
            """,
            [
                Value("id", dataset.Id == Guid.Empty ? Guid.CreateVersion7() : dataset.Id), Text("name", dataset.Name), Text("kind", dataset.Kind),
                Text("hash", dataset.ContentHash), Value("clips", dataset.ClipCount), Time("created", dataset.CreatedAt), Text("description", dataset.Description),
            ],
            ct);
        // A second statement (not a CTE): it sees a row a concurrent writer committed while this insert waited for it.
        var id = await writer.ScalarAsync<Guid>("SELECT id FROM datasets WHERE content_hash = @hash", [Text("hash", dataset.ContentHash)], ct);
        return (id, inserted == 1);
    }

    /// <inheritdoc cref="InsertAsync(TableWriter, Dataset, CancellationToken)"/>
    public static async Task<(Guid Id, bool Inserted)> InsertAsync(ResultsDbContext db, Dataset dataset, CancellationToken ct) =>
        await InsertAsync(await OfAsync(db, ct), dataset, ct);
}
