namespace UniCode.Model.Config;

/// <summary>A modality whose feature sequences the model maps into the shared codebook.</summary>
public enum Modality
{
    Audio,
    Video,
    Text,
}

/// <summary>Which modalities a model is pre-trained on (paper §4: AV, AT, VT, AVT).</summary>
[Flags]
public enum ModalitySet
{
    None = 0,
    Audio = 1,
    Video = 2,
    Text = 4,
    AudioVisual = Audio | Video,
    AudioText = Audio | Text,
    VisualText = Video | Text,
    AudioVisualText = Audio | Video | Text,
}

public static class ModalityExtensions
{
    /// <summary>The modalities of a set in the reference's processing order: audio, video, text.</summary>
    public static IReadOnlyList<Modality> Members(this ModalitySet set)
    {
        var list = new List<Modality>(3);
        if (set.HasFlag(ModalitySet.Audio)) list.Add(Modality.Audio);
        if (set.HasFlag(ModalitySet.Video)) list.Add(Modality.Video);
        if (set.HasFlag(ModalitySet.Text)) list.Add(Modality.Text);
        return list;
    }

    public static ModalitySet ToSet(this Modality m) => m switch
    {
        Modality.Audio => ModalitySet.Audio,
        Modality.Video => ModalitySet.Video,
        Modality.Text => ModalitySet.Text,
        _ => throw new ArgumentOutOfRangeException(nameof(m), m, null),
    };

    /// <summary>Short names used on the command line and in the database: a, v, t.</summary>
    public static char Letter(this Modality m) => m switch
    {
        Modality.Audio => 'a',
        Modality.Video => 'v',
        Modality.Text => 't',
        _ => throw new ArgumentOutOfRangeException(nameof(m), m, null),
    };

    /// <summary>"av", "at", "vt" or "avt".</summary>
    public static string Code(this ModalitySet set) => string.Concat(set.Members().Select(Letter));

    /// <summary>Parses "av", "at", "vt", "avt" (any order, case-insensitive).</summary>
    public static ModalitySet ParseModalitySet(string text)
    {
        var set = ModalitySet.None;
        foreach (var c in text.Trim().ToLowerInvariant())
        {
            var m = c switch
            {
                'a' => ModalitySet.Audio,
                'v' => ModalitySet.Video,
                't' => ModalitySet.Text,
                _ => throw new FormatException($"modalities '{text}': expected letters from 'a', 'v', 't' (e.g. av, avt), got '{c}'"),
            };
            if (set.HasFlag(m)) throw new FormatException($"modalities '{text}': '{c}' appears twice");
            set |= m;
        }
        if (set.Members().Count < 2) throw new FormatException($"modalities '{text}': at least two modalities are needed (av, at, vt or avt)");
        return set;
    }
}
