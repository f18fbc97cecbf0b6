namespace UniCode.Model.Downstream;

/// <summary>
/// PyTorch's MultiStepLR as the reference uses it (stepped once after each epoch): during epoch e
/// (0-based) the rate is base · γ^(number of milestones ≤ e). Reference: [10, 20, 30] × 0.5, so
/// epochs 0–9 run at base, 10–19 at base/2, 20–29 at base/4, 30+ at base/8.
/// </summary>
public static class MultiStepSchedule
{
    public static double LearningRate(double baseRate, int epoch, IReadOnlyList<int> milestones, double gamma)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "expected an epoch ≥ 0");
        var passed = milestones.Count(m => m <= epoch);
        return baseRate * Math.Pow(gamma, passed);
    }

    /// <summary>The rate of <paramref name="epoch"/> under <paramref name="options"/>.</summary>
    public static double LearningRate(DownstreamOptions options, int epoch) =>
        LearningRate(options.LearningRate, epoch, options.LrMilestones, options.LrGamma);
}
