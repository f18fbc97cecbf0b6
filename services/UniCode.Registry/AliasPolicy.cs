using System.Text.RegularExpressions;
using UniCode.Persistence.Artifacts;

namespace UniCode.Registry;

/// <summary>
/// Alias names (docs/registry.md). Aliases are global strings in checkpoint_aliases, each naming one
/// checkpoint. Two namespaces are the registry's own and are moved only by it, on every registration:
/// <list type="bullet">
/// <item><c>run/&lt;run id&gt;/latest</c>: the run's checkpoint with the highest step (equal steps: the later
/// created); it never moves backwards, so a re-delivered older registration cannot take it back.</item>
/// <item><c>config/&lt;config hash&gt;/&lt;dataset hash&gt;/latest</c>: the most recently created checkpoint of that
/// model config on that dataset, over all its runs (seeds, code versions); equal times: the higher step.</item>
/// </list>
/// Every other name is a user alias (e.g. <c>best</c>, <c>best-val</c>, <c>nightly</c>, <c>paper/table2</c>),
/// set and moved only by <c>SetCheckpointAlias</c>: letters, digits, '.', '_', '-' in '/'-separated segments,
/// at most <see cref="MaxLength"/> characters, and never 64 hex digits (that reads as a sha256).
/// </summary>
public static partial class AliasPolicy
{
    public const int MaxLength = 200;
    public const string RunPrefix = "run/";
    public const string ConfigPrefix = "config/";
    public const string LatestSuffix = "/latest";

    public static string RunLatest(Guid runId) => $"{RunPrefix}{runId:D}{LatestSuffix}";

    public static string ConfigLatest(string configHash, string datasetHash) => $"{ConfigPrefix}{configHash}/{datasetHash}{LatestSuffix}";

    /// <summary>True for names in the registry's own namespaces.</summary>
    public static bool IsReserved(string name) =>
        name.StartsWith(RunPrefix, StringComparison.Ordinal) || name.StartsWith(ConfigPrefix, StringComparison.Ordinal);

    /// <summary>Null when <paramref name="name"/> may be set by a user; otherwise why not.</summary>
    public static string? ValidateUserAlias(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "alias is empty; expected a name such as 'best' or 'paper/table2'";
        if (name.Length > MaxLength) return $"alias '{name[..20]}…' has {name.Length} characters; expected at most {MaxLength}";
        if (IsReserved(name))
            return $"alias '{name}' is in the registry's own namespace ('{RunPrefix}…', '{ConfigPrefix}…'), which moves on every registration; choose another name";
        if (ArtifactStore.IsSha256(name.ToLowerInvariant()))
            return $"alias '{name}' is 64 hex digits and would read as a sha256; choose another name";
        if (!UserAliasPattern().IsMatch(name))
            return $"alias '{name}' is malformed; expected letters, digits, '.', '_' or '-' in '/'-separated segments, starting with a letter or digit";
        return null;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9._-]+)*$")]
    private static partial Regex UserAliasPattern();
}
