using UniCode.Model.Config;

namespace UniCode.Model.Downstream;

/// <summary>Which clips a protocol trains on, selects on and scores, per <see cref="EvaluationProtocol"/>.</summary>
internal static class ProtocolPlan
{
    /// <summary>
    /// Trains on <paramref name="trainData"/>'s train split in modality <paramref name="x"/>; scores each of
    /// <paramref name="tests"/> on <paramref name="evalData"/>: Reference → the training split when the
    /// data are the same (the reference's AVE/AVVP), else the test split; HeldOut → the test split, with the
    /// training data's val split (if present) in modality x selecting the epoch.
    /// </summary>
    public static (TrainingSet Train, EvalTarget? Selection, List<EvalTarget> Targets) Make(
        LabeledClips trainData, Modality x, LabeledClips evalData, IReadOnlyList<Modality> tests, DownstreamOptions o)
    {
        o.Validate();
        trainData.Validate();
        if (!ReferenceEquals(trainData, evalData)) evalData.Validate();
        if (tests.Count == 0) throw new ArgumentException("no test modality: expected at least one (e.g. the training modality and the other one)");
        if (tests.Distinct().Count() != tests.Count) throw new ArgumentException($"test modalities [{string.Join(", ", tests)}] repeat one: expected each at most once");
        trainData.FeaturesOf(x);
        foreach (var y in tests) evalData.FeaturesOf(y);

        var same = ReferenceEquals(trainData, evalData);
        var trainIdx = trainData.Split(o.TrainSplit);
        var train = new TrainingSet(trainData, x, o.TrainSplit, trainIdx);
        if (o.Protocol == EvaluationProtocol.Reference)
        {
            var split = same ? o.TrainSplit : o.TestSplit;
            var idx = evalData.Split(split);
            return (train, null, tests.Select(y => new EvalTarget(new Direction(x, y), evalData, split, idx)).ToList());
        }

        var testIdx = evalData.Split(o.TestSplit);
        EvalTarget? selection = null;
        if (trainData.Splits.ContainsKey(o.ValSplit))
            selection = new EvalTarget(new Direction(x, x), trainData, o.ValSplit, trainData.Split(o.ValSplit));
        if (same)
        {
            var trainSet = trainIdx.ToHashSet();
            var leak = testIdx.FirstOrDefault(trainSet.Contains, -1);
            if (leak >= 0)
                throw new ArgumentException($"LabeledClips '{trainData.ContentHash}': clip {leak} is in both split '{o.TrainSplit}' and split '{o.TestSplit}': expected disjoint splits for the held-out protocol");
        }
        return (train, selection, tests.Select(y => new EvalTarget(new Direction(x, y), evalData, o.TestSplit, testIdx)).ToList());
    }

    /// <summary>
    /// The training half of <see cref="Make"/> for a head trained now and scored later: the train split in
    /// modality <paramref name="x"/>, and for HeldOut the val split in x (if present) selecting the epoch.
    /// </summary>
    public static (TrainingSet Train, EvalTarget? Selection) MakeTraining(LabeledClips trainData, Modality x, DownstreamOptions o)
    {
        o.Validate();
        trainData.Validate();
        trainData.FeaturesOf(x);
        var train = new TrainingSet(trainData, x, o.TrainSplit, trainData.Split(o.TrainSplit));
        EvalTarget? selection = null;
        if (o.Protocol == EvaluationProtocol.HeldOut && trainData.Splits.ContainsKey(o.ValSplit))
            selection = new EvalTarget(new Direction(x, x), trainData, o.ValSplit, trainData.Split(o.ValSplit));
        return (train, selection);
    }

    /// <summary>
    /// The scoring half of <see cref="Make"/> for a head trained on <paramref name="trained"/>: the same
    /// splits Make would score, with "the same data" meaning the same content hash.
    /// </summary>
    public static List<EvalTarget> MakeTargets(ScoredSet trained, LabeledClips evalData, IReadOnlyList<Modality> tests, DownstreamOptions o)
    {
        o.Validate();
        evalData.Validate();
        if (tests.Count == 0) throw new ArgumentException("no test modality: expected at least one (e.g. the training modality and the other one)");
        if (tests.Distinct().Count() != tests.Count) throw new ArgumentException($"test modalities [{string.Join(", ", tests)}] repeat one: expected each at most once");
        foreach (var y in tests) evalData.FeaturesOf(y);
        var same = trained.DatasetHash == evalData.ContentHash;
        var split = o.Protocol == EvaluationProtocol.Reference && same ? trained.Split : o.TestSplit;
        var idx = evalData.Split(split);
        if (o.Protocol == EvaluationProtocol.HeldOut && same)
        {
            var trainSet = trained.Indices.ToHashSet();
            var leak = idx.FirstOrDefault(trainSet.Contains, -1);
            if (leak >= 0)
                throw new ArgumentException($"LabeledClips '{evalData.ContentHash}': clip {leak} is in both split '{trained.Split}' (trained on) and split '{split}': expected disjoint splits for the held-out protocol");
        }
        return tests.Select(y => new EvalTarget(new Direction(trained.Modality, y), evalData, split, idx)).ToList();
    }
}
