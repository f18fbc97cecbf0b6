using UniCode.Model.Config;
using UniCode.Model.Losses;
using UniCode.Model.Quantizer;
using static TorchSharp.torch;
using static UniCode.Model.Tests.Quantizer.QuantizerKit;

namespace UniCode.Model.Tests.Quantizer;

/// <summary>Where gradients flow: straight-through ẑ, commitment to z only, P_m to z only, nothing to the codebook.</summary>
public sealed class GradientTests
{
    private static readonly double[] Codebook = [0, 0, 1, 0, 0, 1];
    private static readonly double[] Audio = [0.1, 0.1, 0.9, 0.2];
    private static readonly double[] Video = [0.2, 0.8, 1.0, 0.1];

    private static SharedCodebookQuantizer Make(bool training = true)
    {
        var q = new SharedCodebookQuantizer(Tiny(ModalitySet.AudioVisual, 3, 2));
        SetState(q, Codebook, 1.0);
        q.train(training);
        return q;
    }

    [Fact]
    public void Quantized_output_passes_the_gradient_straight_through()
    {
        using var scope = NewDisposeScope();
        var q = Make();
        var za = Z(Audio, 1, 2, 2, requiresGrad: true);
        var zv = Z(Video, 1, 2, 2, requiresGrad: true);
        var output = Run(q, (Modality.Audio, za), (Modality.Video, zv));
        output.Quantized[Modality.Audio].mul(za.detach().add(2)).sum().add(output.Quantized[Modality.Video].sum()).backward();
        Near([.. Audio.Select(x => x + 2)], Host(za.grad!), 1e-15, "∂/∂z_a");   // d(ẑ·w)/dz = w
        Near([1, 1, 1, 1], Host(zv.grad!), 1e-15, "∂/∂z_v");
    }

    [Fact]
    public void Commitment_gradient_reaches_z_and_never_the_codebook()
    {
        using var scope = NewDisposeScope();
        var q = Make();
        var za = Z(Audio, 1, 2, 2, requiresGrad: true);
        var zv = Z(Video, 1, 2, 2, requiresGrad: true);
        var output = Run(q, (Modality.Audio, za), (Modality.Video, zv));
        output.Commitment[Modality.Audio].backward();
        // ∂/∂z_a [0.5·mean((z_a−q_a)²) + 0.25·mean((z_a−q_v)²)] = (2·0.5·(z_a−q_a) + 2·0.25·(z_a−q_v)) / 4
        double[] qa = Gather(Codebook, 2, 0, 1), qv = Gather(Codebook, 2, 2, 1);
        Near([.. Audio.Select((z, i) => (1.0 * (z - qa[i]) + 0.5 * (z - qv[i])) / 4)], Host(za.grad!), 1e-15, "∂L_a/∂z_a");
        Assert.Null(zv.grad);   // q_v entered L_a through a stop-gradient
        Assert.Empty(q.parameters());
        Assert.All(q.buffers(), b => Assert.False(b.requires_grad));
        Assert.Null(q.Codebook.grad);
    }

    [Fact]
    public void Code_probabilities_have_the_analytic_gradient_in_z()
    {
        using var scope = NewDisposeScope();
        var q = Make(training: false);
        var weights = tensor(new double[] { 1, 2, 3 });
        double Loss(double[] audio) => Scalar(Run(q, (Modality.Audio, Z(audio, 1, 2, 2)), (Modality.Video, Z(Video, 1, 2, 2))).CodeProbabilities[Modality.Audio].mul(weights).sum());

        var za = Z(Audio, 1, 2, 2, requiresGrad: true);
        Run(q, (Modality.Audio, za), (Modality.Video, Z(Video, 1, 2, 2))).CodeProbabilities[Modality.Audio].mul(weights).sum().backward();
        var grad = Host(za.grad!);
        // Central differences, in float64.
        const double h = 1e-6;
        for (int i = 0; i < Audio.Length; i++)
        {
            var plus = (double[])Audio.Clone();
            var minus = (double[])Audio.Clone();
            plus[i] += h;
            minus[i] -= h;
            Assert.Equal((Loss(plus) - Loss(minus)) / (2 * h), grad[i], 7);
        }
        Assert.Contains(grad, g => Math.Abs(g) > 1e-3);
    }

    [Fact]
    public void A_vector_equal_to_a_code_gives_a_finite_gradient()
    {
        using var scope = NewDisposeScope();
        var q = Make(training: false);
        var za = Z([0, 0, 1, 0], 1, 2, 2, requiresGrad: true);   // exactly e0 and e1: distance 0
        var output = Run(q, (Modality.Audio, za), (Modality.Video, Z(Video, 1, 2, 2)));
        output.CodeProbabilities[Modality.Audio].select(1, 0).sum().backward();
        Assert.All(Host(za.grad!), g => Assert.True(double.IsFinite(g)));
    }

    [Fact]
    public void Backward_works_after_a_training_forward_updated_the_codebook_in_place()
    {
        using var scope = NewDisposeScope();
        var config = Tiny(ModalitySet.AudioVisual, 4, 2) with { ResetAfterForwards = 1, ResetActiveWindow = 1 };
        var q = new SharedCodebookQuantizer(config);
        SetState(q, [.. Codebook, 3, 3], 1.0);   // e3 = (3,3) is never chosen
        var za = Z(Audio, 1, 2, 2, requiresGrad: true);
        var zv = Z(Video, 1, 2, 2, requiresGrad: true);
        QuantizerOutput output = null!;
        for (int i = 0; i < 3; i++)   // every forward writes the EMA in place; the third also resets e3
            output = Run(q, (Modality.Audio, za), (Modality.Video, zv));
        Assert.Equal(new long[] { 0, 0, 2, 0, 2, 0, 0, 0 }, HostLong(Buffer(q, "unused")));   // e3's counters were zeroed by its reset
        var loss = output.Quantized[Modality.Audio].pow(2).sum()
            .add(output.Commitment[Modality.Audio]).add(output.Commitment[Modality.Video])
            .add(CmcmLoss.Compute([output.CodeProbabilities[Modality.Audio], output.CodeProbabilities[Modality.Video]]));
        loss.backward();
        Assert.All(Host(za.grad!), g => Assert.True(double.IsFinite(g)));
        Assert.All(Host(zv.grad!), g => Assert.True(double.IsFinite(g)));
    }
}
