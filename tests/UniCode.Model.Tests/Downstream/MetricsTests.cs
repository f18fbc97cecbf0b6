using UniCode.Model.Config;
using UniCode.Model.Downstream;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Downstream;

public class MetricsTests
{
    private const double Tol = 1e-12;

    [Fact]
    public void Accuracy_is_the_percentage_of_matching_classes()
    {
        // 3 of 5 match.
        Assert.Equal(60.0, Metrics.Accuracy([0, 1, 2, 2, 1], [0, 1, 1, 2, 0]), Tol);
        Assert.Equal(100.0, Metrics.Accuracy([3], [3]), Tol);
        Assert.Throws<ArgumentException>(() => Metrics.Accuracy([0, 1], [0]));
    }

    // 3 clips of 4 cells each (T·(C+1) = 4), batches of 2 clips → batch 1 = clips 0–1, batch 2 = clip 2.
    private static readonly bool[] Predicted =
    [
        true, true, false, false,   true, true, false, false,   // batch 1: 4 predicted
        false, false, false, false,                             // batch 2: none predicted
    ];
    private static readonly bool[] Actual =
    [
        true, false, true, true,    true, true, true, false,    // batch 1: 6 actual, TP = 3 (cells 0, 4, 5)
        true, true, false, false,                               // batch 2: 2 actual
    ];

    [Fact]
    public void Reference_precision_recall_scores_a_batch_without_predictions_as_zero_and_weights_by_batch_size()
    {
        // Batch 1: P = 3/4, R = 3/6; batch 2: no positive prediction → (0, 0) by the reference's rule.
        // Weighted by clips: P = (2·0.75 + 1·0)/3 = 0.5, R = (2·0.5 + 0)/3 = 1/3, F1 = 2·0.5·(1/3)/(0.5 + 1/3) = 0.4.
        var r = Metrics.ReferencePrecisionRecallF1(Predicted, Actual, cellsPerClip: 4, batchSize: 2);
        Assert.Equal(0.5, r.Precision, Tol);
        Assert.Equal(1.0 / 3, r.Recall, Tol);
        Assert.Equal(0.4, r.F1, Tol);

        var counts = Metrics.ReferencePrecisionRecallF1([new BatchCounts(2, 4, 6, 3), new BatchCounts(1, 0, 2, 0)]);
        Assert.Equal(r, counts);
    }

    [Fact]
    public void Reference_precision_recall_average_is_weighted_by_clips_not_by_batches()
    {
        // Batch A: 3 clips, P = 1/2, R = 1/4; batch B: 1 clip, P = R = 1.
        // Weighted: P = (3·0.5 + 1)/4 = 0.625, R = (3·0.25 + 1)/4 = 0.4375 (an unweighted mean would give 0.75, 0.625).
        var r = Metrics.ReferencePrecisionRecallF1([new BatchCounts(3, 2, 4, 1), new BatchCounts(1, 1, 1, 1)]);
        Assert.Equal(0.625, r.Precision, Tol);
        Assert.Equal(0.4375, r.Recall, Tol);
        Assert.Equal(2 * 0.625 * 0.4375 / (0.625 + 0.4375), r.F1, Tol);  // 0.5147…
        Assert.Equal(0.514705882352941, r.F1, 1e-12);
    }

    [Fact]
    public void Micro_precision_recall_pools_all_cells()
    {
        // Predicted 4, actual 8, TP 3 → P = 0.75, R = 0.375, F1 = 2·0.75·0.375/1.125 = 0.5.
        var r = Metrics.MicroPrecisionRecallF1(Predicted, Actual);
        Assert.Equal(0.75, r.Precision, Tol);
        Assert.Equal(0.375, r.Recall, Tol);
        Assert.Equal(0.5, r.F1, Tol);

        // Pooled counts of the weighting example: P = 2/3, R = 2/5, F1 = 0.5.
        var pooled = Metrics.MicroPrecisionRecallF1([new BatchCounts(3, 2, 4, 1), new BatchCounts(1, 1, 1, 1)]);
        Assert.Equal(2.0 / 3, pooled.Precision, Tol);
        Assert.Equal(0.4, pooled.Recall, Tol);
        Assert.Equal(0.5, pooled.F1, Tol);

        // Nothing predicted: every number is 0, not NaN.
        var none = Metrics.MicroPrecisionRecallF1([false, false], [true, false]);
        Assert.Equal(new PrecisionRecallF1(0, 0, 0), none);
    }

