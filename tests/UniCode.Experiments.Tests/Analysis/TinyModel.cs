using UniCode.Model;
using UniCode.Model.Config;

namespace UniCode.Experiments.Tests.Analysis;

/// <summary>A randomly initialised model small enough to run in milliseconds (the small preset shrunk, as the model tests' toy config).</summary>
internal static class TinyModel
{
    public static UniCodeConfig Config(DatasetTensors data, long seed = 1) => data.Fit(UniCodeConfig.Small with
    {
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
        Seed = seed,
    }).WithMethod(Method.UniCode);

    public static UniCodeModel Build(DatasetTensors data)
    {
        TorchSharp.torch.manual_seed(5);
        return new UniCodeModel(Config(data));
    }
}
