using UniCode.Model.Config;
using UniCode.Model.Training;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Training;

/// <summary>A tiny config and structured audio-visual toy data for training tests.</summary>
public static class ToyData
{
    /// <summary>The small preset shrunk further so that hundreds of steps take seconds.</summary>
    public static UniCodeConfig TinyConfig(Method method = Method.UniCode, long seed = 1) => (UniCodeConfig.Small with
    {
        AudioInputDim = 16,
        VideoInputDim = 16,
        VideoGrid = 5,
        CodeDim = 32,
        TrmHeads = 4,
        TrmFeedForwardDim = 64,
        VideoPoolerGateDim = 4,
        VideoPoolerAttentionDim = 16,
        TextTokenDim = 16,
        TextLstmHidden = 8,
        AudioSpecificDim = 16,
        TextSpecificDim = 16,
        VideoSpecificWidth = 16,
        VideoSpecificMidWidth = 8,
        VideoClubHiddenDim = 8,
        VideoClubFeatureDim = 16,
        CodebookSize = 32,
        ClubHiddenDim = 32,
        ClubEstimatorSteps = 2,
        CpcHiddenDim = 32,
        BatchSize = 16,
        LearningRate = 1e-3,
        ResetAfterForwards = 30,
        ResetActiveWindow = 10,
        Seed = seed,
    }).WithMethod(method);

    /// <summary>
    /// Clips of <paramref name="classes"/> classes: each modality shows its own fixed projection of the
    /// class prototype at every second (video on every cell), plus a per-clip style and noise.
    /// </summary>
    public static TensorBatchSource AudioVisual(UniCodeConfig c, int clips, int classes, long seed, bool withText = false)
    {
        using var scope = NewDisposeScope();
        var g = new Generator((ulong)seed);
        var prototypes = randn([classes, 8], generator: g);
        var pa = randn([8, c.AudioInputDim], generator: g);
        var pv = randn([8, c.VideoInputDim], generator: g);
        var pt = randn([8, c.TextTokenDim], generator: g);
        var labels = randint(0, classes, [clips], generator: g);
        var semantic = prototypes.index_select(0, labels);                                   // [N,8]
        Tensor Seq(Tensor projection, int dim)
        {
            var content = semantic.matmul(projection).unsqueeze(1).expand(clips, c.Segments, dim);
            var style = 0.5f * randn([clips, 1, dim], generator: g);
            var noise = 0.1f * randn([clips, c.Segments, dim], generator: g);
            return content + style + noise;
        }
        var audio = Seq(pa, c.AudioInputDim);
        var video = Seq(pv, c.VideoInputDim).unsqueeze(2).unsqueeze(2)
            .expand(clips, c.Segments, c.VideoGrid, c.VideoGrid, c.VideoInputDim)
            + 0.1f * randn([clips, c.Segments, c.VideoGrid, c.VideoGrid, c.VideoInputDim], generator: g);
        var text = withText ? Seq(pt, c.TextTokenDim) : null;
        return new TensorBatchSource(audio, video, text);
    }
}
