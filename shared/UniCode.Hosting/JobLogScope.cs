using Microsoft.Extensions.Logging;

namespace UniCode.Hosting;

/// <summary>The log scope of a unit of job work: every line logged inside carries job_id, chain_id and step_key.</summary>
public static class JobLogScope
{
    public static IDisposable? Begin(ILogger logger, Guid jobId, Guid? chainId, string? stepKey = null)
    {
        var fields = new List<KeyValuePair<string, object?>> { new("job_id", jobId), new("chain_id", chainId) };
        if (stepKey is not null) fields.Add(new("step_key", stepKey));
        return logger.BeginScope(new ScopeFields(fields));
    }

    /// <summary>For work that belongs to a chain but is not a job (registrations, alias moves).</summary>
    public static IDisposable? Begin(ILogger logger, Guid? chainId, IReadOnlyDictionary<string, object?> fields) =>
        logger.BeginScope(new ScopeFields([.. fields, new("chain_id", chainId)]));

    /// <summary>Scope state the JSON console logger writes as properties (and as "k=v, …" in its Message).</summary>
    private sealed class ScopeFields(IReadOnlyList<KeyValuePair<string, object?>> fields) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public KeyValuePair<string, object?> this[int index] => fields[index];
        public int Count => fields.Count;
        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => fields.GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
        public override string ToString() => string.Join(", ", fields.Select(f => $"{f.Key}={f.Value}"));
    }
}
