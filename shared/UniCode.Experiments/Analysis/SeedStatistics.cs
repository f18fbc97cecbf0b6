using System.Globalization;

namespace UniCode.Experiments.Analysis;

/// <summary>Mean and spread of one metric over seeds, as the paper reports its runs.</summary>
public static class SeedStatistics
{
    /// <summary>
    /// The mean and the SAMPLE standard deviation (divisor n − 1) of <paramref name="values"/>;
    /// the deviation is 0 for a single value.
    /// </summary>
    public static (double Mean, double Std) MeanStd(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) throw new ArgumentException("seed statistics: no values; expected at least one per cell", nameof(values));
        if (values.Any(v => !double.IsFinite(v)))
            throw new ArgumentException($"seed statistics: values [{string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture)))}] include a non-finite value; expected finite numbers", nameof(values));
        var mean = values.Average();
        if (values.Count == 1) return (mean, 0);
        var ss = values.Sum(v => (v - mean) * (v - mean));
        return (mean, Math.Sqrt(ss / (values.Count - 1)));
    }

    /// <summary>"52.3 ± 1.2" (one decimal, sample std); just "52.3" for a single seed, whose spread is unknown.</summary>
    public static string Format(IReadOnlyList<double> values, int decimals = 1)
    {
        var (mean, std) = MeanStd(values);
        var f = "F" + decimals.ToString(CultureInfo.InvariantCulture);
        return values.Count == 1
            ? mean.ToString(f, CultureInfo.InvariantCulture)
            : $"{mean.ToString(f, CultureInfo.InvariantCulture)} ± {std.ToString(f, CultureInfo.InvariantCulture)}";
    }
}
