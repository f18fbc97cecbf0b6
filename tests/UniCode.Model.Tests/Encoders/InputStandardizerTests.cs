using UniCode.Model.Config;
using UniCode.Model.Encoders;
using UniCode.Model.Training;
using Xunit;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Encoders;

public sealed class InputStandardizerTests
{
    private static readonly UniCodeConfig Tiny = UniCodeConfig.Small with { AudioInputDim = 3, VideoInputDim = 2, VideoGrid = 5 };

    // 4 clips × 2 segments; audio channels: 0 → values 1..8, 1 → constant 5, 2 → a sparse channel (one 4, rest 0).
    private static (Tensor Audio, Tensor Video) Data()
    {
        var audio = zeros(4, 2, 3, dtype: ScalarType.Float64);
        for (var i = 0; i < 8; i++) audio[i / 2, i % 2, 0] = tensor((double)(i + 1));
        audio[.., .., 1] = tensor(5.0);
        audio[3, 1, 2] = tensor(4.0);
        var video = arange(4 * 2 * 5 * 5 * 2, dtype: ScalarType.Float64).reshape(4, 2, 5, 5, 2).remainder(7);
        return (audio, video);
    }

    [Theory]
    [InlineData(InputNormalization.Standardize)]
    [InlineData(InputNormalization.Center)]
    public void Fitted_statistics_centre_every_channel_and_scale_as_the_mode_says(InputNormalization mode)
    {
        var (audio, video) = Data();
        using var source = new TensorBatchSource(audio, video, null);
        using var s = new InputStandardizer(Tiny with { InputNormalization = mode, Precision = Precision.Float64 });
        Assert.False(s.IsFitted);
        s.Fit(source, batchSize: 3);   // batches that do not divide the clips: the sums still cover every clip once
        Assert.True(s.IsFitted);

        var a = s.Apply(Modality.Audio, audio).reshape(-1, 3);
        var mean = a.mean([0]).data<double>().ToArray();
        Assert.All(mean, m => Assert.Equal(0, m, 12));
        var std = a.std([0], unbiased: false).data<double>().ToArray();
        // hand-computed population σ of the raw channels: 1..8 → √5.25; constant → 0 (kept at 0, not divided); sparse → √(16/8 − (4/8)²) = √1.75
        if (mode == InputNormalization.Standardize)
        {
            Assert.Equal(1, std[0], 12);
            Assert.Equal(0, std[1], 12);
            Assert.Equal(1, std[2], 12);
        }
        else
        {
            var pooled = Math.Sqrt((5.25 + 0 + 1.75) / 3);   // one σ for the modality: √(mean channel variance)
            Assert.Equal(Math.Sqrt(5.25) / pooled, std[0], 12);
            Assert.Equal(0, std[1], 12);
            Assert.Equal(Math.Sqrt(1.75) / pooled, std[2], 12);
        }
        var v = s.Apply(Modality.Video, video).reshape(-1, 2);
        Assert.All(v.mean([0]).data<double>().ToArray(), m => Assert.Equal(0, m, 12));
    }

    [Fact]
    public void None_is_the_identity()
    {
        var (audio, _) = Data();
        using var s = new InputStandardizer(Tiny with { InputNormalization = InputNormalization.None, Precision = Precision.Float64 });
        Assert.True(s.IsFitted);
        Assert.True(s.Apply(Modality.Audio, audio).allclose(audio, rtol: 0, atol: 0));
    }
}
