using UniCode.Model.Config;
using UniCode.Model.Quantizer;
using static TorchSharp.torch;
using static UniCode.Model.Tests.Quantizer.QuantizerKit;

namespace UniCode.Model.Tests.Quantizer;

/// <summary>Multi-Modal EMA (Eq. 7, reference form) and Laplace smoothing, against hand arithmetic.</summary>
public sealed class EmaUpdateTests
{
    // L=3 codes in 2-D: e0=(0,0), e1=(1,0), e2=(0,1); every ema_count 1, ema_weight = embedding.
    private static readonly double[] Codebook = [0, 0, 1, 0, 0, 1];
    // B=1, T=2. Audio: (0.1,0.1) → e0, (0.9,0.2) → e1. Video: (0.2,0.8) → e2, (1.0,0.1) → e1.
    private static readonly double[] Audio = [0.1, 0.1, 0.9, 0.2];
    private static readonly double[] Video = [0.2, 0.8, 1.0, 0.1];

    // γ = 0.5 and ε = 0.5 make every step of the update visible in the numbers.
    private static SharedCodebookQuantizer Make(bool multiModal, EmaForm form = EmaForm.Reference)
    {
        var config = Tiny(ModalitySet.AudioVisual, 3, 2) with
        {
            EmaDecay = 0.5, EmaEpsilon = 0.5, UseMultiModalEma = multiModal, UseCodeReset = false, EmaForm = form,
        };
        var q = new SharedCodebookQuantizer(config);
        SetState(q, Codebook, 1.0);
        return q;
    }

    private static QuantizerOutput Step(SharedCodebookQuantizer q) =>
        Run(q, (Modality.Audio, Z(Audio, 1, 2, 2)), (Modality.Video, Z(Video, 1, 2, 2)));

    [Fact]
    public void Multi_modal_ema_updates_audio_then_video_with_laplace_smoothing()
    {
        using var scope = NewDisposeScope();
        var q = Make(multiModal: true);
        var output = Step(q);
        Assert.Equal(new long[] { 0, 1 }, HostLong(output.Indices[Modality.Audio]));
        Assert.Equal(new long[] { 2, 1 }, HostLong(output.Indices[Modality.Video]));

        // Audio step, O_a = one-hot of [0,1]:
        //   count = 0.5·[1,1,1] + 0.5·[1,1,0] = [1,1,0.5]; n = 2.5; count = (count+0.5)/(2.5+3·0.5)·2.5 = [0.9375,0.9375,0.625]
        //   dw row0 = 0.5·a0 + 0.5·v0 = (0.15,0.45); row1 = 0.5·a1 + 0.5·v1 = (0.95,0.15); row2 = 0
        //   weight = 0.5·E + 0.5·dw = [(0.075,0.225), (0.975,0.075), (0,0.5)]
        double[] countA = [1.5 / 4 * 2.5, 1.5 / 4 * 2.5, 1.0 / 4 * 2.5];
        double[] weightA = [0.075, 0.225, 0.975, 0.075, 0, 0.5];
        // Video step, O_v = one-hot of [2,1]:
        //   count = 0.5·countA + 0.5·[0,1,1]; n = 0.5·2.5 + 0.5·2 = 2.25; count = (count+0.5)/(2.25+1.5)·2.25
        double nV = 0.5 * 2.5 + 0.5 * 2;
        double[] countV = [.. new[] { 0.5 * countA[0], 0.5 * countA[1] + 0.5, 0.5 * countA[2] + 0.5 }.Select(c => (c + 0.5) / (nV + 1.5) * nV)];
        //   dw row2 = 0.5·v0 + 0.5·a0 = (0.15,0.45); row1 = 0.5·v1 + 0.5·a1 = (0.95,0.15); row0 = 0
        double[] weightV = [0.5 * weightA[0], 0.5 * weightA[1], 0.5 * weightA[2] + 0.5 * 0.95, 0.5 * weightA[3] + 0.5 * 0.15, 0.5 * weightA[4] + 0.5 * 0.15, 0.5 * weightA[5] + 0.5 * 0.45];
        double[] embedding = [.. weightV.Select((w, i) => w / countV[i / 2])];

        Near([0.58125, 0.88125, 0.7875], countV, 1e-12, "hand count");   // the same numbers written out
        Near(countV, Host(Buffer(q, "ema_count")), 1e-12, "ema_count");
        Near(weightV, Host(Buffer(q, "ema_weight")), 1e-12, "ema_weight");
        Near(embedding, Host(q.Codebook), 1e-12, "embedding");
    }

