using TorchSharp;
using TorchSharp.Modules;
using UniCode.Model.Config;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UniCode.Model.Encoders;

/// <summary>
/// Ψ_m, the modality-specific encoder (docs/reference-behaviour.md §1.4) whose output z̄_m carries what the codes should not:
/// the decoder reconstructs from both, and CLUB (Eq. 4–5) pushes I(ẑ_m; z̄_m) down.
/// Audio: ReLU(Linear AudioInputDim → AudioSpecificDim). Text: ReLU(Linear 2·TextLstmHidden → TextSpecificDim).
/// Video, per segment on the NCHW grid: Conv3×3 (valid) ReLU → Conv3×3 (valid) ReLU → Conv1×1 →
/// <see cref="ResidualBlock"/> (ends with ReLU): a (G−4)² map of VideoSpecificWidth channels; its CLUB target is the
/// map's average → Linear → ReLU → Linear → VideoClubFeatureDim.
/// </summary>
public sealed class SpecificEncoder : nn.Module<Tensor, SpecificEncoding>
{
    private readonly Linear? linear;
    private readonly Conv2d? conv1;
    private readonly Conv2d? conv2;
    private readonly Conv2d? conv3;
    private readonly ResidualBlock? residual;
    private readonly Linear? club_hidden;
    private readonly Linear? club_out;
    private readonly int inputDim;
    private readonly int grid;

    public SpecificEncoder(Modality m, UniCodeConfig c) : base($"specific_{m.Letter()}")
    {
        Modality = m;
        switch (m)
        {
            case Modality.Audio:
                inputDim = c.AudioInputDim;
                linear = nn.Linear(c.AudioInputDim, c.AudioSpecificDim);
                FeatureDim = ClubTargetDim = c.AudioSpecificDim;
                break;
            case Modality.Text:
                inputDim = 2 * c.TextLstmHidden;
                linear = nn.Linear(2 * c.TextLstmHidden, c.TextSpecificDim);
                FeatureDim = ClubTargetDim = c.TextSpecificDim;
                break;
            case Modality.Video:
                if (c.VideoGrid < 5) throw new ConfigException(nameof(UniCodeConfig.VideoGrid), c.VideoGrid, "at least 5 (two valid 3×3 convolutions shrink it by 4)");
                inputDim = c.VideoInputDim;
                grid = c.VideoGrid;
                conv1 = nn.Conv2d(c.VideoInputDim, c.VideoSpecificMidWidth, 3);
                conv2 = nn.Conv2d(c.VideoSpecificMidWidth, c.VideoSpecificWidth, 3);
                conv3 = nn.Conv2d(c.VideoSpecificWidth, c.VideoSpecificWidth, 1);
                residual = new ResidualBlock("residual", c.VideoSpecificWidth);
                club_hidden = nn.Linear(c.VideoSpecificWidth, c.VideoClubHiddenDim);
                club_out = nn.Linear(c.VideoClubHiddenDim, c.VideoClubFeatureDim);
                FeatureDim = c.VideoSpecificWidth;
                ClubTargetDim = c.VideoClubFeatureDim;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(m), m, null);
        }
        RegisterComponents();
    }

    public Modality Modality { get; }

    /// <summary>Last dimension of <see cref="SpecificEncoding.Features"/> (channels, for video).</summary>
    public int FeatureDim { get; }

    /// <summary>Last dimension of <see cref="SpecificEncoding.ClubTarget"/>: the y width of the modality's CLUB.</summary>
    public int ClubTargetDim { get; }

    public override SpecificEncoding forward(Tensor x)
    {
        if (linear is not null)
        {
            if (x.ndim != 3 || x.shape[2] != inputDim)
                throw new ArgumentException($"SpecificEncoder({Modality}): input shape [{string.Join(", ", x.shape)}], expected [B, T, {inputDim}]");
            var f = F.relu(linear.call(x));
            return new SpecificEncoding(f, f);
        }
        if (x.ndim != 5 || x.shape[2] != grid || x.shape[3] != grid || x.shape[4] != inputDim)
            throw new ArgumentException($"SpecificEncoder(Video): input shape [{string.Join(", ", x.shape)}], expected [B, T, {grid}, {grid}, {inputDim}]");
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var nchw = x.reshape(b * t, grid, grid, inputDim).permute(0, 3, 1, 2);
        var h = F.relu(conv1!.call(nchw));
        h = F.relu(conv2!.call(h));
        h = residual!.call(conv3!.call(h));                                  // [N, W, G−4, G−4]
        var map = h.permute(0, 2, 3, 1);                                      // channels last
        var features = map.reshape(b, t, map.shape[1], map.shape[2], map.shape[3]);
        var pooled = h.mean([2, 3]).reshape(b, t, h.shape[1]);               // average over the (G−4)² grid
        var clubTarget = club_out!.call(F.relu(club_hidden!.call(pooled)));
        return new SpecificEncoding(features.MoveToOuterDisposeScope(), clubTarget.MoveToOuterDisposeScope());
    }
}
