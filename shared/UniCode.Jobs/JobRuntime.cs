using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using UniCode.Model.Runtime;
using static TorchSharp.torch;

namespace UniCode.Jobs;

/// <summary>
/// The compute side of a job host, set up once at start: the native allocator setting and the device
/// (UNICODE_DEVICE). One job runs at a time per host, so one device per host.
/// </summary>
public sealed class JobRuntime
{
    public JobRuntime(JobSettings settings)
    {
        Settings = settings;
        AllocatorKeepsFreedMemory = settings.KeepFreedMemory && NativeAllocator.KeepFreedMemory();
        Device = DeviceSelector.Select(settings.Device);
        DeviceName = Device.type == TorchSharp.DeviceType.CUDA ? $"cuda:{Math.Max(0, Device.index)}" : "cpu";
    }

    public JobSettings Settings { get; }
    public Device Device { get; }

    /// <summary>"cpu" or "cuda:N".</summary>
    public string DeviceName { get; }

    /// <summary>What runs.device records: the device and the worker, e.g. "cpu @ host:1234".</summary>
    public string Where => $"{DeviceName} @ {Settings.WorkerName}";

    /// <summary>True when glibc keeps freed memory (see NativeAllocator), either set here or by the environment.</summary>
    public bool AllocatorKeepsFreedMemory { get; }
}

/// <summary>Creates the <see cref="JobRuntime"/> when the host starts and logs what it chose.</summary>
public sealed class JobRuntimeStartup(JobRuntime runtime, ILogger<JobRuntimeStartup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var s = runtime.Settings;
        logger.LogInformation(
            "Job worker {Worker}: device {Device} (UNICODE_DEVICE={Requested}), native allocator keeps freed memory: {KeepFreed}, " +
            "work directory {Work}, artifacts {Artifacts}, code version {CodeVersion}",
            s.WorkerName, runtime.DeviceName, s.Device, runtime.AllocatorKeepsFreedMemory, s.WorkDirectory, s.ArtifactsDirectory, CodeVersion.Current);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
