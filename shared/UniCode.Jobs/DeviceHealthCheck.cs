using Microsoft.Extensions.Options;
using UniCode.Hosting.Health;
using UniCode.Model.Runtime;

namespace UniCode.Jobs;

/// <summary>"device": the device UNICODE_DEVICE selects is available (CUDA asked for where there is none fails), and the code version.</summary>
public sealed class DeviceHealthCheck(IOptions<JobSettings> options) : ProbeHealthCheck
{
    protected override Task<string> ProbeAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var device = DeviceSelector.Select(settings.Device);
        return Task.FromResult($"{settings.Device}: {device}, code version {CodeVersion.Current}");
    }
}
