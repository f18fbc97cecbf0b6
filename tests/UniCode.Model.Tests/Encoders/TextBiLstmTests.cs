using TorchSharp;
using UniCode.Model.Config;
using UniCode.Model.Encoders;
using static TorchSharp.torch;
using static UniCode.Model.Tests.Encoders.ModuleTestKit;

namespace UniCode.Model.Tests.Encoders;

[Collection(TorchGlobalRngCollection.Name)]
public class TextBiLstmTests
{
    [Fact]
    public void Is_batch_first_and_bidirectional()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        // One layer: with two, the second layer's forward direction reads the first layer's backward states.
        var c = Tiny() with { TextLstmLayers = 1 };
        using var lstm = new TextBiLstm(c);
        var h = c.TextLstmHidden;
        var x = randn(2, 5, c.TextTokenDim);
        var y = lstm.call(x);
        Assert.Equal(new long[] { 2, 5, 2 * h }, y.shape);
        Assert.Equal(2 * h, lstm.OutputDim);

        // Change the last token of item 0: the forward direction (first h units) is unchanged before it,
        // the backward direction (last h units) changes everywhere; item 1 is untouched.
        var x2 = x.clone();
        x2[0, 4] = randn(c.TextTokenDim);
        var y2 = lstm.call(x2);
        AssertClose(y[0, TensorIndex.Slice(0, 4), TensorIndex.Slice(0, h)], y2[0, TensorIndex.Slice(0, 4), TensorIndex.Slice(0, h)], atol: 0);
        Assert.True(y[0, 0, TensorIndex.Slice(h)].sub(y2[0, 0, TensorIndex.Slice(h)]).abs().max().item<float>() > 1e-5);
        AssertClose(y[1], y2[1], atol: 0);
    }

    [Fact]
    public void Stacks_the_configured_number_of_layers()
    {
        var c = Tiny();
        using var one = new TextBiLstm(c with { TextLstmLayers = 1 });
        using var two = new TextBiLstm(c with { TextLstmLayers = 2 });
        // Layer 2 reads the 2·h-wide output of layer 1: per direction 4h(2h + h) + 8h more parameters.
        var h = c.TextLstmHidden;
        Assert.Equal(2 * (4 * h * (2 * h + h) + 8 * h), ParameterCount(two) - ParameterCount(one));
    }

    [Fact]
    public void Runs_in_float64_with_its_zero_initial_state()
    {
        using var scope = NewDisposeScope();
        var c = Tiny();
        using var lstm = new TextBiLstm(c);
        lstm.to(ScalarType.Float64);
        var y = lstm.call(randn([2, 3, c.TextTokenDim], dtype: ScalarType.Float64));
        Assert.Equal(ScalarType.Float64, y.dtype);
    }

    [Fact]
    public void Paper_size_matches_the_reference_parameter_count()
    {
        using var lstm = new TextBiLstm(UniCodeConfig.Paper);
        Assert.Equal(1_314_816, ParameterCount(lstm));
    }
}
