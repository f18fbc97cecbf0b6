using Microsoft.Extensions.Logging;

namespace UniCode.Messaging;

/// <summary>
/// Retries one operation in process while it fails with a transient error (<see cref="TransientErrors"/>: the
/// database or the broker restarting), waiting <see cref="RabbitMqSettings.RetryIntervals"/> between attempts, so a
/// short outage delays the operation instead of failing it. Used where repeating the whole message would cost much
/// more than repeating the operation: a finished job recording its success is retried here, not by re-running the
/// job. Anything else, and the last failure, is thrown.
/// </summary>
public sealed class TransientRetry(IReadOnlyList<TimeSpan> intervals, TimeProvider time, ILogger logger)
{
    public TransientRetry(RabbitMqSettings settings, TimeProvider time, ILogger logger) : this(settings.RetryIntervals, time, logger) { }

    /// <summary>Runs <paramref name="operation"/> until it succeeds, fails for good, or the waits are spent.</summary>
    /// <param name="what">What it does, for the log ("record run X as succeeded").</param>
    public async Task<T> RunAsync<T>(string what, Func<CancellationToken, Task<T>> operation, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var result = await operation(ct);
                if (attempt > 0) logger.LogInformation("{What}: succeeded at attempt {Attempt} after transient failures", what, attempt + 1);
                return result;
            }
            catch (Exception e) when (attempt < intervals.Count && TransientErrors.IsTransient(e) && !ct.IsCancellationRequested)
            {
                logger.LogWarning("{What}: transient failure (attempt {Attempt} of {Attempts}), retrying in {Wait}: {Error}",
                    what, attempt + 1, intervals.Count + 1, intervals[attempt], e.GetBaseException().Message);
                await Task.Delay(intervals[attempt], time, ct);
            }
        }
    }

    /// <inheritdoc cref="RunAsync{T}"/>
    public Task RunAsync(string what, Func<CancellationToken, Task> operation, CancellationToken ct) =>
        RunAsync(what, async t => { await operation(t); return true; }, ct);
}
