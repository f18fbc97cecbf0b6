using Microsoft.EntityFrameworkCore;
using UniCode.Persistence;
using UniCode.Persistence.Artifacts;

namespace UniCode.Jobs;

/// <summary>
/// Finds the file of a checkpoint or head by its sha256: in the artifact store first, then at the uri
/// of its checkpoints row (a path or file:// URI the registry recorded).
/// </summary>
public sealed class CheckpointLocator(ArtifactStore artifacts, IDbContextFactory<ResultsDbContext> contexts)
{
    /// <exception cref="JobRejectedException">No file with that sha256 can be found (or the sha256 is malformed).</exception>
    public async Task<string> LocateAsync(string sha256, string what, CancellationToken ct)
    {
        if (!ArtifactStore.IsSha256(sha256))
            throw new JobRejectedException($"{what} '{sha256}' is not a sha256: expected 64 lower-case hex digits");
        if (artifacts.Exists(sha256)) return artifacts.PathOf(sha256);
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.Checkpoints.AsNoTracking().Where(c => c.Sha256 == sha256).Select(c => new { c.Uri }).SingleOrDefaultAsync(ct);
        var local = row is null ? null : LocalPath(row.Uri);
        if (local is not null && File.Exists(local)) return local;
        throw new JobRejectedException(
            $"{what} {sha256}: no file {artifacts.PathOf(sha256)} in the artifact store (UNICODE_ARTIFACTS) and " +
            (row is null ? "no checkpoints row" : $"the checkpoints row's uri '{row.Uri}' is not a file here"));
    }

    /// <summary>True when the checkpoints table has a row for <paramref name="sha256"/>.</summary>
    public async Task<bool> IsRegisteredAsync(string sha256, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Checkpoints.AnyAsync(c => c.Sha256 == sha256, ct);
    }

    /// <summary>An absolute path, or the local path of a file:// URI; null for anything else.</summary>
    public static string? LocalPath(string uri)
    {
        if (Path.IsPathFullyQualified(uri)) return uri;
        return Uri.TryCreate(uri, UriKind.Absolute, out var u) && u.IsFile ? u.LocalPath : null;
    }
}
