using TorchSharp;
using UniCode.Model.Config;
using UniCode.Model.Encoders;
using static TorchSharp.torch;
using static UniCode.Model.Tests.Encoders.ModuleTestKit;

namespace UniCode.Model.Tests.Encoders;

[Collection(TorchGlobalRngCollection.Name)]
public class SemanticEncoderTests
{
    private static Tensor Input(Modality m, UniCodeConfig c, long b, long t, ScalarType dtype = ScalarType.Float32) => m switch
    {
        Modality.Audio => randn([b, t, c.AudioInputDim], dtype: dtype),
        Modality.Video => randn([b, t, c.VideoGrid, c.VideoGrid, c.VideoInputDim], dtype: dtype),
        _ => randn([b, t, 2 * c.TextLstmHidden], dtype: dtype),
    };

    [Theory]
    [InlineData(Modality.Audio, 5)]
    [InlineData(Modality.Video, 5)]
    [InlineData(Modality.Video, 7)]
    [InlineData(Modality.Text, 5)]
    public void Outputs_code_width_sequences(Modality m, int grid)
    {
        using var scope = NewDisposeScope();
        manual_seed(6);
        var c = Tiny(grid);
        using var phi = new SemanticEncoder(m, c);
        var z = phi.call(Input(m, c, 3, c.Segments));
        Assert.Equal(new long[] { 3, c.Segments, c.CodeDim }, z.shape);
        Assert.Equal(m, phi.Modality);
    }

    [Theory]
    [InlineData(Modality.Video)]
    [InlineData(Modality.Text)]
    public void Runs_in_float64(Modality m)
    {
        using var scope = NewDisposeScope();
        var c = Tiny();
        using var phi = new SemanticEncoder(m, c);
        phi.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, phi.call(Input(m, c, 2, 3, ScalarType.Float64)).dtype);
    }

    [Fact]
    public void Same_seed_gives_the_same_module_and_output_in_training_mode()
    {
        Tensor Run()
        {
            manual_seed(7);
            var c = Tiny();
            using var phi = new SemanticEncoder(Modality.Video, c);
            phi.train();
            var x = Input(Modality.Video, c, 2, 4);
            return phi.call(x);
        }
        using var scope = NewDisposeScope();
        AssertClose(Run(), Run(), atol: 0);
    }

    [Fact]
    public void Paper_video_encoder_is_pooler_plus_trm()
    {
        var c = UniCodeConfig.Paper;
        using var phi = new SemanticEncoder(Modality.Video, c);
        Assert.Equal(328_449 + 1_710_848, ParameterCount(phi));
    }
}
