using UniCode.Model.Config;
using UniCode.Model.Downstream;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Downstream;

public class ProtocolTests
{
    private static readonly Modality A = Modality.Audio, V = Modality.Video, Tx = Modality.Text;

    [Fact]
    public void Classification_transfers_across_modalities_in_a_shared_code_space()
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make();
        var r = EventClassification.Run(ToyClips.SharedEncoder(rot), clips, V, [V, A, Tx], ToyClips.Options());

        // Chance is 25 %.
        Assert.True(r["v2v"].Accuracy > 85, $"v2v {r["v2v"].Accuracy}");
        Assert.True(r["v2a"].Accuracy > 85, $"v2a {r["v2a"].Accuracy}");
        Assert.True(r["v2t"].Accuracy > 85, $"v2t {r["v2t"].Accuracy}");
        Assert.Equal(3 * 2, r.Rows().Count);
        Assert.Contains(r.Rows(), row => row.Metric == "accuracy" && row.Source == V && row.Target == A && row.Split == "test" && row.Protocol == "held-out" && row.DatasetHash == clips.ContentHash);
    }

    [Fact]
    public void Classification_of_unrelated_noise_codes_is_at_chance()
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make(n: 400);
        var r = EventClassification.Run(ToyClips.NoiseFor(rot, A), clips, V, [V, A], ToyClips.Options());
        Assert.True(r["v2v"].Accuracy > 85, $"v2v {r["v2v"].Accuracy}");
        // 80 test clips, 4 balanced classes: chance 25 %.
        Assert.InRange(r["v2a"].Accuracy, 0, 45);
    }

    [Fact]
    public void A_small_training_set_gets_more_epochs_to_reach_the_minimum_steps()
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make();
        var logs = new List<EpochLog>();
        var o = ToyClips.Options(epochs: 2) with { MinSteps = 40 };
        var steps = o.StepsPerEpoch(clips.Split("train").Length);
        var r = EventClassification.Run(ToyClips.SharedEncoder(rot), clips, V, [V, A], o, onEpoch: logs.Add);
        var epochs = (40 + steps - 1) / steps;
        Assert.True(epochs > 2, $"{steps} steps an epoch");
        Assert.Equal(Enumerable.Range(0, epochs), logs.Select(l => l.Epoch));
        Assert.All(logs, l => Assert.Equal(epochs, l.Epochs));
        Assert.InRange(r["v2a"].Epoch, 0, epochs - 1);
        // The reference protocol keeps its epochs.
        logs.Clear();
        EventClassification.Run(ToyClips.SharedEncoder(rot), clips, V, [V], o with { Protocol = EvaluationProtocol.Reference }, onEpoch: logs.Add);
        Assert.Equal(2, logs.Count);
    }

    [Fact]
    public void Held_out_trains_on_train_selects_on_val_and_scores_the_test_split_once()
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make();
        var logs = new List<EpochLog>();
        var o = ToyClips.Options(epochs: 6);
        var r = EventClassification.Run(ToyClips.SharedEncoder(rot), clips, V, [V, A], o, onEpoch: logs.Add);

        Assert.Equal(clips.Split("train"), r.Run.Trained.Indices);
        Assert.Equal("val", r.Run.SelectedOn!.Split);
        Assert.Equal(clips.Split("val"), r.Run.SelectedOn.Indices);
        Assert.Equal(V, r.Run.SelectedOn.Modality);
        foreach (var s in r.Scores)
        {
            Assert.Equal("test", s.Scored.Split);
            Assert.Equal(clips.Split("test"), s.Scored.Indices);
        }
        // The progress callback saw every epoch, scored on val of the training modality only (no test numbers leak into the history).
        Assert.Equal(Enumerable.Range(0, 6), logs.Select(l => l.Epoch));
        Assert.All(logs, l => Assert.Equal("val/v2v/accuracy", l.MetricName));
        Assert.All(logs, l => Assert.DoesNotContain(l.Metrics.Keys, k => k.StartsWith("test/")));
        // The reported epoch is the first best on val.
        var bestVal = logs.Max(l => l.Metric);
        Assert.Equal(logs.First(l => l.Metric == bestVal).Epoch, r["v2a"].Epoch);
    }

    [Fact]
    public void Held_out_without_val_reports_the_final_epoch()
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make(withVal: false);
        var logs = new List<EpochLog>();
        var r = EventClassification.Run(ToyClips.SharedEncoder(rot), clips, A, [V], ToyClips.Options(epochs: 4), onEpoch: logs.Add);
        Assert.Null(r.Run.SelectedOn);
        Assert.Equal(3, r["a2v"].Epoch);
        Assert.All(logs, l => Assert.True(double.IsNaN(l.Metric)));
        Assert.Equal(clips.Split("test"), r["a2v"].Scored.Indices);
    }

    [Fact]
    public void Reference_protocol_scores_the_training_split_every_epoch_and_reports_the_best()
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make();
        var o = ToyClips.Options(epochs: 6) with { Protocol = EvaluationProtocol.Reference };
        var r = EventClassification.Run(ToyClips.SharedEncoder(rot), clips, V, [V, A], o);

        Assert.Null(r.Run.SelectedOn);
        foreach (var s in r.Scores)
        {
            Assert.Equal("train", s.Scored.Split);
            Assert.Equal(clips.Split("train"), s.Scored.Indices);
            // Best over epochs of its own per-epoch numbers (first epoch reaching it).
            var series = r.Run.History.Select(l => l.Metrics[$"train/{s.Direction.Name}/accuracy"]).ToList();
            Assert.Equal(series.Max(), s.Accuracy);
            Assert.Equal(series.IndexOf(series.Max()), s.Epoch);
        }
        Assert.Equal("train/v2a/accuracy", r.Run.History[0].MetricName);
        Assert.All(r.Rows(), row => Assert.Equal("reference", row.Protocol));
    }

    [Fact]
    public void Same_seed_gives_identical_numbers_and_another_seed_differs()
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make();
        var o = ToyClips.Options(epochs: 3);
        var enc = ToyClips.SharedEncoder(rot);
        var first = EventClassification.Run(enc, clips, V, [V, A], o);
        var second = EventClassification.Run(enc, clips, V, [V, A], o);
        var other = EventClassification.Run(enc, clips, V, [V, A], o with { Seed = 44 });

        Assert.Equal(first.Run.History.Select(l => l.TrainLoss), second.Run.History.Select(l => l.TrainLoss));
        Assert.Equal(first.Run.History.Select(l => l.Metric), second.Run.History.Select(l => l.Metric));
        Assert.Equal(first.Scores.Select(s => (s.Accuracy, s.Epoch)), second.Scores.Select(s => (s.Accuracy, s.Epoch)));
        Assert.NotEqual(first.Run.History[0].TrainLoss, other.Run.History[0].TrainLoss);
    }

    [Fact]
    public void Learning_rate_follows_the_multi_step_schedule_and_lowers_the_loss()
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make();
        var o = ToyClips.Options(epochs: 5) with { LrMilestones = [2, 4] };
        var r = EventClassification.Run(ToyClips.SharedEncoder(rot), clips, V, [V], o);
        Assert.Equal(new[] { 1e-2, 1e-2, 5e-3, 5e-3, 2.5e-3 }, r.Run.History.Select(l => l.LearningRate));
        Assert.True(r.Run.History[^1].TrainLoss < r.Run.History[0].TrainLoss);
    }

    [Fact]
    public void Encoder_sees_train_mode_only_while_the_head_trains_when_asked_and_the_chosen_precision()
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make(n: 60);
        var shared = ToyClips.SharedEncoder(rot);
        foreach (var trainMode in new[] { true, false })
        {
            var calls = new List<(bool Training, long Batch, ScalarType Dtype)>();
            CodeEncoder spy = (m, raw, training) => { calls.Add((training, raw.shape[0], raw.dtype)); return shared(m, raw, training); };
            var o = ToyClips.Options(epochs: 2) with { EncoderTrainMode = trainMode, Precision = Precision.Float64 };
            var r = EventClassification.Run(spy, clips, V, [A], o);
            Assert.All(calls, c => Assert.Equal(ScalarType.Float64, c.Dtype));
            // 36 training clips in batches of 32: 2 train-mode calls per epoch when asked, none otherwise.
            Assert.Equal(trainMode ? 4 : 0, calls.Count(c => c.Training));
            Assert.All(r.Run.History, l => Assert.True(double.IsFinite(l.TrainLoss)));
        }
    }

    [Fact]
    public void Bad_inputs_are_rejected_with_the_field_and_the_expectation()
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make(n: 40);
        var enc = ToyClips.SharedEncoder(rot);

        var wrongWidth = clips with { ClassNames = ["only", "three", "names"] };
        var e1 = Assert.Throws<ArgumentException>(() => wrongWidth.Validate());
        Assert.Contains("SegmentLabels", e1.Message);
        Assert.Contains("C + 1 = 4", e1.Message);

        var overlapping = clips with { Splits = new Dictionary<string, int[]> { ["train"] = [0, 1, 2, 3], ["test"] = [3, 4] } };
        var e2 = Assert.Throws<ArgumentException>(() => EventClassification.Run(enc, overlapping, V, [A], ToyClips.Options(1)));
        Assert.Contains("clip 3", e2.Message);

        var e3 = Assert.Throws<ArgumentException>(() => EventClassification.Run(enc, clips, V, [A], ToyClips.Options(1) with { TestSplit = "holdout" }));
        Assert.Contains("'holdout'", e3.Message);
        Assert.Contains("'test'", e3.Message);

        var e4 = Assert.Throws<ConfigException>(() => EventClassification.Run(enc, clips, V, [A], ToyClips.Options(1) with { BatchSize = 1 }));
        Assert.Equal(nameof(DownstreamOptions.BatchSize), e4.Field);

        CodeEncoder flat = (m, raw, _) => raw.flatten(1);
        var e5 = Assert.Throws<InvalidOperationException>(() => EventClassification.Run(flat, clips, V, [A], ToyClips.Options(1)));
        Assert.Contains("expected [1, T, D]", e5.Message);
    }

    [Fact]
    public void Localization_learns_per_second_events_of_each_modalitys_own_labels()
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make(separateLabels: true);
        var r = EventLocalization.Run(ToyClips.SharedEncoder(rot), clips, A, [A, V], ToyClips.Options(15));

        foreach (var name in new[] { "a2a", "a2v" })
        {
            var s = r[name];
            Assert.True(s.Reference.F1 > 85, $"{name} reference F1 {s.Reference.F1}");
            Assert.True(s.Micro.F1 > 85, $"{name} micro F1 {s.Micro.F1}");
            Assert.Equal(s.Reference, s.Headline);
            Assert.Equal(clips.Split("test"), s.Scored.Indices);
        }
        Assert.Equal(7 * 2, r.Rows().Count);
        Assert.Equal("val/a2a/precision", r.Run.History[0].MetricName);
    }

    [Fact]
    public void Localization_scores_against_the_test_modalitys_labels()
    {
        // Video labels put the background second elsewhere than audio's. A head trained on audio and scored on
        // video codes is right against video's labels; had it been scored against audio's, half of each clip's
        // background/event seconds would disagree.
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make(separateLabels: true);
        var o = ToyClips.Options(15) with { LocalizationScoring = LocalizationScoring.Micro };
        var r = EventLocalization.Run(ToyClips.SharedEncoder(rot), clips, A, [V], o, LocalizationSelection.F1);
        var mislabeled = clips with { ModalityLabels = new Dictionary<Modality, Tensor> { [V] = clips.LabelsFor(A) } };
        var wrong = EventLocalization.Run(ToyClips.SharedEncoder(rot), mislabeled, A, [V], o, LocalizationSelection.F1);
        Assert.Equal(r["a2v"].Micro, r["a2v"].Headline);
        Assert.True(r["a2v"].Micro.F1 > 85, $"right labels {r["a2v"].Micro.F1}");
        Assert.True(wrong["a2v"].Micro.F1 < 70, $"wrong labels {wrong["a2v"].Micro.F1}");
    }

    [Fact]
    public void Retrieval_finds_each_clips_audio_from_another_modality_and_fails_on_noise()
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make(n: 200, identity: 1.5, noise: 0.1);
        var o = ToyClips.Options(15) with { RetrievalEmbeddingDim = 16, RetrievalTemperature = 0.1 };
        var r = AudioRetrieval.Run(ToyClips.SharedEncoder(rot), clips, V, [V, Tx], o);
        var s = r["v2t"];
        Assert.True(s.RecallAt1 > 50, $"R@1 {s.RecallAt1}");
        Assert.True(s.RecallAt1 <= s.RecallAt5 && s.RecallAt5 <= s.RecallAt10);
        Assert.Equal(clips.Split("test"), s.Scored.Indices);
        Assert.Equal("val/v2v/r@5", r.Run.History[0].MetricName);

        var noisy = AudioRetrieval.Run(ToyClips.NoiseFor(rot, Tx), clips, V, [Tx], o);
        // 40 gallery items: chance R@10 = 25 %.
        Assert.InRange(noisy["v2t"].RecallAt10, 0, 45);
        Assert.Equal(4 * 1, noisy.Rows().Count);
    }
}
