using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Pretraining;
using UniCode.Model.Checkpoints;
using UniCode.Persistence;
using UniCode.Persistence.Artifacts;
using UniCode.Persistence.Entities;
using UniCode.Persistence.Writers;
using Info = UniCode.Contracts.Registry.CheckpointInfo;

namespace UniCode.Registry;

/// <summary>What became of a registration.</summary>
public abstract record RegistrationOutcome
{
    /// <summary>The checkpoint is in the registry (<paramref name="IsNew"/>: this call added it).</summary>
    public sealed record Registered(Info Checkpoint, bool IsNew, IReadOnlyList<string> Aliases) : RegistrationOutcome;

    /// <summary>Refused, for <paramref name="Reason"/>; <paramref name="Checkpoint"/> is the request.</summary>
    public sealed record Rejected(Info Checkpoint, string Reason) : RegistrationOutcome;
}

/// <summary>What became of an alias request.</summary>
public abstract record AliasOutcome
{
    public sealed record Set(string Alias, string Sha256, string? PreviousSha256) : AliasOutcome;

    public sealed record Rejected(string Alias, string Sha256, string Reason) : AliasOutcome;
}

/// <summary>A checkpoint with its ancestors (parent first) and direct children.</summary>
public sealed record Lineage(Info Checkpoint, IReadOnlyList<Info> Ancestors, IReadOnlyList<Info> Children);

