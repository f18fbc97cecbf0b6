using System.Reflection;

namespace UniCode.Model.Runtime;

/// <summary>
/// The code version every run and checkpoint records: the git commit the binaries were built from,
/// with "-dirty" when the working tree had uncommitted changes (Directory.Build.targets stamps it
/// into every assembly at build time). "unknown" outside a git checkout.
/// </summary>
public static class CodeVersion
{
    public static string Current { get; } = Read();

    /// <summary>True when the build came from a working tree with uncommitted changes.</summary>
    public static bool Dirty => Current.EndsWith("-dirty", StringComparison.Ordinal);

    private static string Read() =>
        typeof(CodeVersion).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "UniCodeCodeVersion")?.Value is { Length: > 0 } v ? v : "unknown";
}
