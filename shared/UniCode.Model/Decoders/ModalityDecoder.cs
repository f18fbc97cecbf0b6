using TorchSharp;
using TorchSharp.Modules;
using UniCode.Model.Config;
using UniCode.Model.Encoders;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UniCode.Model.Decoders;

/// <summary>
/// The decoder of one modality (docs/reference-behaviour.md §1.6): reconstructs the modality's input from its quantized
/// semantic codes ẑ_m [B, T, D] and its specific features z̄_m (<see cref="SpecificEncoding.Features"/>).
/// Audio: concat[Linear D → AudioSpecificDim (ẑ), z̄] → Linear → AudioInputDim (the raw VGGish rows).
/// Text: concat[Linear D → TextSpecificDim (ẑ), z̄] → Linear → 2·TextLstmHidden (the BiLSTM output).
/// Video: Linear D → D (ẑ) broadcast over the (G−4)² grid, concatenated before the encoder map (code channels
/// first), ConvT3×3 → VideoSpecificMidWidth ((G−4) → (G−2)) → <see cref="ResidualBlock"/> → ConvT3×3 → Dv
/// ((G−2) → G) → ReLU → ConvT1×1 Dv → Dv: [B, T, G, G, Dv].
/// </summary>
/// <remarks>
/// The reference's audio/text code projection maps D to the specific width (<c>nn.Linear(vq_dim, input_dim)</c>);
/// with the paper's D = 256 = specific width that is the "Linear 256→256" of the spec.
/// The reference decoders also own 141-way classification heads whose outputs enter no loss; they are left out.
/// </remarks>
public sealed class ModalityDecoder : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear code_linear;
    private readonly Linear? reconstruct;
    private readonly ConvTranspose2d? deconv1;
    private readonly ResidualBlock? residual;
    private readonly ConvTranspose2d? deconv2;
    private readonly ConvTranspose2d? deconv3;
    private readonly int codeDim;
    private readonly int featureDim;
    private readonly int grid;

    public ModalityDecoder(Modality m, UniCodeConfig c) : base($"decoder_{m.Letter()}")
    {
        Modality = m;
        codeDim = c.CodeDim;
        switch (m)
        {
            case Modality.Audio:
                featureDim = c.AudioSpecificDim;
                OutputDim = c.AudioInputDim;
                code_linear = nn.Linear(c.CodeDim, c.AudioSpecificDim);
                reconstruct = nn.Linear(2 * c.AudioSpecificDim, c.AudioInputDim);
                break;
            case Modality.Text:
                featureDim = c.TextSpecificDim;
                OutputDim = 2 * c.TextLstmHidden;
                code_linear = nn.Linear(c.CodeDim, c.TextSpecificDim);
                reconstruct = nn.Linear(2 * c.TextSpecificDim, 2 * c.TextLstmHidden);
                break;
            case Modality.Video:
                if (c.VideoGrid < 5) throw new ConfigException(nameof(UniCodeConfig.VideoGrid), c.VideoGrid, "at least 5 (two valid 3×3 convolutions shrink it by 4)");
                featureDim = c.VideoSpecificWidth;
                OutputDim = c.VideoInputDim;
                grid = c.VideoGrid;
                code_linear = nn.Linear(c.CodeDim, c.CodeDim);
                deconv1 = nn.ConvTranspose2d(c.CodeDim + c.VideoSpecificWidth, c.VideoSpecificMidWidth, 3);
                residual = new ResidualBlock("residual", c.VideoSpecificMidWidth);
                deconv2 = nn.ConvTranspose2d(c.VideoSpecificMidWidth, c.VideoInputDim, 3);
                deconv3 = nn.ConvTranspose2d(c.VideoInputDim, c.VideoInputDim, 1);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(m), m, null);
        }
        RegisterComponents();
    }

    public Modality Modality { get; }

    /// <summary>Last dimension of the reconstruction (channels, for video).</summary>
    public int OutputDim { get; }

    public override Tensor forward(Tensor codes, Tensor features)
    {
        if (codes.ndim != 3 || codes.shape[2] != codeDim)
            throw new ArgumentException($"ModalityDecoder({Modality}): codes shape [{string.Join(", ", codes.shape)}], expected [B, T, {codeDim}]");
        long b = codes.shape[0], t = codes.shape[1];
        using var scope = NewDisposeScope();
        if (reconstruct is not null)
        {
            if (features.ndim != 3 || features.shape[0] != b || features.shape[1] != t || features.shape[2] != featureDim)
                throw new ArgumentException($"ModalityDecoder({Modality}): features shape [{string.Join(", ", features.shape)}], expected [{b}, {t}, {featureDim}]");
            var joined = torch.cat([code_linear.call(codes), features], 2);
            return reconstruct.call(joined).MoveToOuterDisposeScope();
        }
        long g = grid - 4;
        if (features.ndim != 5 || features.shape[0] != b || features.shape[1] != t || features.shape[2] != g || features.shape[3] != g || features.shape[4] != featureDim)
            throw new ArgumentException($"ModalityDecoder(Video): features shape [{string.Join(", ", features.shape)}], expected [{b}, {t}, {g}, {g}, {featureDim}]");
        var code = code_linear.call(codes).reshape(b * t, codeDim, 1, 1).expand(b * t, codeDim, g, g);
        var map = features.reshape(b * t, g, g, featureDim).permute(0, 3, 1, 2);
        var h = deconv1!.call(torch.cat([code, map], 1));                    // [N, Mid, G−2, G−2]
        h = residual!.call(h);
        h = F.relu(deconv2!.call(h));                               // [N, Dv, G, G]
        h = deconv3!.call(h);
        return h.permute(0, 2, 3, 1).reshape(b, t, grid, grid, OutputDim).MoveToOuterDisposeScope();
    }
}
