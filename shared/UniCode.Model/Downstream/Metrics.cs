namespace UniCode.Model.Downstream;

/// <summary>Precision, recall and F1 as fractions in [0, 1].</summary>
public readonly record struct PrecisionRecallF1(double Precision, double Recall, double F1)
{
    public PrecisionRecallF1 ToPercent() => new(100 * Precision, 100 * Recall, 100 * F1);

    /// <summary>F1 from a precision and a recall; 0 when both are 0 (where the reference divides 0 by 0).</summary>
    public static PrecisionRecallF1 From(double precision, double recall) =>
        new(precision, recall, precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0);
}

/// <summary>Positive-cell counts of one evaluation batch of clips (all its B·T × (C + 1) cells).</summary>
/// <param name="Clips">B: clips in the batch (the reference's averaging weight).</param>
/// <param name="Predicted">Cells with sigmoid(logit) &gt; 0.5.</param>
/// <param name="Actual">Cells labelled 1.</param>
/// <param name="TruePositive">Cells both predicted and labelled.</param>
public readonly record struct BatchCounts(int Clips, long Predicted, long Actual, long TruePositive);

/// <summary>
/// The downstream metrics as pure functions. Units follow the reference: accuracy and R@K in
/// percent, precision/recall/F1 as fractions (the protocols report all of them in percent).
/// </summary>
public static class Metrics
{
    /// <summary>Percentage of positions where <paramref name="predicted"/> equals <paramref name="truth"/>.</summary>
    public static double Accuracy(IReadOnlyList<long> predicted, IReadOnlyList<long> truth)
    {
        if (predicted.Count != truth.Count) throw new ArgumentException($"predicted has {predicted.Count} entries: expected {truth.Count}, like truth");
        if (truth.Count == 0) throw new ArgumentException("truth is empty: expected at least one item");
        var correct = 0;
        for (var i = 0; i < truth.Count; i++)
            if (predicted[i] == truth[i]) correct++;
        return 100.0 * correct / truth.Count;
    }

    /// <summary>Counts of one batch from flat 0/1 cells.</summary>
    public static BatchCounts Count(int clips, ReadOnlySpan<bool> predicted, ReadOnlySpan<bool> actual)
    {
        if (predicted.Length != actual.Length) throw new ArgumentException($"predicted has {predicted.Length} cells: expected {actual.Length}, like actual");
        long p = 0, a = 0, tp = 0;
        for (var i = 0; i < predicted.Length; i++)
        {
            if (predicted[i]) p++;
            if (actual[i]) a++;
            if (predicted[i] && actual[i]) tp++;
        }
        return new BatchCounts(clips, p, a, tp);
    }

    /// <summary>
    /// The reference's AVVP numbers (<c>compute_accuracy_supervised_sigmoid</c> + AverageMeter): per
    /// batch, precision = TP / #predicted and recall = TP / #actual, except that a batch with no
    /// predicted positive scores precision 0 AND recall 0; both are averaged over batches weighted by
    /// the batch's clip count; F1 = 2PR / (P + R) from the averages. Where the reference would divide
    /// 0 by 0 (a batch without any labelled positive, or P + R = 0) this returns 0; with the
    /// background column every second has a positive, so the first cannot happen on AVVP data.
    /// </summary>
    public static PrecisionRecallF1 ReferencePrecisionRecallF1(IReadOnlyList<BatchCounts> batches)
    {
        if (batches.Count == 0) throw new ArgumentException("batches is empty: expected at least one batch");
        double precisionSum = 0, recallSum = 0, weight = 0;
        foreach (var b in batches)
        {
            if (b.Clips < 1) throw new ArgumentException($"a batch has {b.Clips} clips: expected at least 1");
            weight += b.Clips;
            if (b.Predicted == 0) continue;  // reference: returns (0, 0), still counted with its weight
            precisionSum += b.Clips * ((double)b.TruePositive / b.Predicted);
            recallSum += b.Actual > 0 ? b.Clips * ((double)b.TruePositive / b.Actual) : 0;
        }
        return PrecisionRecallF1.From(precisionSum / weight, recallSum / weight);
    }

