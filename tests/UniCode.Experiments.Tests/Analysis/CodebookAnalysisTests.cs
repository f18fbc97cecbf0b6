using UniCode.Data;
using UniCode.Experiments.Analysis;
using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Experiments.Tests.Analysis;

public sealed class CodebookAnalysisTests
{
    // 40 clips × 10 seconds; splits train 28 / val 6 / test 6; labels [T, 4 + 1].
    private const string Synth = "synth:clips=40,classes=4,video=8,audio=16,text=0,grid=5,seed=3";

    private static DatasetTensors Load(ModalitySet modalities = ModalitySet.AudioVisual) => DatasetTensors.Load(DatasetOpener.Open(Synth), modalities);

    [Fact]
    public void CountsEveryTokenOfTheSplitAndMatchesADirectEncoderPass()
    {
        using var data = Load();
        using var model = TinyModel.Build(data);
        model.train();
        var s = CodebookAnalysis.Measure(model, data, "train", batchSize: 64);

        Assert.True(model.training);   // mode restored
        Assert.Equal([Modality.Audio, Modality.Video], s.Modalities);
        Assert.Equal(32, s.CodebookSize);
        foreach (var m in s.Modalities)
        {
            Assert.Equal(28 * 10, s.Counts[m].Sum());
            Assert.Equal(28 * 10, s.Tokens[m]);
        }

        // The same codes, computed in one batch here, in eval mode.
        using var scope = NewDisposeScope();
        model.eval();
        using var _ = no_grad();
        var idx = tensor(data.Dataset.Split("train").Select(i => (long)i).ToArray());
        var a = model.CodeIndices(Modality.Audio, data.Features[Modality.Audio].index_select(0, idx));
        var v = model.CodeIndices(Modality.Video, data.Features[Modality.Video].index_select(0, idx));
        Assert.Equal(a.flatten().bincount(null, 32).data<long>().ToArray(), s.Counts[Modality.Audio]);
        Assert.Equal(v.flatten().bincount(null, 32).data<long>().ToArray(), s.Counts[Modality.Video]);
        var agreement = Assert.Single(s.Agreement);
        Assert.Equal(280, agreement.Steps);
        Assert.Equal(a.eq(v).sum().item<long>() / 280.0, agreement.SameCode, 12);
        Assert.InRange(agreement.SameClass, agreement.SameCode, 1.0);

        // Roles agree with the counts; every used code has a class in [0, C], unused ones −1.
        Assert.Equal(s.CodesUsed, s.SharedCodes + s.MostlyCodes.Values.Sum());
        for (var k = 0; k < 32; k++)
        {
            var (ca, cv) = (s.Counts[Modality.Audio][k], s.Counts[Modality.Video][k]);
            var expected = ca + cv == 0 ? CodeRole.Unused
                : ca > 0.8 * (ca + cv) ? CodeRole.Mostly(Modality.Audio)
                : cv > 0.8 * (ca + cv) ? CodeRole.Mostly(Modality.Video)
                : CodeRole.Shared;
            Assert.Equal(expected, s.Roles[k]);
            if (ca + cv == 0) Assert.Equal(-1, s.MajorityClass![k]);
            else Assert.InRange(s.MajorityClass![k], 0, 4);
        }
    }

    [Fact]
    public void BatchSizeDoesNotChangeTheResultAndNullMeansEveryClip()
    {
        using var data = Load();
        using var model = TinyModel.Build(data);
        model.eval();
        var big = CodebookAnalysis.Measure(model, data, "train", batchSize: 64);
        var small = CodebookAnalysis.Measure(model, data, "train", batchSize: 5);   // 5 batches of 5 and one of 3
        foreach (var m in big.Modalities) Assert.Equal(big.Counts[m], small.Counts[m]);
        Assert.Equal(big.Agreement[0].SameCode, small.Agreement[0].SameCode);
        Assert.Equal(big.MajorityClass, small.MajorityClass);
        Assert.False(model.training);   // left as it was (eval)

        var all = CodebookAnalysis.Measure(model, data, null, batchSize: 16);
        Assert.Equal(400, all.Tokens[Modality.Audio]);
        var test = CodebookAnalysis.Measure(model, data, "test");
        Assert.Equal(60, test.Tokens[Modality.Video]);
    }

    [Fact]
    public void RejectsDataWithoutTheModelsModalitiesAndBadArguments()
    {
        using var av = Load();
        using var model = TinyModel.Build(av);
        model.eval();
        using var audioOnly = Load(ModalitySet.Audio);
        var e = Assert.Throws<ArgumentException>(() => CodebookAnalysis.Measure(model, audioOnly, "train"));
        Assert.Contains("without video features", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => CodebookAnalysis.Measure(model, av, "train", batchSize: 0));
        Assert.Throws<KeyNotFoundException>(() => CodebookAnalysis.Measure(model, av, "nope"));
    }
}
