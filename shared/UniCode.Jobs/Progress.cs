using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Common;

namespace UniCode.Jobs;

/// <summary>One progress report of a running job.</summary>
/// <param name="Step">Optimiser steps (or other units) done.</param>
/// <param name="TotalSteps">Units planned.</param>
/// <param name="Epoch">Current epoch (0-based).</param>
/// <param name="Metrics">Losses and rates at <paramref name="Step"/>; keys are metric_points keys, e.g. "loss/total".</param>
public sealed record ProgressPoint(long Step, long TotalSteps, int Epoch, IReadOnlyList<MetricValue> Metrics);

/// <summary>
/// Sees every progress report of every job on this host, before throttling, on the job's thread
/// (keep it quick). For monitors and tests; the services register none.
/// </summary>
public interface IJobProgressObserver
{
    /// <param name="token">The job's cancellation token.</param>
    void OnProgress(JobIdentity job, ProgressPoint point, CancellationToken token);
}

/// <summary>Lets a report through at most once per <paramref name="interval"/>; forced reports (first, last) always pass.</summary>
public sealed class ProgressThrottle(TimeSpan interval, TimeProvider time)
{
    private DateTimeOffset? last;

    /// <summary>True when this report should be published; the first one always is.</summary>
    public bool TryPass(bool force = false)
    {
        var now = time.GetUtcNow();
        if (!force && last is { } l && now - l < interval) return false;
        last = now;
        return true;
    }
}

/// <summary>
/// A job's progress reports: observers are told at once (job thread); throttled reports are queued and
/// a background pump publishes the progress event (straight to the bus, not through the consumer's
/// outbox, which would hold it until the job ends) and writes the metric points. A failing publish or
/// insert is logged, never fails the job. The queue keeps the newest reports if the pump falls behind.
/// </summary>
internal sealed class ProgressReporter : IAsyncDisposable
{
    private readonly JobIdentity job;
    private readonly Func<ProgressPoint, object?> toEvent;
    private readonly IBus bus;
    private readonly RunLedger ledger;
    private readonly ProgressThrottle throttle;
    private readonly IReadOnlyList<IJobProgressObserver> observers;
    private readonly ILogger logger;
    private readonly CancellationToken token;
    private readonly Channel<ProgressPoint> queue = Channel.CreateBounded<ProgressPoint>(
        new BoundedChannelOptions(16) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = false });
    private readonly Task pump;
    private readonly Lock gate = new();

    public ProgressReporter(JobIdentity job, Func<ProgressPoint, object?> toEvent, IBus bus, RunLedger ledger, ProgressThrottle throttle,
        IReadOnlyList<IJobProgressObserver> observers, ILogger logger, CancellationToken token)
    {
        (this.job, this.toEvent, this.bus, this.ledger, this.throttle, this.observers, this.logger, this.token) =
            (job, toEvent, bus, ledger, throttle, observers, logger, token);
        pump = Task.Run(PumpAsync, CancellationToken.None);
    }

    public void Report(ProgressPoint point, bool force)
    {
        foreach (var o in observers) o.OnProgress(job, point, token);
        bool pass;
        lock (gate) pass = throttle.TryPass(force || point.Step >= point.TotalSteps);
        if (pass) queue.Writer.TryWrite(point);
    }

    private async Task PumpAsync()
    {
        await foreach (var point in queue.Reader.ReadAllAsync())
        {
            try
            {
                if (point.Metrics.Count > 0) await ledger.AddMetricsAsync(job.JobId, point.Step, point.Metrics, CancellationToken.None);
                if (toEvent(point) is { } message)
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                    await bus.Publish(message, message.GetType(), timeout.Token);
                }
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Progress of step {Step} not recorded: {Error}", point.Step, e.Message);
            }
        }
    }

    /// <summary>Publishes what is queued, then stops the pump.</summary>
    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        await pump;
    }
}
