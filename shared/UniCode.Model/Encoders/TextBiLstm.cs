using TorchSharp;
using TorchSharp.Modules;
using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Model.Encoders;

/// <summary>
/// The trainable text front end (docs/reference-behaviour.md §1.2): a <see cref="UniCodeConfig.TextLstmLayers"/>-layer
/// bidirectional LSTM over the frozen BERT token vectors, zero initial state, no masking (padding tokens are
/// zero vectors that still pass through the recurrence, as in the reference).
/// [B, T, TextTokenDim] → [B, T, 2·TextLstmHidden]. Its output is both Φ_t's and Ψ_t's input and the text
/// reconstruction target.
/// </summary>
public sealed class TextBiLstm : nn.Module<Tensor, Tensor>
{
    private readonly LSTM lstm;
    private readonly int tokenDim;

    public TextBiLstm(UniCodeConfig c) : base("text_bilstm")
    {
        tokenDim = c.TextTokenDim;
        OutputDim = 2 * c.TextLstmHidden;
        lstm = nn.LSTM(c.TextTokenDim, c.TextLstmHidden, c.TextLstmLayers, batchFirst: true, bidirectional: true);
        RegisterComponents();
    }

    /// <summary>2·TextLstmHidden: forward and backward hidden states side by side.</summary>
    public int OutputDim { get; }

    public override Tensor forward(Tensor tokens)
    {
        if (tokens.ndim != 3 || tokens.shape[2] != tokenDim)
            throw new ArgumentException($"TextBiLstm: input shape [{string.Join(", ", tokens.shape)}], expected [B, T, {tokenDim}]");
        // No initial state: TorchSharp then starts from zeros of the input's dtype and device.
        var (output, hN, cN) = lstm.call(tokens);
        hN.Dispose();
        cN.Dispose();
        return output;
    }
}
