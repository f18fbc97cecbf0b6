using TorchSharp;
using static TorchSharp.torch;

namespace UniCode.Model.Runtime;

/// <summary>Chooses the compute device at run time: CUDA when it is built in, present and asked for (or "auto"), CPU otherwise.</summary>
public static class DeviceSelector
{
    /// <summary>
    /// <paramref name="requested"/>: "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N".
    /// Asking for CUDA where it is unavailable is an error that says why (CPU-only build or no GPU).
    /// </summary>
    public static Device Select(string? requested = "auto")
    {
        var r = (requested ?? "auto").Trim().ToLowerInvariant();
        if (r is "" or "auto") return cuda.is_available() ? CUDA : CPU;
        if (r == "cpu") return CPU;
        if (r == "cuda" || r.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!cuda.is_available())
                throw new ArgumentException($"device '{requested}': CUDA is not available (this build uses the CPU libtorch unless built with -p:TorchBackend=cuda, or no GPU is visible); use 'auto' or 'cpu'");
            if (r == "cuda") return CUDA;
            if (!int.TryParse(r.AsSpan(5), out var index) || index < 0 || index >= cuda.device_count())
                throw new ArgumentException($"device '{requested}': expected cuda:0..cuda:{cuda.device_count() - 1}");
            return new Device(DeviceType.CUDA, index);
        }
        throw new ArgumentException($"device '{requested}': expected auto, cpu, cuda or cuda:N");
    }
}
