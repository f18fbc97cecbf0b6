using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Model.Diagnostics;

/// <summary>
/// What one modality's codes say about the seconds they stand for, read with a lookup table instead of a trained head
/// (so nothing here can fit the clips' style): the table is filled from the training clips' codes of
/// <paramref name="Fitted"/> — per code, whether it is an event code (its share of event seconds is above the
/// training split's base rate) and its most frequent event class — and scored on held-out codes of
/// <paramref name="Scored"/> (the same modality, or the other one: a lookup is zero-shot across modalities exactly when
/// a code means the same in both). It separates the two things a code can carry on AVE-like data: <em>when</em> the
/// event is (event vs background, balanced accuracy, chance 50 %) and <em>what</em> it is (class on event seconds).
/// </summary>
/// <param name="Fitted">The modality whose training codes filled the table.</param>
/// <param name="Scored">The modality whose held-out codes were scored.</param>
/// <param name="Seconds">Held-out seconds scored.</param>
/// <param name="EventSeconds">Of those, seconds inside an event.</param>
/// <param name="EventBalancedAccuracy">Mean of the event and the background seconds' recall (%), or null when the held-out seconds lack either kind.</param>
/// <param name="ClassAccuracy">Share (%) of held-out event seconds whose code's class is theirs, or null when there are none.</param>
/// <param name="ClassBaseline">The table's answer without codes: the share (%) of held-out event seconds of the training split's most frequent event class.</param>
public sealed record CodeContent(Modality Fitted, Modality Scored, int Seconds, int EventSeconds,
    double? EventBalancedAccuracy, double? ClassAccuracy, double? ClassBaseline)
{
    /// <summary>A direction name as the downstream tables write it, e.g. "a2v".</summary>
    public string Direction => $"{Fitted.Letter()}2{Scored.Letter()}";

    /// <summary>
    /// The lookup of <see cref="CodeContent"/> from code indices [N, T] and per-second labels [N, T] (0 … C − 1 an
    /// event class, <paramref name="background"/> = C the background), training pair first.
    /// </summary>
    public static CodeContent FromIndices(Modality fitted, Tensor trainCodes, Tensor trainLabels, Modality scored, Tensor evalCodes, Tensor evalLabels,
        long codebookSize, int background)
    {
        var (tc, tl) = (Host(trainCodes, trainLabels, "training"), Host(trainLabels, trainCodes, "training"));
        var (ec, el) = (Host(evalCodes, evalLabels, "held-out"), Host(evalLabels, evalCodes, "held-out"));
        var seconds = new long[codebookSize];
        var events = new long[codebookSize];
        var classCounts = new Dictionary<long, int[]>();
        var overall = new int[background];
        long trainEvents = 0;
        for (var i = 0; i < tc.Length; i++)
        {
            var code = Code(tc[i], codebookSize);
            seconds[code]++;
            if (tl[i] == background) continue;
            CheckLabel(tl[i], background);
            events[code]++;
            trainEvents++;
            if (!classCounts.TryGetValue(code, out var counts)) classCounts[code] = counts = new int[background];
            counts[tl[i]]++;
            overall[tl[i]]++;
        }
        var baseRate = tc.Length == 0 ? 0 : (double)trainEvents / tc.Length;
        var fallback = trainEvents == 0 ? -1 : Array.IndexOf(overall, overall.Max());
        long evHit = 0, evTotal = 0, bgHit = 0, bgTotal = 0, classHit = 0, baselineHit = 0;
        for (var i = 0; i < ec.Length; i++)
        {
            var code = Code(ec[i], codebookSize);
            // an event code: seen in training, and more often in event seconds than the base rate (unseen → background)
            var eventCode = seconds[code] > 0 && (double)events[code] / seconds[code] > baseRate;
            if (el[i] == background)
            {
                bgTotal++;
                if (!eventCode) bgHit++;
                continue;
            }
            CheckLabel(el[i], background);
            evTotal++;
            if (eventCode) evHit++;
            var guess = classCounts.TryGetValue(code, out var counts) ? Array.IndexOf(counts, counts.Max()) : fallback;
            if (guess == el[i]) classHit++;
            if (fallback == el[i]) baselineHit++;
        }
        double? balanced = evTotal > 0 && bgTotal > 0 ? 50.0 * ((double)evHit / evTotal + (double)bgHit / bgTotal) : null;
        double? classAccuracy = evTotal > 0 ? 100.0 * classHit / evTotal : null;
        double? baseline = evTotal > 0 ? 100.0 * baselineHit / evTotal : null;
        return new CodeContent(fitted, scored, ec.Length, (int)evTotal, balanced, classAccuracy, baseline);
    }

    /// <summary>
    /// Encodes the clips of <paramref name="trainClips"/> and <paramref name="evalClips"/> of every modality of
    /// <paramref name="model"/> and scores every (fitted, scored) pair of modalities. <paramref name="labels"/>: the
    /// per-second labels [N, T, C + 1] that annotate each modality, background column last.
    /// </summary>
    public static IReadOnlyList<CodeContent> Measure(UniCodeModel model, IReadOnlyDictionary<Modality, Tensor> features,
        Func<Modality, Tensor> labels, int[] trainClips, int[] evalClips, int batchSize = 80)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(labels);
        using var scope = NewDisposeScope();
        var modalities = model.Modalities;
        var codes = modalities.ToDictionary(m => m, m => (
            Train: CodeStatistics.Indices(model, m, features, trainClips, batchSize),
            Eval: CodeStatistics.Indices(model, m, features, evalClips, batchSize)));
        var perSecond = modalities.ToDictionary(m => m, m =>
        {
            var l = labels(m);
            return (Train: LabelPerSecond(l, trainClips), Eval: LabelPerSecond(l, evalClips), Background: (int)l.shape[2] - 1);
        });
        return (from f in modalities
                from s in modalities
                select FromIndices(f, codes[f].Train, perSecond[f].Train, s, codes[s].Eval, perSecond[s].Eval,
                    model.Config.CodebookSize, perSecond[f].Background)).ToList();
    }

    // The label of each second [n, T]: the arg-max column (background last).
    private static Tensor LabelPerSecond(Tensor labels, int[] clips)
    {
        using var idx = tensor(clips.Select(i => (long)i).ToArray(), ScalarType.Int64);
        return labels.index_select(0, idx).argmax(2);
    }

    private static long[] Host(Tensor values, Tensor other, string which)
    {
        if (values.dim() != 2 || !values.shape.SequenceEqual(other.shape))
            throw new ArgumentException($"CodeContent: {which} codes and labels have shapes [{string.Join(", ", values.shape)}] and [{string.Join(", ", other.shape)}]: expected both [N, T]");
        using var host = values.to(ScalarType.Int64).cpu();
        return host.data<long>().ToArray();
    }

    private static long Code(long k, long codebookSize) =>
        (ulong)k < (ulong)codebookSize ? k : throw new ArgumentException($"CodeContent: code index {k}: expected 0 ≤ index < {codebookSize}");

    private static void CheckLabel(long label, int background)
    {
        if (label < 0 || label > background) throw new ArgumentException($"CodeContent: label {label}: expected 0 … {background} (background = {background})");
    }
}
