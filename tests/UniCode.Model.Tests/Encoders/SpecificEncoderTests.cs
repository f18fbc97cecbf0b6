using TorchSharp;
using UniCode.Model.Config;
using UniCode.Model.Encoders;
using static TorchSharp.torch;
using static UniCode.Model.Tests.Encoders.ModuleTestKit;
using F = TorchSharp.torch.nn.functional;

namespace UniCode.Model.Tests.Encoders;

[Collection(TorchGlobalRngCollection.Name)]
public class SpecificEncoderTests
{
    [Fact]
    public void Audio_and_text_are_relu_linear_and_their_own_club_target()
    {
        using var scope = NewDisposeScope();
        manual_seed(8);
        var c = Tiny();
        foreach (var (m, inDim, outDim) in new[] { (Modality.Audio, c.AudioInputDim, c.AudioSpecificDim), (Modality.Text, 2 * c.TextLstmHidden, c.TextSpecificDim) })
        {
            using var psi = new SpecificEncoder(m, c);
            var x = randn(2, 3, inDim);
            var e = psi.call(x);
            Assert.Equal(new long[] { 2, 3, outDim }, e.Features.shape);
            Assert.Same(e.Features, e.ClubTarget);
            Assert.Equal(outDim, psi.ClubTargetDim);
            AssertClose(F.relu(F.linear(x, Param(psi, "linear.weight"), Param(psi, "linear.bias"))), e.Features, atol: 1e-6);
            Assert.Equal(0, e.Features.min().item<float>());   // ReLU: some entries clipped at 0, none below
        }
    }

    [Theory]
    [InlineData(5)]
    [InlineData(7)]
    public void Video_gives_a_shrunk_channels_last_map_and_a_pooled_club_target(int grid)
    {
        using var scope = NewDisposeScope();
        manual_seed(9);
        var c = Tiny(grid);
        using var psi = new SpecificEncoder(Modality.Video, c);
        var e = psi.call(randn([2, 3, grid, grid, c.VideoInputDim]));
        Assert.Equal(new long[] { 2, 3, grid - 4, grid - 4, c.VideoSpecificWidth }, e.Features.shape);
        Assert.Equal(new long[] { 2, 3, c.VideoClubFeatureDim }, e.ClubTarget.shape);
        Assert.Equal(c.VideoClubFeatureDim, psi.ClubTargetDim);
        Assert.True(e.Features.min().item<float>() >= 0);     // the residual block ends with ReLU

        // The CLUB target is the MLP of the map averaged over the grid.
        var pooled = e.Features.mean([2, 3]);
        var expected = F.linear(F.relu(F.linear(pooled, Param(psi, "club_hidden.weight"), Param(psi, "club_hidden.bias"))),
            Param(psi, "club_out.weight"), Param(psi, "club_out.bias"));
        AssertClose(expected, e.ClubTarget, atol: 1e-5);
    }

    [Fact]
    public void Rejects_a_wrong_grid()
    {
        using var scope = NewDisposeScope();
        var c = Tiny(5);
        using var psi = new SpecificEncoder(Modality.Video, c);
        var ex = Assert.Throws<ArgumentException>(() => psi.call(randn([1, 2, 7, 7, c.VideoInputDim])));
        Assert.Contains("[B, T, 5, 5, 12]", ex.Message);
    }

    [Fact]
    public void Paper_sizes_match_the_reference_parameter_counts()
    {
        var c = UniCodeConfig.Paper;
        // docs/reference-behaviour.md §6: video-specific conv encoder incl. its CLUB-feature MLP, audio-specific, text-specific.
        using (var video = new SpecificEncoder(Modality.Video, c)) Assert.Equal(72_358_400, ParameterCount(video));
        using (var audio = new SpecificEncoder(Modality.Audio, c)) Assert.Equal(33_024, ParameterCount(audio));
        using (var text = new SpecificEncoder(Modality.Text, c)) Assert.Equal(65_792, ParameterCount(text));
    }
}
