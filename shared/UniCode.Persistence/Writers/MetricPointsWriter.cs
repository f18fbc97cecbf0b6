using UniCode.Persistence.Entities;
using static UniCode.Persistence.Writers.TableWriter;

namespace UniCode.Persistence.Writers;

/// <summary>
/// The one writer of <c>metric_points</c> (the job services' run ledger, and the CLI recorder for in-process runs).
/// <para>
/// Conflict rule: <b>the latest report of a (run, step, key) stands, and repeating a value changes nothing</b>
/// (<c>ON CONFLICT (run_id, step, key) DO UPDATE … WHERE the value differs</c>). Why not "the first stands", as
/// for results: a point is keyed by its step, and a job that is resumed from its last checkpoint computes the
/// steps after that checkpoint again. Its final model descends from the recomputed steps, not from the ones the
/// lost attempt reported, so keeping the first values would leave a curve (and a re-published completion's
/// metrics, read from the last step) that describes a training nobody kept. Overwriting keeps each point the
/// value of the training that produced the run's checkpoint. A re-delivered report with the same value is
/// idempotent: the row, its <c>recorded_at</c> included, is left as it is and counts as not written.
/// </para>
/// </summary>
public static class MetricPointsWriter
{
    /// <summary>
    /// Writes <paramref name="points"/> in one statement (a key repeated in the list: its last value); returns how many
    /// rows were inserted or changed.
    /// </summary>
    public static async Task<int> WriteAsync(TableWriter writer, IReadOnlyList<MetricPoint> points, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(points);
        // One statement may not update a row twice: the last value of each key is the one written.
        var latest = points.GroupBy(p => (p.RunId, p.Step, p.Key)).Select(g => g.Last()).ToList();
        if (latest.Count == 0) return 0;
        return await writer.ExecuteAsync(
            """
            INSERT INTO metric_points (run_id, step, key, value, recorded_at)
            SELECT * FROM unnest(@runs, @steps, @keys, @values, @recorded)
            ON CONFLICT (run_id, step, key) DO UPDATE SET value = EXCLUDED.value, recorded_at = EXCLUDED.recorded_at
            WHERE metric_points.value IS DISTINCT FROM EXCLUDED.value
            """,
            [
                Value("runs", latest.Select(p => p.RunId).ToArray()),
                Value("steps", latest.Select(p => p.Step).ToArray()),
                Texts("keys", latest.Select(p => p.Key)),
                Value("values", latest.Select(p => p.Value).ToArray()),
                Times("recorded", latest.Select(p => p.RecordedAt)),
            ],
            ct);
    }

    /// <summary>The metrics of one report: <paramref name="values"/> at <paramref name="step"/> of <paramref name="runId"/>, recorded at <paramref name="at"/>.</summary>
    public static Task<int> WriteAsync(TableWriter writer, Guid runId, long step, IEnumerable<(string Key, double Value)> values, DateTimeOffset at, CancellationToken ct) =>
        WriteAsync(writer, values.Select(v => new MetricPoint { RunId = runId, Step = step, Key = v.Key, Value = v.Value, RecordedAt = at }).ToList(), ct);

    /// <inheritdoc cref="WriteAsync(TableWriter, Guid, long, IEnumerable{ValueTuple{string, double}}, DateTimeOffset, CancellationToken)"/>
    public static async Task<int> WriteAsync(ResultsDbContext db, Guid runId, long step, IEnumerable<(string Key, double Value)> values, DateTimeOffset at, CancellationToken ct) =>
        await WriteAsync(await OfAsync(db, ct), runId, step, values, at, ct);
}
