using UniCode.Model.Config;
using UniCode.Model.Downstream;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Downstream;

public class CrossDatasetTests
{
    [Fact]
    public void Mapping_keeps_shared_columns_turns_the_rest_into_background_and_drops_clips_without_a_shared_class()
    {
        using var scope = NewDisposeScope();
        // 3 clips, T = 2, classes (dog, car, bird) + background.
        var labels = tensor(new float[]
        {
            0, 1, 0, 0,   0, 0, 0, 1,   // clip 0: car, then background
            0, 0, 1, 0,   0, 0, 1, 0,   // clip 1: bird only (not shared)
            1, 0, 0, 0,   0, 0, 1, 0,   // clip 2: dog, then bird
        }).reshape(3, 2, 4);
        var clips = new LabeledClips(
            new Dictionary<Modality, Tensor> { [Modality.Audio] = zeros(3, 2, 5) }, labels,
            new Dictionary<string, int[]> { ["train"] = [0, 1], ["test"] = [2, 1] },
            ["dog", "car", "bird"], "h");
        // Shared classes in the mapping's order: car (→ "auto"), dog.
        var mapping = new ClassMapping([("car", "auto"), ("dog", "dog")]);
        var mapped = mapping.ApplyToSource(clips);

        Assert.Equal(["auto", "dog"], mapped.ClassNames);
        var expected = tensor(new float[]
        {
            1, 0, 0,   0, 0, 1,
            0, 0, 1,   0, 0, 1,   // bird → background
            0, 1, 0,   0, 0, 1,   // bird second → background
        }).reshape(3, 2, 3);
        Assert.True(expected.eq(mapped.SegmentLabels).all().item<bool>());
        Assert.Equal(expected.shape, mapped.SegmentLabels.shape);
        Assert.Equal([0], mapped.Split("train"));
        Assert.Equal([2], mapped.Split("test"));
        Assert.NotEqual(clips.ContentHash, mapped.ContentHash);
        Assert.Same(clips.Features, mapped.Features);

        var e = Assert.Throws<ArgumentException>(() => new ClassMapping([("cat", "cat")]).ApplyToSource(clips));
        Assert.Contains("'cat'", e.Message);
        Assert.Contains("'dog'", e.Message);
    }

    [Fact]
    public void Classification_transfers_from_one_dataset_and_modality_to_another()
    {
        using var scope = NewDisposeScope();
        // Same latent space (seed), as a shared codebook would give both datasets; B has one class A lacks
        // (violin) and A one B lacks (rain); the mapping orders the shared classes differently from both.
        var (a, rotA) = ToyClips.Make(n: 200, classes: 4, seed: 11, classNames: ["dog", "car", "piano", "rain"]);
        var (b, _) = ToyClips.Make(n: 200, classes: 4, seed: 11, classNames: ["dog", "car", "piano", "violin"]);
                var mapping = ClassMapping.SameNames(["piano", "dog", "car"]);
        var o = ToyClips.Options(12);
        var r = CrossDatasetTransfer.Classification(ToyClips.SharedEncoder(rotA), a, Modality.Video, b, Modality.Audio, mapping, o, task: "ucf2vgg");

        var s = r["v2a"];
        Assert.True(s.Accuracy > 85, $"v2a {s.Accuracy}");  // chance 33 %
        // Scored: B's test clips of shared classes only (class 3 = violin dropped).
        Assert.Equal(b.Split("test").Where(i => i % 4 != 3), s.Scored.Indices);
        Assert.NotEqual(b.ContentHash, s.Scored.DatasetHash);
        Assert.Equal(a.Split("train").Where(i => i % 4 != 3), r.Run.Trained.Indices);
        Assert.Equal("ucf2vgg", r.Rows()[0].Task);
    }

    [Fact]
    public void Localization_transfers_across_datasets_and_reference_protocol_scores_the_other_datasets_test_split()
    {
        using var scope = NewDisposeScope();
        var (a, rot) = ToyClips.Make(n: 160, classes: 3, seed: 5, classNames: ["x", "y", "z"]);
        var (b, _) = ToyClips.Make(n: 160, classes: 3, seed: 5, classNames: ["x", "y", "z"], separateLabels: true);
        var mapping = ClassMapping.SameNames(["x", "y", "z"]);
        var o = ToyClips.Options(12) with { Protocol = EvaluationProtocol.Reference };
        var r = CrossDatasetTransfer.Localization(ToyClips.SharedEncoder(rot), a, Modality.Audio, b, Modality.Video, mapping, o);
        var s = r["a2v"];
        Assert.Equal("test", s.Scored.Split);
        Assert.Equal(b.Split("test"), s.Scored.Indices);
        // Best epoch by (reference) F1, as the reference does for AVE→AVVP.
        var series = r.Run.History.Select(l => l.Metrics["test/a2v/f1"]).ToList();
        Assert.Equal(series.Max(), s.Reference.F1);
        Assert.True(s.Reference.F1 > 80, $"F1 {s.Reference.F1}");
    }
}
