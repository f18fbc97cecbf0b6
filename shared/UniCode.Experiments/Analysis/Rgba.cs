using System.Globalization;

namespace UniCode.Experiments.Analysis;

/// <summary>An 8-bit RGBA colour.</summary>
public readonly record struct Rgba(byte R, byte G, byte B, byte A = 255)
{
    public static Rgba White => new(255, 255, 255);
    public static Rgba Black => new(0, 0, 0);
    public static Rgba Transparent => new(0, 0, 0, 0);

    /// <summary>Parses "#rrggbb" or "#rrggbbaa".</summary>
    public static Rgba Parse(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        var s = hex.StartsWith('#') ? hex[1..] : hex;
        if ((s.Length != 6 && s.Length != 8) || !uint.TryParse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var v))
            throw new FormatException($"colour '{hex}': expected #rrggbb or #rrggbbaa");
        if (s.Length == 6) v = (v << 8) | 0xFF;
        return new Rgba((byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v);
    }

    /// <summary>This colour mixed towards white by <paramref name="amount"/> in [0, 1].</summary>
    public Rgba Lighten(double amount)
    {
        var t = Math.Clamp(amount, 0, 1);
        byte Mix(byte c) => (byte)Math.Round(c + (255 - c) * t);
        return new Rgba(Mix(R), Mix(G), Mix(B), A);
    }

    public override string ToString() => $"#{R:x2}{G:x2}{B:x2}{A:x2}";
}
