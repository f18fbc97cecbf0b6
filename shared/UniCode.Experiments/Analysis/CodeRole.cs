using UniCode.Model.Config;

namespace UniCode.Experiments.Analysis;

/// <summary>What a code is used for (paper Fig. 4): unused, mostly one modality's, or shared.</summary>
public enum CodeRoleKind
{
    /// <summary>No token of any modality chose the code.</summary>
    Unused,
    /// <summary>More than the threshold (e.g. 80%) of the code's uses come from one modality.</summary>
    Mostly,
    /// <summary>Used, and no modality accounts for more than the threshold of its uses.</summary>
    Shared,
}

/// <summary>The role of one code; <see cref="Modality"/> is set exactly when <see cref="Kind"/> is <see cref="CodeRoleKind.Mostly"/>.</summary>
public readonly record struct CodeRole(CodeRoleKind Kind, Modality? Modality)
{
    public static CodeRole Unused => new(CodeRoleKind.Unused, null);
    public static CodeRole Shared => new(CodeRoleKind.Shared, null);
    public static CodeRole Mostly(Modality m) => new(CodeRoleKind.Mostly, m);

    /// <summary>"unused", "shared", "mostly audio" …</summary>
    public override string ToString() => Kind switch
    {
        CodeRoleKind.Mostly => $"mostly {Modality!.Value.ToString().ToLowerInvariant()}",
        CodeRoleKind.Shared => "shared",
        _ => "unused",
    };
}