/// <summary>
/// The checkpoint registry: verifies checkpoint files, keeps them in the <see cref="ArtifactStore"/>,
/// records them in the checkpoints table with their lineage, and moves aliases (<see cref="AliasPolicy"/>).
/// Registration is idempotent: the sha256 is the primary key, and a sha registered before is answered
/// from its row without touching the file again.
/// </summary>
public sealed class CheckpointRegistry(
    IDbContextFactory<ResultsDbContext> contexts, ArtifactStore store, ILogger<CheckpointRegistry> logger)
{
    /// <summary>Where the registry keeps checkpoint files: this store.</summary>
    public ArtifactStore Store => store;

    /// <summary>
    /// Registers <paramref name="request"/>: the file (the store's copy if it has one, else the path or file:// URI
    /// in <see cref="Info.Uri"/>) must verify with <see cref="CheckpointFile.Verify"/> against the request's sha256,
    /// every field of the request must equal the file's metadata, and the run and the parent must be registered.
    /// Then the file is copied into the store, the row written, and the automatic aliases moved, in that order
    /// (a crash in between leaves at most an unreferenced stored file).
    /// </summary>
    public async Task<RegistrationOutcome> RegisterAsync(Info request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!ArtifactStore.IsSha256(request.Sha256))
            return Reject(request, $"Sha256 '{request.Sha256}' is not a sha256; expected 64 lower-case hex digits");

        await using (var context = await contexts.CreateDbContextAsync(cancellationToken))
        {
            var existing = await context.Checkpoints.AsNoTracking().SingleOrDefaultAsync(c => c.Sha256 == request.Sha256, cancellationToken);
            if (existing is not null)
            {
                if (existing.RunId != request.RunId)
                    logger.LogWarning("Checkpoint {Sha256} is already registered for run {RegisteredRun}; the request names run {RequestedRun} (the first registration stands)",
                        request.Sha256, existing.RunId, request.RunId);
                return new RegistrationOutcome.Registered(ToInfo(existing), false, await AliasesOfAsync(context, request.Sha256, cancellationToken));
            }
        }

        string path;
        if (store.Exists(request.Sha256))
        {
            path = store.PathOf(request.Sha256);
        }
        else
        {
            var local = LocalPath(request.Uri);
            if (local is null)
                return Reject(request, $"Uri '{request.Uri}' is neither an absolute path nor a file:// URI; expected where the checkpoint file is");
            if (!File.Exists(local))
                return Reject(request, $"checkpoint '{local}': file not found (Uri '{request.Uri}'); expected the checkpoint file with sha256 {request.Sha256}");
            path = local;
        }

        CheckpointMetadata meta;
        long size;
        try
        {
            (meta, _) = CheckpointFile.Verify(path, request.Sha256);
            size = new FileInfo(path).Length;
        }
        catch (CheckpointException e)
        {
            return Reject(request, e.Message);
        }

        var mismatches = Mismatches(request, meta, size);
        if (mismatches.Count > 0)
            return Reject(request, $"checkpoint '{path}': the request contradicts the file: {string.Join("; ", mismatches)}");

        await using (var context = await contexts.CreateDbContextAsync(cancellationToken))
        {
            if (!await context.Runs.AnyAsync(r => r.Id == request.RunId, cancellationToken))
                return Reject(request, $"run {request.RunId} is not in the runs table; expected the run that wrote the checkpoint to be recorded first (the chain coordinator records it when it submits the job)");
            if (meta.ParentSha256 is { } parent && !await context.Checkpoints.AnyAsync(c => c.Sha256 == parent, cancellationToken))
                return Reject(request, $"parent checkpoint {parent} (ParentSha256 in '{path}') is not registered; register the parent first");
        }

        try
        {
            // The copy is hashed as it is written: a file changed since Verify is not stored.
            if (!store.Exists(request.Sha256)) store.Put(path, request.Sha256);
        }
        catch (ArtifactHashMismatchException e)
        {
            return Reject(request, $"{e.Message} while it was copied into the artifact store");
        }

        var row = new Checkpoint
        {
            Sha256 = request.Sha256,
            RunId = request.RunId,
            Step = meta.Step,
            Epoch = meta.Epoch,
            ConfigHash = meta.ConfigHash,
            DatasetHash = meta.DatasetHash,
            Seed = meta.Seed,
            CodeVersion = meta.CodeVersion,
            ParentSha256 = meta.ParentSha256,
            Uri = store.PathOf(request.Sha256),
            SizeBytes = size,
            CreatedAt = meta.CreatedAt.ToUniversalTime(),
        };
        await using (var context = await contexts.CreateDbContextAsync(cancellationToken))
        {
            await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken);
            var inserted = await CheckpointsWriter.InsertAsync(context, row, cancellationToken);
            var now = DateTimeOffset.UtcNow;
            // run/<id>/latest: highest (step, created_at); never moves back.
            await context.Database.ExecuteSqlInterpolatedAsync($"""
                INSERT INTO checkpoint_aliases (name, checkpoint_sha256, updated_at) VALUES ({AliasPolicy.RunLatest(row.RunId)}, {row.Sha256}, {now})
                ON CONFLICT (name) DO UPDATE SET checkpoint_sha256 = EXCLUDED.checkpoint_sha256, updated_at = EXCLUDED.updated_at
                WHERE checkpoint_aliases.checkpoint_sha256 <> EXCLUDED.checkpoint_sha256
                  AND EXISTS (SELECT 1 FROM checkpoints cur WHERE cur.sha256 = checkpoint_aliases.checkpoint_sha256
                              AND (cur.step, cur.created_at) <= ({row.Step}, {row.CreatedAt}))
                """, cancellationToken);
            // config/<config>/<dataset>/latest: latest (created_at, step) over every run of that config on that dataset.
            await context.Database.ExecuteSqlInterpolatedAsync($"""
                INSERT INTO checkpoint_aliases (name, checkpoint_sha256, updated_at) VALUES ({AliasPolicy.ConfigLatest(row.ConfigHash, row.DatasetHash)}, {row.Sha256}, {now})
                ON CONFLICT (name) DO UPDATE SET checkpoint_sha256 = EXCLUDED.checkpoint_sha256, updated_at = EXCLUDED.updated_at
                WHERE checkpoint_aliases.checkpoint_sha256 <> EXCLUDED.checkpoint_sha256
                  AND EXISTS (SELECT 1 FROM checkpoints cur WHERE cur.sha256 = checkpoint_aliases.checkpoint_sha256
                              AND (cur.created_at, cur.step) <= ({row.CreatedAt}, {row.Step}))
                """, cancellationToken);
            await transaction.CommitAsync(cancellationToken);

            var stored = await context.Checkpoints.AsNoTracking().SingleAsync(c => c.Sha256 == row.Sha256, cancellationToken);
            var aliases = await AliasesOfAsync(context, row.Sha256, cancellationToken);
            logger.LogInformation("Registered checkpoint {Sha256} of run {RunId} at step {Step} ({SizeBytes} bytes, parent {ParentSha256}); aliases: {Aliases}",
                row.Sha256, row.RunId, row.Step, row.SizeBytes, row.ParentSha256 ?? "none", string.Join(", ", aliases));
            return new RegistrationOutcome.Registered(ToInfo(stored), inserted, aliases);
        }
    }

    /// <summary>
    /// Registers the checkpoint a pre-training run reported in <paramref name="completed"/>: the run is the job,
    /// the other fields come from the file's metadata, and its step and epoch must be the ones reported.
    /// </summary>
    public async Task<RegistrationOutcome> RegisterCompletedAsync(PretrainCompleted completed, CancellationToken cancellationToken)
    {
        var request = new Info(completed.CheckpointSha256, completed.JobId, completed.Step, completed.Epoch, null,
            completed.CheckpointUri, 0, "", "", 0, "", completed.CompletedAt);
        var path = ArtifactStore.IsSha256(completed.CheckpointSha256) && store.Exists(completed.CheckpointSha256)
            ? store.PathOf(completed.CheckpointSha256)
            : LocalPath(completed.CheckpointUri);
        if (path is not null && File.Exists(path))
        {
            try
            {
                var meta = CheckpointFile.ReadMetadata(path);
                request = request with
                {
                    ParentSha256 = meta.ParentSha256,
                    SizeBytes = new FileInfo(path).Length,
                    ConfigHash = meta.ConfigHash,
                    DatasetHash = meta.DatasetHash,
                    Seed = meta.Seed,
                    CodeVersion = meta.CodeVersion,
                    CreatedAt = meta.CreatedAt,
                };
            }
            catch (CheckpointException e)
            {
                return Reject(request, e.Message);
            }
        }
        return await RegisterAsync(request, cancellationToken);
    }

    /// <summary>Points a user alias at a registered checkpoint (creates or moves it).</summary>
    public async Task<AliasOutcome> SetAliasAsync(string alias, string sha256, CancellationToken cancellationToken)
    {
        if (AliasPolicy.ValidateUserAlias(alias) is { } why) return RejectAlias(alias, sha256, why);
        var sha = sha256?.Trim().ToLowerInvariant() ?? "";
        if (!ArtifactStore.IsSha256(sha))
            return RejectAlias(alias, sha256 ?? "", $"Sha256 '{sha256}' is not a sha256; expected 64 hex digits");
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        if (!await context.Checkpoints.AnyAsync(c => c.Sha256 == sha, cancellationToken))
            return RejectAlias(alias, sha, $"checkpoint {sha} is not registered; register it before naming it");
        var now = DateTimeOffset.UtcNow;
        var previous = await context.Database.SqlQuery<string?>($"""
            WITH previous AS (SELECT checkpoint_sha256 FROM checkpoint_aliases WHERE name = {alias})
            INSERT INTO checkpoint_aliases (name, checkpoint_sha256, updated_at) VALUES ({alias}, {sha}, {now})
            ON CONFLICT (name) DO UPDATE SET checkpoint_sha256 = EXCLUDED.checkpoint_sha256, updated_at = EXCLUDED.updated_at
            RETURNING (SELECT checkpoint_sha256 FROM previous) AS "Value"
            """).ToListAsync(cancellationToken);
        var before = previous.SingleOrDefault();
        logger.LogInformation("Alias {Alias} now names {Sha256} (before: {PreviousSha256})", alias, sha, before ?? "none");
        return new AliasOutcome.Set(alias, sha, before);
    }

    /// <summary>
    /// The checkpoint named by <paramref name="query"/>: an alias (exact), a sha256, or a unique sha256 prefix of at
    /// least 8 hex digits, in that order. Null and a reason when there is none (or the prefix is ambiguous).
    /// </summary>
    public async Task<(Info? Checkpoint, string? Reason)> FindAsync(string query, CancellationToken cancellationToken)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var (row, reason) = await FindRowAsync(context, query, cancellationToken);
        return (row is null ? null : ToInfo(row), reason);
    }

    /// <summary>The lineage of the checkpoint named by <paramref name="query"/> (see <see cref="FindAsync"/>).</summary>
    public async Task<(Lineage? Lineage, string? Reason)> LineageAsync(string query, CancellationToken cancellationToken)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var (row, reason) = await FindRowAsync(context, query, cancellationToken);
        if (row is null) return (null, reason);
        // Parents are registered before children (foreign key) and a sha cannot be its own ancestor
        // without a hash collision, so the walk ends; the depth bound is a guard, not a rule.
        var ancestors = await context.Database.SqlQuery<string>($"""
            WITH RECURSIVE chain(sha256, parent_sha256, depth) AS (
                SELECT sha256, parent_sha256, 0 FROM checkpoints WHERE sha256 = {row.Sha256}
                UNION ALL
                SELECT p.sha256, p.parent_sha256, chain.depth + 1
                FROM checkpoints p JOIN chain ON p.sha256 = chain.parent_sha256
                WHERE chain.depth < 100000)
            SELECT sha256 AS "Value" FROM chain WHERE depth > 0 ORDER BY depth
            """).ToListAsync(cancellationToken);
        var rows = await context.Checkpoints.AsNoTracking().Where(c => ancestors.Contains(c.Sha256)).ToDictionaryAsync(c => c.Sha256, cancellationToken);
        var children = await context.Checkpoints.AsNoTracking().Where(c => c.ParentSha256 == row.Sha256)
            .OrderBy(c => c.Step).ThenBy(c => c.CreatedAt).ThenBy(c => c.Sha256).ToListAsync(cancellationToken);
        return (new Lineage(ToInfo(row), ancestors.Select(s => ToInfo(rows[s])).ToList(), children.Select(ToInfo).ToList()), null);
    }

    // ------------------------------------------------------------------ helpers

    private static async Task<(Checkpoint? Row, string? Reason)> FindRowAsync(ResultsDbContext context, string query, CancellationToken cancellationToken)
    {
        var q = query?.Trim() ?? "";
        if (q.Length == 0) return (null, "the query is empty; expected a sha256, a sha256 prefix or an alias");
        var byAlias = await context.CheckpointAliases.AsNoTracking().Where(a => a.Name == q).Select(a => a.Checkpoint).SingleOrDefaultAsync(cancellationToken);
        if (byAlias is not null) return (byAlias, null);
        var hex = q.ToLowerInvariant();
        if (!hex.All(char.IsAsciiHexDigitLower))
            return (null, $"no checkpoint alias '{q}'");
        if (hex.Length == 64)
        {
            var bySha = await context.Checkpoints.AsNoTracking().SingleOrDefaultAsync(c => c.Sha256 == hex, cancellationToken);
            return bySha is null ? (null, $"no checkpoint with sha256 {hex} (and no alias '{q}')") : (bySha, null);
        }
        if (hex.Length < 8) return (null, $"no checkpoint alias '{q}' (a sha256 prefix needs at least 8 hex digits)");
        var matches = await context.Checkpoints.AsNoTracking().Where(c => c.Sha256.StartsWith(hex)).OrderBy(c => c.Sha256).Take(3).ToListAsync(cancellationToken);
        return matches.Count switch
        {
            0 => (null, $"no checkpoint alias '{q}' and no sha256 starting with {hex}"),
            1 => (matches[0], null),
            _ => (null, $"sha256 prefix {hex} matches several checkpoints ({string.Join(", ", matches.Select(m => CheckpointFile.Short(m.Sha256)))}{(matches.Count > 2 ? ", …" : "")}); give more digits"),
        };
    }

    private static async Task<IReadOnlyList<string>> AliasesOfAsync(ResultsDbContext context, string sha256, CancellationToken cancellationToken) =>
        await context.CheckpointAliases.AsNoTracking().Where(a => a.CheckpointSha256 == sha256).OrderBy(a => a.Name).Select(a => a.Name).ToListAsync(cancellationToken);

    /// <summary>Each field of the request that differs from the file, as "Field is X in the request, Y in the file".</summary>
    internal static List<string> Mismatches(Info request, CheckpointMetadata meta, long size)
    {
        var problems = new List<string>();
        void Same<T>(string field, T requested, T actual)
        {
            if (!EqualityComparer<T>.Default.Equals(requested, actual))
                problems.Add($"{field} is {Show(requested)} in the request, {Show(actual)} in the file");
        }
        Same("Step", request.Step, meta.Step);
        Same("Epoch", request.Epoch, meta.Epoch);
        Same("ParentSha256", request.ParentSha256, meta.ParentSha256);
        Same("ConfigHash", request.ConfigHash, meta.ConfigHash);
        Same("DatasetHash", request.DatasetHash, meta.DatasetHash);
        Same("Seed", request.Seed, meta.Seed);
        Same("CodeVersion", request.CodeVersion, meta.CodeVersion);
        Same("SizeBytes", request.SizeBytes, size);
        return problems;
    }

    private static string Show<T>(T value) => value is null ? "null" : $"'{value}'";

    /// <summary>The local path named by an absolute path or a file:// URI; null for anything else.</summary>
    internal static string? LocalPath(string? uri)
    {
        if (string.IsNullOrWhiteSpace(uri)) return null;
        if (uri.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
            return Uri.TryCreate(uri, UriKind.Absolute, out var u) && u.IsFile ? u.LocalPath : null;
        return Path.IsPathFullyQualified(uri) ? uri : null;
    }

    internal static Info ToInfo(Checkpoint c) => new(
        c.Sha256, c.RunId, c.Step, c.Epoch, c.ParentSha256, c.Uri, c.SizeBytes,
        c.ConfigHash, c.DatasetHash, c.Seed, c.CodeVersion, c.CreatedAt);

    private RegistrationOutcome.Rejected Reject(Info request, string reason)
    {
        logger.LogWarning("Rejected checkpoint {Sha256} of run {RunId}: {Reason}", request.Sha256, request.RunId, reason);
        return new RegistrationOutcome.Rejected(request, reason);
    }

    private AliasOutcome.Rejected RejectAlias(string alias, string sha256, string reason)
    {
        logger.LogWarning("Rejected alias {Alias} → {Sha256}: {Reason}", alias, sha256, reason);
        return new AliasOutcome.Rejected(alias, sha256, reason);
    }
}
