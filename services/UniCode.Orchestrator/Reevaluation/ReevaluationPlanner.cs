using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Chains;
using UniCode.Messaging;
using UniCode.Orchestrator.Chains;
using UniCode.Persistence;
using UniCode.Persistence.Entities;
using UniCode.Persistence.Outbox;

namespace UniCode.Orchestrator.Reevaluation;

/// <summary>One re-evaluation chain submitted by a sweep.</summary>
public sealed record ReevaluationSubmission(Guid ChainId, string CheckpointSha256, string SuiteName, int Attempt);

/// <summary>
/// The re-evaluation sweep: for every registered pre-trained checkpoint × enabled evaluation suite,
/// at the current evaluation code version, a pair with a direction lacking downstream_results gets
/// one re-evaluation chain (SubmitChain through the outbox; the chain reuses every head and score
/// that exists and runs only what is missing). The submission is recorded in reevaluation_requests
/// in the same transaction, keyed by (pair key, attempt) with a deterministic chain id, so a second
/// sweep submits nothing while the first chain is pending, running or has succeeded; a pair whose
/// chain failed is submitted again, up to <see cref="OrchestratorOptions.ReevaluationMaxAttempts"/>.
/// </summary>
public sealed class ReevaluationPlanner(
    IDbContextFactory<ResultsDbContext> contextFactory,
    ChainStore store,
    OrchestratorOptions options,
    TimeProvider clock,
    ILogger<ReevaluationPlanner> logger)
{
    private static readonly string[] Retryable = [ChainStatuses.Failed, ChainStatuses.Cancelled, ChainStatuses.Rejected];

    /// <summary>The pair key: what the pair's evaluations depend on (suite contents, checkpoint, code version).</summary>
    public static string PairKey(EvaluationSuite suite, string checkpointSha256, string evalCodeVersion) =>
        StepKeys.Compute("reevaluate", SuiteJson(suite), [checkpointSha256], evalCodeVersion);

    /// <summary>The chain id of one attempt of a pair.</summary>
    public static Guid ChainId(string pairKey, int attempt) => StepKeys.JobId($"reevaluation:{pairKey}:{attempt}");

    /// <summary>Runs the sweep once; returns what it submitted.</summary>
    public async Task<IReadOnlyList<ReevaluationSubmission>> RunAsync(CancellationToken cancellationToken)
    {
        var version = options.EvalCodeVersion;
        List<EvaluationSuite> suites;
        List<(string Sha256, long Seed)> checkpoints;
        HashSet<(string, string, string, string, string, string)> scored;
        await using (var db = await contextFactory.CreateDbContextAsync(cancellationToken))
        {
            suites = await db.EvaluationSuites.AsNoTracking().Where(s => s.Enabled).OrderBy(s => s.Name).ToListAsync(cancellationToken);
            checkpoints = (await (from c in db.Checkpoints
                                  join r in db.Runs on c.RunId equals r.Id
                                  where r.Kind == RunKinds.Pretrain
                                  orderby c.CreatedAt, c.Sha256
                                  select new { c.Sha256, c.Seed }).ToListAsync(cancellationToken))
                .Select(c => (c.Sha256, c.Seed)).ToList();
            scored = (await db.DownstreamResults.AsNoTracking().Where(r => r.EvalCodeVersion == version)
                    .Select(r => new { r.CheckpointSha256, r.Task, r.SourceModality, r.TargetModality, r.Split, r.Protocol })
                    .Distinct().ToListAsync(cancellationToken))
                .Select(r => (r.CheckpointSha256, r.Task, r.SourceModality, r.TargetModality, r.Split, r.Protocol)).ToHashSet();
        }

        var missing = new List<(string Sha256, long Seed, EvaluationSuite Suite)>();
        foreach (var (sha, seed) in checkpoints)
            foreach (var suite in suites)
                if (suite.Directions.Select(Modalities).Any(d => !scored.Contains((sha, suite.Task, d.Source, d.Target, suite.Split, suite.Protocol))))
                    missing.Add((sha, seed, suite));

        var submitted = new List<ReevaluationSubmission>();
        await store.RunAsync(null, null, async db =>
        {
            submitted.Clear();   // a re-run after a conflict starts over
            var now = clock.GetUtcNow();
            foreach (var (sha, seed, suite) in missing)
            {
                var pairKey = PairKey(suite, sha, version);
                var last = await db.ReevaluationRequests.Where(r => r.PairKey == pairKey).OrderByDescending(r => r.Attempt).FirstOrDefaultAsync(cancellationToken);
                if (last is not null)
                {
                    var status = await db.Chains.Where(c => c.Id == last.ChainId).Select(c => c.Status).FirstOrDefaultAsync(cancellationToken);
                    if (status is null || !Retryable.Contains(status)) continue;   // not consumed yet, running, or succeeded
                    if (last.Attempt >= options.ReevaluationMaxAttempts)
                    {
                        logger.LogWarning("Re-evaluation of {Checkpoint} with suite {Suite} failed {Attempts} time(s); not submitted again", sha, suite.Name, last.Attempt);
                        continue;
                    }
                }
                var attempt = (last?.Attempt ?? 0) + 1;
                var chainId = ChainId(pairKey, attempt);
                db.ReevaluationRequests.Add(new ReevaluationRequest
                {
                    PairKey = pairKey, Attempt = attempt, CheckpointSha256 = sha, SuiteName = suite.Name,
                    EvalCodeVersion = version, ChainId = chainId, RequestedAt = now,
                });
                var spec = new ChainSpec
                {
                    Checkpoint = sha,
                    Seeds = [seed],
                    Finetune = suite.FinetuneJson is null ? null : JsonDocument.Parse(suite.FinetuneJson).RootElement.Clone(),
                    CodeVersion = version,
                    Tasks = [new ChainTaskSpec { Task = suite.Task, Dataset = suite.Dataset, Directions = suite.Directions, Protocol = suite.Protocol, Split = suite.Split }],
                };
                db.AddToOutbox(new SubmitChain(chainId, $"re-evaluate {sha[..12]} {suite.Name} @ {version}", JsonSerializer.Serialize(spec, JsonSerializerOptions.Web), false, now), now);
                submitted.Add(new ReevaluationSubmission(chainId, sha, suite.Name, attempt));
            }
        }, cancellationToken);

        logger.LogInformation("Re-evaluation sweep at eval code version {Version}: {Checkpoints} checkpoint(s) × {Suites} suite(s), {Missing} pair(s) without results, {Submitted} submitted",
            version, checkpoints.Count, suites.Count, missing.Count, submitted.Count);
        return submitted;
    }

    private static (string Source, string Target) Modalities(string direction)
    {
        var d = Model.Downstream.Direction.Parse(direction);
        return (d.Train.ToString().ToLowerInvariant(), d.Test.ToString().ToLowerInvariant());
    }

    private static string SuiteJson(EvaluationSuite suite) => CanonicalJson.Write(new JsonObject
    {
        ["dataset"] = suite.Dataset,
        ["directions"] = new JsonArray(suite.Directions.Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
        ["finetune"] = suite.FinetuneJson is null ? null : JsonNode.Parse(suite.FinetuneJson),
        ["protocol"] = suite.Protocol,
        ["split"] = suite.Split,
        ["task"] = suite.Task,
    });
}
