namespace UniCode.Experiments.Tests.Learning;

public sealed class CrossModalCurveTests
{
    [Theory]
    [InlineData(518, 10, new long[] { 50, 100, 150, 200, 250, 300, 350, 400, 450, 500, 518 })]   // every 52 steps, rounded down to a report step
    [InlineData(500, 10, new long[] { 50, 100, 150, 200, 250, 300, 350, 400, 450, 500 })]
    [InlineData(40, 10, new long[] { 10, 20, 30, 40 })]                                          // never closer than one report (10 steps)
    [InlineData(2, 10, new long[] { 2 })]                                                        // a run shorter than a report: its last step
    [InlineData(518, 0, new long[0])]                                                             // off
    public void The_curve_is_measured_at_evenly_spaced_report_steps_and_at_the_last_step(long total, int points, long[] expected)
    {
        var reported = Enumerable.Range(1, (int)total).Select(s => (long)s).Where(s => s % 10 == 0 || s == total);
        Assert.Equal(expected, reported.Where(s => Experiment.IsCurveStep(s, total, points)));
    }
}
