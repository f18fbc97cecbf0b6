using System.Runtime.InteropServices;

namespace UniCode.Model.Runtime;

/// <summary>
/// glibc's malloc hands large freed blocks back to the kernel and faults them in again on the next
/// training step; on these VMs a first touch costs ~12 µs a page, which was ~60% of the reference's
/// step (docs/decisions/0004-native-allocator-keeps-freed-memory.md). Keeping freed memory (the same two settings as
/// MALLOC_MMAP_THRESHOLD_=2^30, MALLOC_TRIM_THRESHOLD_=2^32) removes that cost at the price of a
/// higher resident set. Trainers call <see cref="KeepFreedMemory"/> at start-up unless told not to.
/// </summary>
public static class NativeAllocator
{
    private const int M_TRIM_THRESHOLD = -1;
    private const int M_MMAP_THRESHOLD = -3;

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallOpt(int param, int value);

    /// <summary>True once <see cref="KeepFreedMemory"/> succeeded, or when the environment already sets it.</summary>
    public static bool KeepsFreedMemory { get; private set; } =
        Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null;

    /// <summary>Applies the setting (Linux/glibc only; elsewhere a no-op returning false).</summary>
    public static bool KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            // mallopt takes an int: 2^30 for the mmap threshold, int.MaxValue (~2^31) for trimming.
            var ok = MallOpt(M_MMAP_THRESHOLD, 1 << 30) == 1 && MallOpt(M_TRIM_THRESHOLD, int.MaxValue) == 1;
            KeepsFreedMemory |= ok;
            return ok;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }
}
