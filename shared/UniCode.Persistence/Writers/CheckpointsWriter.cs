using UniCode.Persistence.Entities;
using static UniCode.Persistence.Writers.TableWriter;

namespace UniCode.Persistence.Writers;

/// <summary>
/// The one writer of <c>checkpoints</c> (the registry, and the CLI recorder for in-process runs).
/// <para>
/// Conflict rule: <b>the first registration of a sha256 stands</b> (<c>ON CONFLICT (sha256) DO NOTHING</c>). A sha256
/// names the file's bytes, so a second registration describes the same checkpoint; its run, uri and lineage stay
/// those recorded first (results and aliases already point at them), and the second writer learns it added
/// nothing.
/// </para>
/// </summary>
public static class CheckpointsWriter
{
    /// <summary>Inserts <paramref name="checkpoint"/> unless its sha256 is recorded; true when the row is new.</summary>
    public static async Task<bool> InsertAsync(TableWriter writer, Checkpoint checkpoint, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var c = checkpoint;
        return await writer.ExecuteAsync(
            """
            INSERT INTO checkpoints (sha256, run_id, step, epoch, config_hash, dataset_hash, seed, code_version, parent_sha256, uri, size_bytes, created_at)
            VALUES (@sha, @run, @step, @epoch, @config, @dataset, @seed, @code, @parent, @uri, @size, @created)
            ON CONFLICT (sha256) DO NOTHING
            """,
            [
                Text("sha", c.Sha256), Value("run", c.RunId), Value("step", c.Step), Value("epoch", c.Epoch), Text("config", c.ConfigHash),
                Text("dataset", c.DatasetHash), Value("seed", c.Seed), Text("code", c.CodeVersion), Text("parent", c.ParentSha256),
                Text("uri", c.Uri), Value("size", c.SizeBytes), Time("created", c.CreatedAt),
            ],
            ct) == 1;
    }

    /// <inheritdoc cref="InsertAsync(TableWriter, Checkpoint, CancellationToken)"/>
    public static async Task<bool> InsertAsync(ResultsDbContext db, Checkpoint checkpoint, CancellationToken ct) =>
        await InsertAsync(await OfAsync(db, ct), checkpoint, ct);
}