    [Fact]
    public void Self_only_ema_ignores_the_other_modality()
    {
        using var scope = NewDisposeScope();
        var q = Make(multiModal: false);
        Step(q);
        // Audio: dw row0 = a0 = (0.1,0.1), row1 = a1 = (0.9,0.2) → weight = [(0.05,0.05), (0.95,0.1), (0,0.5)]
        // Video: dw row2 = v0 = (0.2,0.8), row1 = v1 = (1.0,0.1) → weight = [(0.025,0.025), (0.975,0.1), (0.1,0.65)]
        double[] weight = [0.025, 0.025, 0.975, 0.1, 0.1, 0.65];
        double[] count = [0.58125, 0.88125, 0.7875];   // counts do not depend on the EMA form
        Near(count, Host(Buffer(q, "ema_count")), 1e-12, "ema_count");
        Near(weight, Host(Buffer(q, "ema_weight")), 1e-12, "ema_weight");
        Near([.. weight.Select((w, i) => w / count[i / 2])], Host(q.Codebook), 1e-12, "embedding");
    }

    [Fact]
    public void Cross_attention_form_mixes_in_an_attention_summary_of_the_other_sequence()
    {
        using var scope = NewDisposeScope();
        var q = Make(multiModal: true, EmaForm.CrossAttention);
        Step(q);
        // r_o[t] = Σ_s softmax_s(z_m[t]·z_o[s]/√2) z_o[s], computed here in plain doubles.
        var rv = Attend(Audio, Video);   // video summarised for audio's tokens
        var ra = Attend(Video, Audio);
        // Audio step updates rows 0 (t0) and 1 (t1); video step rows 2 (t0) and 1 (t1).
        double[] w = [0, 0, 1, 0, 0, 1];
        for (int i = 0; i < 6; i++) w[i] *= 0.5;
        for (int d = 0; d < 2; d++)
        {
            w[0 + d] += 0.5 * (0.5 * Audio[d] + 0.5 * rv[d]);
            w[2 + d] += 0.5 * (0.5 * Audio[2 + d] + 0.5 * rv[2 + d]);
        }
        for (int i = 0; i < 6; i++) w[i] *= 0.5;
        for (int d = 0; d < 2; d++)
        {
            w[4 + d] += 0.5 * (0.5 * Video[d] + 0.5 * ra[d]);
            w[2 + d] += 0.5 * (0.5 * Video[2 + d] + 0.5 * ra[2 + d]);
        }
        Near(w, Host(Buffer(q, "ema_weight")), 1e-12, "ema_weight");
        // Sanity: the summary is not the same-step vector, so this form really differs from the reference form.
        Assert.True(Math.Abs(rv[0] - Video[0]) > 0.05);
    }

    [Fact]
    public void Three_modalities_weight_self_half_and_each_other_a_quarter()
    {
        using var scope = NewDisposeScope();
        var config = Tiny(ModalitySet.AudioVisualText, 3, 2) with { EmaDecay = 0.5, EmaEpsilon = 1e-5, UseCodeReset = false };
        var q = new SharedCodebookQuantizer(config);
        SetState(q, Codebook, 1.0);
        // B=1, T=1: audio → e0, video → e1, text → e2, so each step writes one row.
        double[] a = [0.1, 0.0], v = [0.8, 0.1], t = [0.1, 0.9];
        var output = Run(q, (Modality.Audio, Z(a, 1, 1, 2)), (Modality.Video, Z(v, 1, 1, 2)), (Modality.Text, Z(t, 1, 1, 2)));
        Assert.Equal(new long[] { 0, 1, 2 }, new[] { Modality.Audio, Modality.Video, Modality.Text }.Select(m => HostLong(output.Indices[m])[0]).ToArray());
        // Row 0 is written at the audio step and decayed by the video and text steps; row 1 at the video step
        // (decayed before by audio, after by text); row 2 decayed twice and written at the text step.
        double[] Mix(double[] self, double[] o1, double[] o2) => [0.5 * self[0] + 0.25 * (o1[0] + o2[0]), 0.5 * self[1] + 0.25 * (o1[1] + o2[1])];
        var da = Mix(a, v, t);
        var dv = Mix(v, a, t);
        var dt = Mix(t, a, v);
        double[] expected =
        [
            0.25 * (0.5 * 0 + 0.5 * da[0]), 0.25 * (0.5 * 0 + 0.5 * da[1]),
            0.5 * (0.25 * 1 + 0.5 * dv[0]), 0.5 * (0.25 * 0 + 0.5 * dv[1]),
            0.125 * 0 + 0.5 * dt[0], 0.125 * 1 + 0.5 * dt[1],
        ];
        Near(expected, Host(Buffer(q, "ema_weight")), 1e-12, "ema_weight");
    }

    private static double[] Attend(double[] query, double[] other)
    {
        var r = new double[4];
        for (int t = 0; t < 2; t++)
        {
            var s = new double[2];
            for (int u = 0; u < 2; u++) s[u] = (query[2 * t] * other[2 * u] + query[2 * t + 1] * other[2 * u + 1]) / Math.Sqrt(2);
            double z = Math.Exp(s[0]) + Math.Exp(s[1]);
            for (int d = 0; d < 2; d++) r[2 * t + d] = (Math.Exp(s[0]) * other[d] + Math.Exp(s[1]) * other[2 + d]) / z;
        }
        return r;
    }
}
