using UniCode.Model.Config;
using UniCode.Model.Quantizer;
using static TorchSharp.torch;
using static UniCode.Model.Tests.Quantizer.QuantizerKit;

namespace UniCode.Model.Tests.Quantizer;

/// <summary>Commitment weights (Eq. 8, reference form), the quantized output and the CMCM code distributions.</summary>
public sealed class CommitmentTests
{
    // e0=(0,0), e1=(1,0), e2=(0,1). Audio → [e0,e1], video → [e2,e1], text → [e2,e0].
    private static readonly double[] Codebook = [0, 0, 1, 0, 0, 1];
    private static readonly double[] Audio = [0.1, 0.1, 0.9, 0.2];
    private static readonly double[] Video = [0.2, 0.8, 1.0, 0.1];
    private static readonly double[] Text = [0.1, 0.7, 0.05, -0.1];
    private static readonly double[] QAudio = Gather(Codebook, 2, 0, 1);
    private static readonly double[] QVideo = Gather(Codebook, 2, 2, 1);
    private static readonly double[] QText = Gather(Codebook, 2, 2, 0);

    private static SharedCodebookQuantizer Make(ModalitySet set, bool multiModal = true, bool training = true)
    {
        var q = new SharedCodebookQuantizer(Tiny(set, 3, 2) with { UseMultiModalEma = multiModal });
        SetState(q, Codebook, 1.0);
        q.train(training);
        return q;
    }

    [Fact]
    public void Audio_visual_commits_half_to_own_code_and_a_quarter_to_the_other()
    {
        using var scope = NewDisposeScope();
        var q = Make(ModalitySet.AudioVisual);
        var output = Run(q, (Modality.Audio, Z(Audio, 1, 2, 2)), (Modality.Video, Z(Video, 1, 2, 2)));
        // MSE(a, q_a) = (0.01+0.01+0.01+0.04)/4 = 0.0175; MSE(a, q_v) = (0.01+0.81+0.01+0.04)/4 = 0.2175
        Assert.Equal(0.0175, Mse(Audio, QAudio), 12);
        Assert.Equal(0.2175, Mse(Audio, QVideo), 12);
        // Codes are the pre-EMA ones even though this training forward moved the codebook.
        Assert.Equal(0.5 * 0.0175 + 0.25 * 0.2175, Scalar(output.Commitment[Modality.Audio]), 12);
        Assert.Equal(0.5 * Mse(Video, QVideo) + 0.25 * Mse(Video, QAudio), Scalar(output.Commitment[Modality.Video]), 12);
        Near(QAudio, Host(output.Quantized[Modality.Audio]), 1e-15, "ẑ_a");
        Near(QVideo, Host(output.Quantized[Modality.Video]), 1e-15, "ẑ_v");
        Assert.False(Host(q.Codebook).SequenceEqual(Codebook));   // the EMA did run
    }

    [Fact]
    public void Three_modalities_share_the_cross_weight_an_eighth_each()
    {
        using var scope = NewDisposeScope();
        var q = Make(ModalitySet.AudioVisualText);
        var output = Run(q, (Modality.Audio, Z(Audio, 1, 2, 2)), (Modality.Video, Z(Video, 1, 2, 2)), (Modality.Text, Z(Text, 1, 2, 2)));
        Assert.Equal(new long[] { 2, 0 }, HostLong(output.Indices[Modality.Text]));
        Assert.Equal(0.5 * Mse(Audio, QAudio) + 0.125 * Mse(Audio, QVideo) + 0.125 * Mse(Audio, QText), Scalar(output.Commitment[Modality.Audio]), 12);
        Assert.Equal(0.5 * Mse(Video, QVideo) + 0.125 * Mse(Video, QAudio) + 0.125 * Mse(Video, QText), Scalar(output.Commitment[Modality.Video]), 12);
        Assert.Equal(0.5 * Mse(Text, QText) + 0.125 * Mse(Text, QAudio) + 0.125 * Mse(Text, QVideo), Scalar(output.Commitment[Modality.Text]), 12);
    }

    [Fact]
    public void Without_multi_modal_ema_each_modality_commits_to_its_own_code_only()
    {
        using var scope = NewDisposeScope();
        var q = Make(ModalitySet.AudioVisual, multiModal: false);
        var output = Run(q, (Modality.Audio, Z(Audio, 1, 2, 2)), (Modality.Video, Z(Video, 1, 2, 2)));
        Assert.Equal(0.5 * 0.0175, Scalar(output.Commitment[Modality.Audio]), 12);
        Assert.Equal(0.5 * Mse(Video, QVideo), Scalar(output.Commitment[Modality.Video]), 12);
    }

    [Fact]
    public void Code_probabilities_are_the_time_mean_of_a_softmax_over_negative_distances()
    {
        using var scope = NewDisposeScope();
        var q = Make(ModalitySet.AudioVisual, training: false);
        // B=2, T=2: the audio values as sample 0, the video values as sample 1.
        var output = Run(q, (Modality.Audio, Z([.. Audio, .. Video], 2, 2, 2)), (Modality.Video, Z([.. Video, .. Audio], 2, 2, 2)));
        var p = Host(output.CodeProbabilities[Modality.Audio]);
        Assert.Equal(new long[] { 2, 3 }, output.CodeProbabilities[Modality.Audio].shape);
        var z = new[] { Audio, Video };
        var expected = new double[6];
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < 2; t++)
            {
                var logits = new double[3];
                for (int k = 0; k < 3; k++)
                    logits[k] = -Math.Sqrt(Math.Pow(z[b][2 * t] - Codebook[2 * k], 2) + Math.Pow(z[b][2 * t + 1] - Codebook[2 * k + 1], 2));
                double sum = logits.Sum(Math.Exp);
                for (int k = 0; k < 3; k++) expected[3 * b + k] += Math.Exp(logits[k]) / sum / 2;
            }
        Near(expected, p, 1e-12, "P_a");
    }

    [Fact]
    public void Agreeing_samples_count_samples_whose_mode_codes_match()
    {
        using var scope = NewDisposeScope();
        var q = Make(ModalitySet.AudioVisual, training: false);
        // B=2, T=3. Sample 0: audio [e0,e0,e1], video [e0,e1,e0]: both modes e0. Sample 1: audio [e1,e1,e2] (mode e1), video [e2,e2,e1] (mode e2).
        double[] e0 = [0, 0], e1 = [1, 0], e2 = [0, 1];
        double[] audio = [.. e0, .. e0, .. e1, .. e1, .. e1, .. e2];
        double[] video = [.. e0, .. e1, .. e0, .. e2, .. e2, .. e1];
        var output = Run(q, (Modality.Audio, Z(audio, 2, 3, 2)), (Modality.Video, Z(video, 2, 3, 2)));
        Assert.Equal(ScalarType.Int64, output.AgreeingSamples.dtype);
        Assert.Equal(1L, output.AgreeingSamples.item<long>());
        var agreeAll = Run(q, (Modality.Audio, Z(audio, 2, 3, 2)), (Modality.Video, Z(audio, 2, 3, 2)));
        Assert.Equal(2L, agreeAll.AgreeingSamples.item<long>());
    }
}
