using TorchSharp;
using UniCode.Model.Config;
using UniCode.Model.Encoders;
using static TorchSharp.torch;
using static UniCode.Model.Tests.Encoders.ModuleTestKit;

namespace UniCode.Model.Tests.Encoders;

[Collection(TorchGlobalRngCollection.Name)]
public class TemporalRelationModuleTests
{
    [Fact]
    public void Maps_batch_first_sequences_to_code_width()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var c = Tiny();
        using var trm = new TemporalRelationModule("trm", 8, c);
        var y = trm.call(randn(3, 5, 8));
        Assert.Equal(new long[] { 3, 5, c.CodeDim }, y.shape);
        Assert.Throws<ArgumentException>(() => trm.call(randn(3, 5, 7)));
    }

    [Fact]
    public void Has_no_positional_encoding_and_keeps_batch_items_apart()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        using var trm = new TemporalRelationModule("trm", 8, Tiny());
        trm.eval();
        var x = randn(2, 5, 8);
        var y = trm.call(x);

        // Permuting time permutes the output the same way: no position information, no mask.
        var perm = tensor(new long[] { 3, 0, 4, 1, 2 });
        var yPermuted = trm.call(x.index_select(1, perm));
        AssertClose(y.index_select(1, perm), yPermuted, atol: 1e-5);

        // Attention runs over time within one item: changing item 1 leaves item 0 alone (batch-first handled right).
        var x2 = x.clone();
        x2[1] = randn(5, 8);
        var y2 = trm.call(x2);
        AssertClose(y[0], y2[0], atol: 1e-6);
        Assert.True(y[1].sub(y2[1]).abs().max().item<float>() > 1e-3);
    }

    [Fact]
    public void Dropout_is_active_in_training_mode_only()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var trm = new TemporalRelationModule("trm", 8, Tiny() with { Dropout = 0.5 });
        var x = randn(2, 4, 8);
        trm.train();
        Assert.True(trm.call(x).sub(trm.call(x)).abs().max().item<float>() > 1e-3);
        trm.eval();
        AssertClose(trm.call(x), trm.call(x), atol: 0);
    }

    [Fact]
    public void Paper_sizes_match_the_reference_used_parameter_counts()
    {
        // docs/reference-behaviour.md §6: TRM parameters used in forward (the reference's unused template layer excluded).
        var c = UniCodeConfig.Paper;
        using (var audio = new TemporalRelationModule("a", c.AudioInputDim, c)) Assert.Equal(1_612_544, ParameterCount(audio));
        using (var video = new TemporalRelationModule("v", c.VideoInputDim, c)) Assert.Equal(1_710_848, ParameterCount(video));
        using (var text = new TemporalRelationModule("t", 2 * c.TextLstmHidden, c)) Assert.Equal(1_645_312, ParameterCount(text));
    }
}
