namespace UniCode.Persistence.Entities;

/// <summary>
/// One evaluation every registered pre-trained checkpoint should have (table evaluation_suites):
/// the nightly re-evaluation submits a chain for each checkpoint lacking results of an enabled suite
/// at the current evaluation code version.
/// </summary>
public sealed class EvaluationSuite
{
    /// <summary>Primary key, e.g. "ave-av-held-out".</summary>
    public required string Name { get; set; }

    /// <summary>Downstream task name, as in downstream_results.task.</summary>
    public required string Task { get; set; }

    /// <summary>Directions (text[]), e.g. {v2a,a2v}.</summary>
    public required string[] Directions { get; set; }

    /// <summary>"held-out" or "reference", as in downstream_results.protocol.</summary>
    public required string Protocol { get; set; }

    /// <summary>The scored split, as in downstream_results.split.</summary>
    public required string Split { get; set; }

    /// <summary>The downstream dataset, "KIND:PATH".</summary>
    public required string Dataset { get; set; }

    /// <summary>Downstream-head options (jsonb object) for the fine-tunings, or null for the defaults.</summary>
    public string? FinetuneJson { get; set; }

    public bool Enabled { get; set; } = true;

    public DateTimeOffset CreatedAt { get; set; }
}
