using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace UniCode.Hosting.Health;

/// <summary>
/// A directory the service writes to (the artifact store, the work directory): creates it if needed, then writes,
/// reads back and deletes a probe file in it (in <c>probeSubdirectory</c> when given, e.g. the artifact store's
/// staging directory, so the store's root holds nothing else). The detail: "DIR writable, N GiB free".
/// </summary>
public sealed class WritableDirectoryHealthCheck(string directory, string? probeSubdirectory = null) : ProbeHealthCheck
{
    protected override async Task<string> ProbeAsync(CancellationToken cancellationToken)
    {
        var probeDirectory = probeSubdirectory is null ? directory : Path.Combine(directory, probeSubdirectory);
        Directory.CreateDirectory(probeDirectory);
        var probe = Path.Combine(probeDirectory, $".health-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var bytes = Guid.NewGuid().ToByteArray();
        try
        {
            await File.WriteAllBytesAsync(probe, bytes, cancellationToken);
            if (!(await File.ReadAllBytesAsync(probe, cancellationToken)).AsSpan().SequenceEqual(bytes))
                throw new IOException($"{probe}: read back other bytes than were written");
        }
        finally
        {
            File.Delete(probe);
        }
        return $"{directory} writable, {new DriveInfo(directory).AvailableFreeSpace / (1L << 30)} GiB free";
    }
}

public static class WritableDirectoryHealthCheckExtensions
{
    /// <summary>
    /// Adds a <see cref="WritableDirectoryHealthCheck"/> named <paramref name="name"/> on the directory
    /// <paramref name="directory"/> returns; a setting that cannot be read fails the check, not the registration.
    /// </summary>
    public static IHealthChecksBuilder AddWritableDirectory(this IHealthChecksBuilder builder, string name,
        Func<IServiceProvider, string> directory, string? probeSubdirectory = null) =>
        builder.Add(new HealthCheckRegistration(name, sp =>
        {
            try
            {
                return new WritableDirectoryHealthCheck(directory(sp), probeSubdirectory);
            }
            catch (Exception e)
            {
                return new FailedHealthCheck(e);
            }
        }, null, null));
}
