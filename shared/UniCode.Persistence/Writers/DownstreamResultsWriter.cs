using UniCode.Persistence.Entities;
using static UniCode.Persistence.Writers.TableWriter;

namespace UniCode.Persistence.Writers;

/// <summary>
/// The one writer of <c>downstream_results</c> (the evaluation service, and the CLI recorder for in-process runs).
/// <para>
/// Conflict rule: <b>a recorded result is never overwritten</b> (<c>ON CONFLICT (checkpoint_sha256, task,
/// source_modality, target_modality, split, protocol, metric, eval_code_version, dataset_hash) DO NOTHING</c>).
/// The natural key names everything a score depends on, so a re-delivered or repeated evaluation adds nothing;
/// a score that should differ is a new key (new evaluation code version or dataset), and the first number
/// reported for a key is the one every comparison table keeps showing.
/// </para>
/// </summary>
public static class DownstreamResultsWriter
{
    /// <summary>
    /// Inserts the rows whose natural key is not recorded yet, in one statement; returns how many were new.
    /// A row with <see cref="DownstreamResult.Id"/> <see cref="Guid.Empty"/> gets a new id.
    /// </summary>
    public static async Task<int> InsertAsync(TableWriter writer, IReadOnlyList<DownstreamResult> rows, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) return 0;
        return await writer.ExecuteAsync(
            """
            INSERT INTO downstream_results (id, run_id, checkpoint_sha256, task, source_modality, target_modality, split, protocol,
                                            metric, value, seed, eval_code_version, dataset_hash, created_at)
            SELECT * FROM unnest(@ids, @runs, @checkpoints, @tasks, @sources, @targets, @splits, @protocols,
                                 @metrics, @values, @seeds, @versions, @datasets, @created)
            ON CONFLICT (checkpoint_sha256, task, source_modality, target_modality, split, protocol, metric, eval_code_version, dataset_hash) DO NOTHING
            """,
            [
                Value("ids", rows.Select(r => r.Id == Guid.Empty ? Guid.CreateVersion7() : r.Id).ToArray()),
                Value("runs", rows.Select(r => r.RunId).ToArray()),
                Texts("checkpoints", rows.Select(r => r.CheckpointSha256)),
                Texts("tasks", rows.Select(r => r.Task)),
                Texts("sources", rows.Select(r => r.SourceModality)),
                Texts("targets", rows.Select(r => r.TargetModality)),
                Texts("splits", rows.Select(r => r.Split)),
                Texts("protocols", rows.Select(r => r.Protocol)),
                Texts("metrics", rows.Select(r => r.Metric)),
                Value("values", rows.Select(r => r.Value).ToArray()),
                Value("seeds", rows.Select(r => r.Seed).ToArray()),
                Texts("versions", rows.Select(r => r.EvalCodeVersion)),
                Texts("datasets", rows.Select(r => r.DatasetHash)),
                Times("created", rows.Select(r => r.CreatedAt)),
            ],
            ct);
    }

    /// <inheritdoc cref="InsertAsync(TableWriter, IReadOnlyList{DownstreamResult}, CancellationToken)"/>
    public static async Task<int> InsertAsync(ResultsDbContext db, IReadOnlyList<DownstreamResult> rows, CancellationToken ct) =>
        await InsertAsync(await OfAsync(db, ct), rows, ct);
}
