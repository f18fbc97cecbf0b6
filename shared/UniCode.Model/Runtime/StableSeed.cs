namespace UniCode.Model.Runtime;

/// <summary>
/// Derives seeds from (seed, step, …) identically in every process. System.HashCode is randomised per
/// process, so seeds built with it made data order and step randomness differ between a run and its
/// resumption on another worker; this uses SplitMix64 mixing instead.
/// </summary>
public static class StableSeed
{
    public static int Derive(params long[] parts)
    {
        var h = 0x9E3779B97F4A7C15UL;
        foreach (var p in parts) h = Mix(h ^ (ulong)p);
        return (int)(h >> 33);
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
