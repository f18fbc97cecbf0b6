using UniCode.Model.Config;
using UniCode.Model.Diagnostics;
using UniCode.Model.Tests.Encoders;
using UniCode.Model.Tests.Training;
using UniCode.Model.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Diagnostics;

[Collection(TorchGlobalRngCollection.Name)]
public class CrossModalGeneralizationTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(0.5, 3.4, 3.5, 0.033, true)]     // learned on training clips, nothing carried: memorised
    [InlineData(0.5, 1.0, 3.5, 0.833, false)]    // most of it carried over
    [InlineData(3.45, 3.5, 3.5, null, false)]    // no gain on training clips: nothing to judge
    public void Carried_over_is_the_share_of_the_training_gain_seen_on_held_out_clips(double train, double heldOut, double shuffled, double? carried, bool memorised)
    {
        var gap = new CrossModalTermGap("cpc", 32, train, heldOut, shuffled);
        if (carried is null) Assert.Null(gap.CarriedOver);
        else Assert.Equal(carried.Value, gap.CarriedOver!.Value, 3);
        Assert.Equal(memorised, gap.Memorised);
    }

    private static Dictionary<Modality, Tensor> Features(TensorBatchSource source, int n)
    {
        var all = Enumerable.Range(0, n).ToArray();
        var batch = source.ReadBatch(all, CPU, ScalarType.Float32);
        return new() { [Modality.Audio] = batch.Audio!, [Modality.Video] = batch.Video! };
    }

    [Fact]
    public void The_same_clips_as_training_and_held_out_give_the_same_value_and_the_shuffled_level_differs()
    {
        manual_seed(4);
        using var scope = NewDisposeScope();
        var c = ToyData.TinyConfig();
        using var data = ToyData.AudioVisual(c, 16, 4, seed: 2);
        using var model = new UniCodeModel(c);
        model.train();
        var clips = Enumerable.Range(0, 16).ToArray();
        var gaps = CrossModalGeneralization.Measure(model, Features(data, 16), clips, clips);
        Assert.Equal(["cpc", "cmcm"], gaps.Select(g => g.Term));
        Assert.All(gaps, g =>
        {
            Assert.Equal(16, g.Clips);
            Assert.Equal(g.Train, g.HeldOut, 12);
            Assert.NotEqual(g.HeldOut, g.Shuffled, 6);
        });
        Assert.True(model.training, "Measure must restore the model's mode");
        using var baseline = new UniCodeModel(c with { UseCpc = false, UseCmcm = false });
        Assert.Empty(CrossModalGeneralization.Measure(baseline, Features(data, 16), clips, clips));
    }

    [Fact]
    public void Only_the_pairing_differs_between_the_held_out_and_the_shuffled_level()
    {
        // Sixteen clips whose video is one clip's: re-pairing the video changes nothing, so with the terms' own draws
        // (Cross-CPC's start step) shared by both levels, the shuffled level must equal the held-out one exactly.
        manual_seed(6);
        using var scope = NewDisposeScope();
        var c = ToyData.TinyConfig();
        using var data = ToyData.AudioVisual(c, 16, 4, seed: 3);
        var one = Features(data, 16);
        var copies = new Dictionary<Modality, Tensor>
        {
            [Modality.Audio] = one[Modality.Audio],
            [Modality.Video] = one[Modality.Video][..1].expand(one[Modality.Video].shape).contiguous(),
        };
        using var model = new UniCodeModel(c);
        var clips = Enumerable.Range(0, 16).ToArray();
        var gaps = CrossModalGeneralization.Measure(model, copies, clips, clips);
        Assert.Equal(["cpc", "cmcm"], gaps.Select(g => g.Term));
        Assert.All(gaps, g => Assert.Equal(g.HeldOut, g.Shuffled, 12));
    }

    [Fact]
    public void A_model_pre_trained_on_modalities_that_share_nothing_is_flagged_as_memorised()
    {
        // Audio and video of a clip are independent draws (a per-clip style per modality plus noise): the only way to
        // pair them is to memorise which training clips go together.
        manual_seed(5);
        using var scope = NewDisposeScope();
        var c = ToyData.TinyConfig() with { UseClub = false };
        const int n = 80;
        var g = new Generator(9);
        var audio = (2 * randn([n, 1, c.AudioInputDim], generator: g)).expand(n, c.Segments, c.AudioInputDim)
                    + 0.3f * randn([n, c.Segments, c.AudioInputDim], generator: g);
        var video = (2 * randn([n, 1, 1, 1, c.VideoInputDim], generator: g)).expand(n, c.Segments, c.VideoGrid, c.VideoGrid, c.VideoInputDim)
                    + 0.3f * randn([n, c.Segments, c.VideoGrid, c.VideoGrid, c.VideoInputDim], generator: g);
        using var source = new TensorBatchSource(audio[..16], video[..16], null);
        using var trainer = new Pretrainer(c, CPU);
        PretrainLoop.Run(trainer, source, new PretrainOptions { Epochs = 120 });
        var gaps = CrossModalGeneralization.Measure(trainer.Model, new Dictionary<Modality, Tensor> { [Modality.Audio] = audio, [Modality.Video] = video },
            Enumerable.Range(0, 16).ToArray(), Enumerable.Range(16, 64).ToArray());
        var cpc = gaps.Single(t => t.Term == "cpc");
        output.WriteLine(string.Join("\n", gaps));
        Assert.True(cpc.Memorised, $"cpc: train {cpc.Train:F3}, held-out {cpc.HeldOut:F3}, shuffled {cpc.Shuffled:F3}");
    }

    [Fact]
    public void A_model_pre_trained_on_modalities_that_share_their_class_carries_most_of_it_over()
    {
        manual_seed(6);
        using var scope = NewDisposeScope();
        var c = ToyData.TinyConfig() with { UseClub = false };
        using var source = ToyData.AudioVisual(c, 48, 4, seed: 3);
        var features = Features(source, 48);
        using var train = new TensorBatchSource(features[Modality.Audio][..32], features[Modality.Video][..32], null);
        using var trainer = new Pretrainer(c, CPU);
        PretrainLoop.Run(trainer, train, new PretrainOptions { Epochs = 40 });
        var gaps = CrossModalGeneralization.Measure(trainer.Model, features, Enumerable.Range(0, 16).ToArray(), Enumerable.Range(32, 16).ToArray());
        var cpc = gaps.Single(t => t.Term == "cpc");
        output.WriteLine(string.Join("\n", gaps));
        Assert.False(cpc.Memorised, $"cpc: train {cpc.Train:F3}, held-out {cpc.HeldOut:F3}, shuffled {cpc.Shuffled:F3}");
    }
}
