using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace UniCode.Hosting.Health;

/// <summary>
/// A health check that probes one dependency: <see cref="ProbeAsync"/> returns a detail line or throws. The probe
/// has <see cref="Timeout"/>; a timeout, an exception (a missing or malformed setting included) is an unhealthy
/// result whose description says what went wrong.
/// </summary>
public abstract class ProbeHealthCheck : IHealthCheck
{
    /// <summary>How long one probe may take.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Checks the dependency; the token is cancelled at the check's deadline.</summary>
    protected abstract Task<string> ProbeAsync(CancellationToken cancellationToken);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        try
        {
            return HealthCheckResult.Healthy(await ProbeAsync(deadline.Token).WaitAsync(deadline.Token));
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"no answer within {Timeout.TotalSeconds:0.#} s");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // EF Core's retrying strategy wraps the failure that says what is wrong ("… likely due to a transient failure").
            while (e is InvalidOperationException { InnerException: { } inner } && e.Message.Contains("transient failure", StringComparison.Ordinal))
                e = inner;
            return HealthCheckResult.Unhealthy(e.Message, e);
        }
    }
}

/// <summary>A check that always fails with <paramref name="error"/> (the service's settings could not be read).</summary>
public sealed class FailedHealthCheck(Exception error) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(HealthCheckResult.Unhealthy(error.Message, error));
}
