namespace UniCode.Persistence.Entities;

/// <summary>One logged scalar of a run at a step (table metric_points); key (run_id, step, key).</summary>
public sealed class MetricPoint
{
    public Guid RunId { get; set; }
    public Run Run { get; set; } = null!;

    public long Step { get; set; }

    /// <summary>Metric name, e.g. "loss/recon_audio".</summary>
    public required string Key { get; set; }

    public double Value { get; set; }
    public DateTimeOffset RecordedAt { get; set; }
}
