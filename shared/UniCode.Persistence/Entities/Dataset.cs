namespace UniCode.Persistence.Entities;

/// <summary>A preprocessed dataset, identified by the hash of its content (table datasets).</summary>
public sealed class Dataset
{
    public Guid Id { get; set; }

    /// <summary>"KIND:PATH", e.g. "ave:/data/ave"; starts with <see cref="Kind"/> (check constraint).</summary>
    public required string Name { get; set; }

    /// <summary>One of <see cref="DatasetKinds.All"/>.</summary>
    public required string Kind { get; set; }

    /// <summary>sha256 (lower-case hex) of the preprocessed content. Unique: one row per content.</summary>
    public required string ContentHash { get; set; }

    public int ClipCount { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Free-form JSON (jsonb): source, splits, feature shapes. Null when there is nothing to say.</summary>
    public string? Description { get; set; }
}

/// <summary>The dataset kinds of "KIND:PATH" names.</summary>
public static class DatasetKinds
{
    public const string Ave = "ave";
    public const string VggSound = "vggsound";
    public const string Avvp = "avvp";
    public const string Npy = "npy";
    public const string Synth = "synth";

    public static IReadOnlyList<string> All { get; } = [Ave, VggSound, Avvp, Npy, Synth];
}