    /// <summary>
    /// <see cref="ReferencePrecisionRecallF1(IReadOnlyList{BatchCounts})"/> on flat cells of whole clips,
    /// <paramref name="cellsPerClip"/> (= T·(C + 1)) cells each, cut into consecutive batches of
    /// <paramref name="batchSize"/> clips (the last one possibly smaller), as an unshuffled loader does.
    /// </summary>
    public static PrecisionRecallF1 ReferencePrecisionRecallF1(IReadOnlyList<bool> predicted, IReadOnlyList<bool> actual, int cellsPerClip, int batchSize) =>
        ReferencePrecisionRecallF1(Batches(predicted, actual, cellsPerClip, batchSize));

    /// <summary>Micro precision/recall/F1 over all cells of all batches (0 where a denominator is 0): the corrected variant.</summary>
    public static PrecisionRecallF1 MicroPrecisionRecallF1(IReadOnlyList<BatchCounts> batches)
    {
        long p = 0, a = 0, tp = 0;
        foreach (var b in batches) { p += b.Predicted; a += b.Actual; tp += b.TruePositive; }
        return PrecisionRecallF1.From(p > 0 ? (double)tp / p : 0, a > 0 ? (double)tp / a : 0);
    }

    /// <summary>Micro precision/recall/F1 over flat 0/1 cells.</summary>
    public static PrecisionRecallF1 MicroPrecisionRecallF1(IReadOnlyList<bool> predicted, IReadOnlyList<bool> actual) =>
        MicroPrecisionRecallF1([Count(1, predicted.ToArray(), actual.ToArray())]);

    private static List<BatchCounts> Batches(IReadOnlyList<bool> predicted, IReadOnlyList<bool> actual, int cellsPerClip, int batchSize)
    {
        if (cellsPerClip < 1) throw new ArgumentOutOfRangeException(nameof(cellsPerClip), cellsPerClip, "expected at least 1 cell per clip");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "expected at least 1 clip per batch");
        if (predicted.Count != actual.Count) throw new ArgumentException($"predicted has {predicted.Count} cells: expected {actual.Count}, like actual");
        if (actual.Count % cellsPerClip != 0) throw new ArgumentException($"actual has {actual.Count} cells: expected a multiple of cellsPerClip = {cellsPerClip}");
        var p = predicted.ToArray();
        var a = actual.ToArray();
        var clips = actual.Count / cellsPerClip;
        var list = new List<BatchCounts>();
        for (var start = 0; start < clips; start += batchSize)
        {
            var n = Math.Min(batchSize, clips - start);
            list.Add(Count(n, p.AsSpan(start * cellsPerClip, n * cellsPerClip), a.AsSpan(start * cellsPerClip, n * cellsPerClip)));
        }
        return list;
    }

    /// <summary>
    /// Rank of each query's true item (the gallery item with the same index) in a square similarity
    /// matrix [queries, gallery], 0 = first. Ties count against the query: the rank is the number of
    /// OTHER gallery items scoring at least as high (identical code sequences give identical embeddings).
    /// </summary>
    public static int[] RetrievalRanks(double[,] similarity)
    {
        var n = similarity.GetLength(0);
        if (similarity.GetLength(1) != n) throw new ArgumentException($"similarity is {n}×{similarity.GetLength(1)}: expected a square matrix (query i's true item is gallery item i)");
        var ranks = new int[n];
        for (var i = 0; i < n; i++)
        {
            var own = similarity[i, i];
            for (var j = 0; j < n; j++)
                if (j != i && similarity[i, j] >= own) ranks[i]++;
        }
        return ranks;
    }

    /// <summary>R@K in percent: share of queries whose true item ranks among the first <paramref name="k"/>.</summary>
    public static double RecallAtK(IReadOnlyList<int> ranks, int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "expected K ≥ 1");
        if (ranks.Count == 0) throw new ArgumentException("ranks is empty: expected at least one query");
        return 100.0 * ranks.Count(r => r < k) / ranks.Count;
    }
}
