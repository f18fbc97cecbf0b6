using TorchSharp;
using UniCode.Model.Config;
using UniCode.Model.Decoders;
using UniCode.Model.Encoders;
using static TorchSharp.torch;
using UniCode.Model.Tests.Encoders;
using static UniCode.Model.Tests.Encoders.ModuleTestKit;
using F = TorchSharp.torch.nn.functional;

namespace UniCode.Model.Tests.Decoders;

[Collection(TorchGlobalRngCollection.Name)]
public class ModalityDecoderTests
{
    [Theory]
    [InlineData(Modality.Audio)]
    [InlineData(Modality.Text)]
    public void Audio_and_text_reconstruct_from_code_projection_and_features(Modality m)
    {
        using var scope = NewDisposeScope();
        manual_seed(10);
        var c = Tiny();
        using var psi = new SpecificEncoder(m, c);
        using var decoder = new ModalityDecoder(m, c);
        var input = randn(2, 3, m == Modality.Audio ? c.AudioInputDim : 2 * c.TextLstmHidden);
        var codes = randn(2, 3, c.CodeDim);
        var features = psi.call(input).Features;
        var y = decoder.call(codes, features);
        Assert.Equal(input.shape, y.shape);
        Assert.Equal((int)input.shape[2], decoder.OutputDim);

        // concat[code projection, features] (code first) → linear.
        var projected = F.linear(codes, Param(decoder, "code_linear.weight"), Param(decoder, "code_linear.bias"));
        var expected = F.linear(cat([projected, features], 2), Param(decoder, "reconstruct.weight"), Param(decoder, "reconstruct.bias"));
        AssertClose(expected, y, atol: 1e-5);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(7)]
    public void Video_reconstructs_the_full_grid(int grid)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var c = Tiny(grid);
        using var psi = new SpecificEncoder(Modality.Video, c);
        using var decoder = new ModalityDecoder(Modality.Video, c);
        var input = randn([2, 3, grid, grid, c.VideoInputDim]);
        var codes = randn(2, 3, c.CodeDim);
        var features = psi.call(input).Features;
        var y = decoder.call(codes, features);
        Assert.Equal(input.shape, y.shape);

        // Each (b, t) uses only its own code and map: changing one code changes that segment only.
        var codes2 = codes.clone();
        codes2[1, 2] = randn(c.CodeDim);
        var y2 = decoder.call(codes2, features);
        AssertClose(y[0], y2[0], atol: 0);
        AssertClose(y[1, TensorIndex.Slice(0, 2)], y2[1, TensorIndex.Slice(0, 2)], atol: 0);
        Assert.True(y[1, 2].sub(y2[1, 2]).abs().max().item<float>() > 1e-6);
    }

    [Fact]
    public void Video_decoder_runs_in_float64()
    {
        using var scope = NewDisposeScope();
        var c = Tiny();
        using var decoder = new ModalityDecoder(Modality.Video, c);
        decoder.to(ScalarType.Float64);
        var y = decoder.call(randn([1, 2, c.CodeDim], dtype: ScalarType.Float64), randn([1, 2, 1, 1, c.VideoSpecificWidth], dtype: ScalarType.Float64));
        Assert.Equal(new long[] { 1, 2, 5, 5, c.VideoInputDim }, y.shape);
        Assert.Equal(ScalarType.Float64, y.dtype);
    }

    [Fact]
    public void Rejects_features_of_the_wrong_width()
    {
        using var scope = NewDisposeScope();
        var c = Tiny();
        using var decoder = new ModalityDecoder(Modality.Audio, c);
        var ex = Assert.Throws<ArgumentException>(() => decoder.call(randn(2, 3, c.CodeDim), randn(2, 3, c.AudioSpecificDim + 1)));
        Assert.Contains($"[2, 3, {c.AudioSpecificDim}]", ex.Message);
    }

    [Fact]
    public void Paper_sizes_match_the_reference_parameter_counts()
    {
        // docs/reference-behaviour.md §6, without the unused 141-way heads.
        var c = UniCodeConfig.Paper;
        using (var video = new ModalityDecoder(Modality.Video, c)) Assert.Equal(36_768_000, ParameterCount(video));
        using (var audio = new ModalityDecoder(Modality.Audio, c)) Assert.Equal(131_456, ParameterCount(audio));
        using (var text = new ModalityDecoder(Modality.Text, c)) Assert.Equal(197_120, ParameterCount(text));
    }
}
