using UniCode.Model.Config;

namespace UniCode.Model.Tests.Config;

public class UniCodeConfigTests
{
    [Theory]
    [InlineData("paper")]
    [InlineData("reduced")]
    [InlineData("small")]
    public void Presets_are_valid(string name) => UniCodeConfig.Preset(name).Validate();

    [Fact]
    public void Paper_preset_has_the_reference_hyper_parameters()
    {
        var c = UniCodeConfig.Paper;
        Assert.Equal((256, 400, 0.99, 1e-5), (c.CodeDim, c.CodebookSize, c.EmaDecay, c.EmaEpsilon));
        Assert.Equal((0.5, 0.25), (c.CommitmentSelf, c.CommitmentCross));
        Assert.Equal((300, 100), (c.ResetAfterForwards, c.ResetActiveWindow));
        Assert.Equal((4e-4, 0.5, 80, 6), (c.LearningRate, c.GradientClip, c.BatchSize, c.Epochs));
        Assert.Equal((2048, 1024, 1024, 512), (c.VideoSpecificWidth, c.VideoSpecificMidWidth, c.VideoClubHiddenDim, c.VideoClubFeatureDim));
        Assert.Equal((5, 1e-3), (c.ClubEstimatorSteps, c.ClubLearningRate));
        Assert.Equal(EmaForm.Reference, c.EmaForm);
        Assert.Equal(ResetRule.AnyModality, c.ResetRule);
        Assert.Equal(CmcmForm.Reference, c.CmcmForm);
        Assert.False(c.CountUnusedInEval);   // the reference's eval-mode reset is a bug: opt-in only
    }

    [Fact]
    public void Pretraining_is_lengthened_to_the_minimum_steps_in_whole_epochs_and_never_shortened()
    {
        // The reference's own data: 40K clips at batch 80 = 500 steps an epoch, 6 epochs: the minimum changes nothing.
        Assert.Equal(6, UniCodeConfig.Paper.PretrainEpochsFor(500));
        // 480 clips at batch 32 = 15 steps an epoch: 6 epochs would be 90 steps; ⌈500 / 15⌉ = 34 epochs = 510 steps.
        Assert.Equal(34, UniCodeConfig.Small.PretrainEpochsFor(15));
        Assert.Equal(6, (UniCodeConfig.Small with { PretrainMinSteps = 0 }).PretrainEpochsFor(15));   // the reference: epochs only
        Assert.Equal(500, (UniCodeConfig.Small with { PretrainMinSteps = 500 }).PretrainEpochsFor(1));
        var e = Assert.Throws<ConfigException>(() => (UniCodeConfig.Small with { PretrainMinSteps = -1 }).Validate());
        Assert.Contains("PretrainMinSteps", e.Message);
    }

    [Fact]
    public void A_bad_field_is_named_with_its_value_and_what_is_expected()
    {
        var e = Assert.Throws<ConfigException>(() => (UniCodeConfig.Small with { TrmHeads = 5 }).Validate());
        Assert.Equal("TrmHeads", e.Field);
        Assert.Equal("config field 'TrmHeads' = 5: expected a divisor of CodeDim=64", e.Message);

        e = Assert.Throws<ConfigException>(() => (UniCodeConfig.Small with { EmaDecay = 1.0 }).Validate());
        Assert.Equal("config field 'EmaDecay' = 1: expected in (0, 1)", e.Message);

        e = Assert.Throws<ConfigException>(() => (UniCodeConfig.Small with { Modalities = ModalitySet.Audio }).Validate());
        Assert.Equal("Modalities", e.Field);

        e = Assert.Throws<ConfigException>(() => (UniCodeConfig.Small with { VideoGrid = 4 }).Validate());
        Assert.Contains("at least 5", e.Message);

        e = Assert.Throws<ConfigException>(() => (UniCodeConfig.Small with { LearningRate = double.NaN }).Validate());
        Assert.Equal("LearningRate", e.Field);

        e = Assert.Throws<ConfigException>(() => (UniCodeConfig.Small with { CmcmForm = (CmcmForm)9 }).Validate());
        Assert.Equal("config field 'CmcmForm' = 9: expected Reference or LogSoftmax", e.Message);
    }

    [Fact]
    public void Json_round_trips_and_the_hash_is_stable_and_sensitive()
    {
        var c = UniCodeConfig.Small with { Seed = 7, Modalities = ModalitySet.AudioVisualText };
        var back = UniCodeConfig.FromJson(c.ToCanonicalJson());
        Assert.Equal(c, back);
        Assert.Equal(c.Hash(), back.Hash());
        Assert.NotEqual(c.Hash(), (c with { Seed = 8 }).Hash());
        Assert.Matches("^[0-9a-f]{64}$", c.Hash());
        Assert.Contains("\"modalities\":\"audioVisualText\"", c.ToCanonicalJson());
    }

    [Fact]
    public void Json_errors_name_the_field()
    {
        var e = Assert.Throws<ConfigException>(() => UniCodeConfig.FromJson("{\"codeDim\": \"wide\"}", "my.json"));
        Assert.Contains("codeDim", e.Message);
        Assert.Contains("my.json", e.Message);
        e = Assert.Throws<ConfigException>(() => UniCodeConfig.FromJson("{\"codeDims\": 3}", "my.json"));
        Assert.Contains("codeDims", e.Message);
        var partial = UniCodeConfig.FromJson("{\"codebookSize\": 64}");
        Assert.Equal(64, partial.CodebookSize);
        Assert.Equal(UniCodeConfig.Paper.CodeDim, partial.CodeDim);
    }

    [Fact]
    public void Methods_set_the_papers_switches()
    {
        var b = UniCodeConfig.Small.WithMethod(Method.Baseline);
        Assert.False(b.UseCmcm || b.UseClub || b.UseCpc || b.UseMultiModalEma || b.UseCodeReset);
        var cm = UniCodeConfig.Small.WithMethod(Method.Cmcm);
        Assert.True(cm.UseCmcm);
        Assert.False(cm.UseClub || cm.UseCpc || cm.UseMultiModalEma || cm.UseCodeReset);
        var d = UniCodeConfig.Small.WithMethod(Method.DcidCmcm);
        Assert.True(d.UseCmcm && d.UseClub && d.UseCpc);
        Assert.False(d.UseMultiModalEma || d.UseCodeReset);
        var u = UniCodeConfig.Small.WithMethod(Method.UniCode);
        Assert.True(u.UseCmcm && u.UseClub && u.UseCpc && u.UseMultiModalEma && u.UseCodeReset);
    }

    [Theory]
    [InlineData("av", ModalitySet.AudioVisual)]
    [InlineData("VA", ModalitySet.AudioVisual)]
    [InlineData("avt", ModalitySet.AudioVisualText)]
    [InlineData("vt", ModalitySet.VisualText)]
    public void Modality_sets_parse(string text, ModalitySet expected)
    {
        Assert.Equal(expected, ModalityExtensions.ParseModalitySet(text));
    }

    [Theory]
    [InlineData("a")]
    [InlineData("ax")]
    [InlineData("aa")]
    public void Bad_modality_sets_are_rejected(string text)
    {
        Assert.Throws<FormatException>(() => ModalityExtensions.ParseModalitySet(text));
    }
}
