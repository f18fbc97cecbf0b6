using UniCode.Data;
using UniCode.Experiments;
using UniCode.Model.Config;
using Xunit;

namespace UniCode.Experiments.Tests.Fitting;

/// <summary>The config fitted to a dataset: the pre-training batch shrinks to a small split (unless chosen), shapes other than the preset's are reported.</summary>
public sealed class ConfigFittingTests
{
    // 12 clips: train 8, val 2, test 2 (the synthetic benchmark's 0.7 / 0.15 fractions)
    private const string Twelve = "synth:clips=12,classes=3,audio=8,video=4,grid=5,text=0,seed=1";

    [Fact]
    public void A_training_split_smaller_than_the_batch_shrinks_the_batch_to_it_with_a_notice()
    {
        using var data = DatasetOpener.Open(Twelve);
        var c = DatasetTensors.FitBatchSize(UniCodeConfig.Small, data, "train", null, out var notice);
        Assert.Equal(8, c.BatchSize);
        Assert.Equal((UniCodeConfig.Small with { BatchSize = 8 }).Hash(), c.Hash());   // nothing else changes
        Assert.Equal($"the pre-training split 'train' of {data.Name} has 8 clips, fewer than one batch (BatchSize=32): the batch size shrinks to 8 for this run (recorded in its config)", notice);

        // every clip when no split is named
        Assert.Equal(12, DatasetTensors.FitBatchSize(UniCodeConfig.Small, data, null, null, out var all).BatchSize);
        Assert.StartsWith($"{data.Name} has 12 clips, fewer than one batch (BatchSize=32)", all);
    }

    [Fact]
    public void A_split_that_holds_a_batch_is_left_as_it_is()
    {
        using var data = DatasetOpener.Open(Twelve);
        var c = DatasetTensors.FitBatchSize(UniCodeConfig.Small with { BatchSize = 8 }, data, "train", "--config (batchSize)", out var notice);
        Assert.Equal(8, c.BatchSize);
        Assert.Null(notice);
        // a split the dataset does not have is left to the reader that asks for it (it lists the splits)
        Assert.Equal(32, DatasetTensors.FitBatchSize(UniCodeConfig.Small, data, "nope", null, out _).BatchSize);
    }

    [Fact]
    public void An_explicit_batch_size_larger_than_the_split_is_an_error_naming_where_it_was_set()
    {
        using var data = DatasetOpener.Open(Twelve);
        var e = Assert.Throws<ConfigException>(() => DatasetTensors.FitBatchSize(UniCodeConfig.Small with { BatchSize = 16 }, data, "train", "spec.config.batchSize", out _));
        Assert.Equal($"config field 'BatchSize' = 16: expected at most 8: the pre-training split 'train' of {data.Name} has 8 clips (the batch size was set by spec.config.batchSize; leave it unset and it shrinks to the split's size)", e.Message);
    }

    [Fact]
    public void A_split_of_one_clip_cannot_be_pre_trained_on()
    {
        using var data = DatasetOpener.Open("synth:clips=5,train=0.6,val=0.2,classes=2,audio=4,video=4,grid=5,text=0");   // train 3, val 1, test 1
        var e = Assert.Throws<DatasetFormatException>(() => DatasetTensors.FitBatchSize(UniCodeConfig.Small, data, "val", null, out _));
        Assert.Equal($"{data.Name}: pre-training split 'val' holds 1 clip; expected at least 2 (a pre-training batch contrasts at least 2 clips)", e.Message);
    }

    [Fact]
    public void The_spec_config_carries_the_shrunk_batch_unless_the_overrides_set_one()
    {
        using var dataset = DatasetOpener.Open(Twelve);
        using var data = DatasetTensors.Load(dataset, ModalitySet.AudioVisual);
        var spec = new ExperimentSpec { Dataset = Twelve, PretrainEpochs = 1 };
        var c = spec.Config(data, out var notices);
        Assert.Equal(8, c.BatchSize);
        Assert.Single(notices);   // synth: its widths are its spec's own keys, not reported
        Assert.Equal(c.Hash(), spec.Config(data).Hash());
        Assert.Throws<ConfigException>(() => (spec with { ConfigOverrides = """{"batchSize": 9}""" }).Config(data));
        Assert.Equal(4, (spec with { ConfigOverrides = """{"batchSize": 4}""" }).Config(data, out var none).BatchSize);
        Assert.Empty(none);
    }

    [Fact]
    public void Shapes_other_than_the_presets_are_named_with_the_file_and_both_values()
    {
        using var data = DatasetOpener.Open("synth:clips=12,classes=3,segments=6,audio=128,video=64,grid=7,text=0,seed=1");
        var notices = DatasetTensors.FitNotices(UniCodeConfig.Small, "small", data, ModalitySet.AudioVisual);
        Assert.Equal(
        [
            $"{data.Name}: audio has segments per clip (T) 6; the preset 'small' is built for 10: the model is fitted to 6 for this run (Segments in its config)",
            $"{data.Name}: video has video feature width (Dv) 64; the preset 'small' is built for 512: the model is fitted to 64 for this run (VideoInputDim in its config)",
        ], notices);
        // only the modalities pre-trained on
        Assert.Single(DatasetTensors.FitNotices(UniCodeConfig.Small, "small", data, ModalitySet.AudioText));
    }
}
