using System.Globalization;

namespace UniCode.Messaging;

/// <summary>
/// The heartbeat lease (<c>UNICODE_HEARTBEAT_LEASE</c>, hh:mm:ss, default 30 s): a worker heard from within it is
/// alive, and a running job silent for it is stalled. The orchestrator applies it; <c>unicode status</c> reads the
/// same variable to say which queues have no live worker. Both parse it here, strictly: a value that is not a
/// positive duration is an error naming the variable, never silently the default.
/// </summary>
public static class WorkerLease
{
    public const string Variable = "UNICODE_HEARTBEAT_LEASE";

    /// <summary>The lease when the variable is unset: three of the workers' default 10 s heartbeat intervals.</summary>
    public static TimeSpan Default { get; } = TimeSpan.FromSeconds(30);

    /// <summary>The lease named by <see cref="Variable"/> through <paramref name="lookup"/>; unset or blank: <see cref="Default"/>.</summary>
    /// <exception cref="ArgumentException">The value is not a positive duration hh:mm:ss.</exception>
    public static TimeSpan FromEnvironment(Func<string, string?> lookup) =>
        lookup(Variable) is { } text && !string.IsNullOrWhiteSpace(text) ? Parse(text) : Default;

    /// <summary>A positive duration hh:mm:ss (invariant culture; surrounding blanks ignored).</summary>
    /// <exception cref="ArgumentException">Not a duration, or not positive; the message names the variable and the expected value.</exception>
    public static TimeSpan Parse(string text)
    {
        var value = text.Trim();
        if (!TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var lease))
            throw new ArgumentException($"{Variable} = '{value}': expected a duration hh:mm:ss, e.g. 00:00:30");
        if (lease <= TimeSpan.Zero)
            throw new ArgumentException($"{Variable} = '{value}': expected a positive duration (several worker heartbeat intervals), e.g. 00:00:30");
        return lease;
    }
}
