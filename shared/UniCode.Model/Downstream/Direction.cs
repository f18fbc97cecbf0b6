using UniCode.Model.Config;

namespace UniCode.Model.Downstream;

/// <summary>
/// A transfer direction: the head is trained on <see cref="Train"/>'s codes and tested on
/// <see cref="Test"/>'s. Named like the paper's tables: "v2a" = train video, test audio; "v2v" in-modality.
/// </summary>
public readonly record struct Direction(Modality Train, Modality Test)
{
    public string Name => $"{Train.Letter()}2{Test.Letter()}";

    /// <summary>True when the test modality differs from the training one (zero-shot transfer).</summary>
    public bool IsCrossModal => Train != Test;

    public override string ToString() => Name;

    /// <summary>Parses "v2a", "a2t", ... .</summary>
    public static Direction Parse(string text)
    {
        var s = text.Trim().ToLowerInvariant();
        if (s.Length != 3 || s[1] != '2') throw new FormatException($"direction '{text}': expected <train>2<test> with letters a, v, t (e.g. v2a)");
        return new Direction(FromLetter(s[0], text), FromLetter(s[2], text));
    }

    private static Modality FromLetter(char c, string text) => c switch
    {
        'a' => Modality.Audio,
        'v' => Modality.Video,
        't' => Modality.Text,
        _ => throw new FormatException($"direction '{text}': '{c}' is not a modality letter: expected a, v or t"),
    };
}