    [Fact]
    public void Retrieval_ranks_count_ties_against_the_query_and_recall_at_k_is_a_percentage()
    {
        var s = new double[,]
        {
            { 0.9, 0.1, 0.2, 0.3 },  // own item first → rank 0
            { 0.5, 0.4, 0.6, 0.1 },  // 0.5 and 0.6 beat 0.4 → rank 2
            { 0.2, 0.3, 0.3, 0.1 },  // tie with item 1 counts against → rank 1
            { 0.8, 0.7, 0.9, 0.6 },  // last → rank 3
        };
        var ranks = Metrics.RetrievalRanks(s);
        Assert.Equal([0, 2, 1, 3], ranks);
        Assert.Equal(25.0, Metrics.RecallAtK(ranks, 1), Tol);
        Assert.Equal(50.0, Metrics.RecallAtK(ranks, 2), Tol);
        Assert.Equal(75.0, Metrics.RecallAtK(ranks, 3), Tol);
        Assert.Equal(100.0, Metrics.RecallAtK(ranks, 5), Tol);
    }

    [Fact]
    public void Tensor_retrieval_ranks_match_the_array_version_in_any_chunking()
    {
        // Small integer embeddings make every dot product exact, so ties are real ties.
        using var scope = NewDisposeScope();
        var g = new Generator(3);
        var q = randint(-2, 3, new long[] { 13, 4 }, generator: g).to(ScalarType.Float64);
        var gallery = randint(-2, 3, new long[] { 13, 4 }, generator: g).to(ScalarType.Float64);
        gallery[5] = gallery[2].clone();  // a duplicate gallery item
        var sim = q.matmul(gallery.t());
        var s = new double[13, 13];
        var flat = sim.data<double>().ToArray();
        for (var i = 0; i < 13; i++)
            for (var j = 0; j < 13; j++)
                s[i, j] = flat[i * 13 + j];
        var expected = Metrics.RetrievalRanks(s);
        foreach (var chunk in new[] { 1, 4, 13, 100 })
        {
            var ranks = RetrievalTask.RetrievalRanks(q, gallery, chunk).data<long>().Select(r => (int)r).ToArray();
            Assert.Equal(expected, ranks);
        }
    }

    [Fact]
    public void Multi_step_schedule_halves_at_10_20_30()
    {
        int[] milestones = [10, 20, 30];
        var expected = new Dictionary<int, double> { [0] = 4e-4, [9] = 4e-4, [10] = 2e-4, [19] = 2e-4, [20] = 1e-4, [29] = 1e-4, [30] = 5e-5, [49] = 5e-5 };
        foreach (var (epoch, lr) in expected)
            Assert.Equal(lr, MultiStepSchedule.LearningRate(4e-4, epoch, milestones, 0.5), 1e-18);
        Assert.Equal(2e-4, MultiStepSchedule.LearningRate(new DownstreamOptions(), 15), 1e-18);
    }

    [Fact]
    public void Held_out_heads_take_at_least_min_steps_with_the_schedule_stretched()
    {
        var o = new DownstreamOptions();   // 30 epochs, batch 80, milestones 10/20/30, at least 1,260 steps
        Assert.Equal(30, o.EpochsFor(3339));      // AVE's train split: 42 steps × 30 = 1,260, the reference's own run
        Assert.Equal(6, o.StepsPerEpoch(480));
        Assert.Equal(210, o.EpochsFor(480));      // 480 clips: 6 steps an epoch → 210 epochs
        Assert.Equal(1260, o.EpochsFor(20));      // one (short) batch an epoch
        // The milestones scale with the run: 70, 140, 210 of 210 epochs.
        Assert.Equal(4e-4, o.LearningRateAt(69, 210), 1e-18);
        Assert.Equal(2e-4, o.LearningRateAt(70, 210), 1e-18);
        Assert.Equal(1e-4, o.LearningRateAt(140, 210), 1e-18);
        Assert.Equal(2e-4, o.LearningRateAt(15, 30), 1e-18);      // the unstretched run is the reference's schedule
        // The reference protocol and MinSteps = 0 keep the epochs as given.
        Assert.Equal(30, (o with { Protocol = EvaluationProtocol.Reference }).EpochsFor(480));
        Assert.Equal(30, (o with { MinSteps = 0 }).EpochsFor(480));
        Assert.Equal(50, (o with { Epochs = 50, MinSteps = 100 }).EpochsFor(480));   // enough steps already
        Assert.Throws<ConfigException>(() => (o with { MinSteps = -1 }).Validate());
    }
}
