using Microsoft.Extensions.Configuration;
using UniCode.Hosting.Health;
using UniCode.Model.Runtime;

namespace UniCode.Jobs;

/// <summary>"device": the device UNICODE_DEVICE selects is available (CUDA asked for where there is none fails), and the code version.</summary>
public sealed class DeviceHealthCheck(IConfiguration configuration) : ProbeHealthCheck
{
    protected override Task<string> ProbeAsync(CancellationToken cancellationToken)
    {
        var settings = JobHostOptions.JobSettingsOf(configuration);
        var device = DeviceSelector.Select(settings.Device);
        return Task.FromResult($"{settings.Device}: {device}, code version {CodeVersion.Current}");
    }
}
