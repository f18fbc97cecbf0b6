using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using UniCode.Persistence;
using UniCode.Persistence.Entities;

namespace UniCode.Orchestrator.Chains;

/// <summary>An existing result a step can reuse instead of running.</summary>
/// <param name="ResultRef">What the step would have produced (checkpoint sha, head sha, evaluation run id).</param>
/// <param name="ResultJson">Details, when known.</param>
/// <param name="ReusedFrom">Where it was found, e.g. "chain_steps:&lt;id&gt;".</param>
/// <param name="Reason">For people, e.g. "reused the result of chain …".</param>
public sealed record CachedResult(string ResultRef, string? ResultJson, string ReusedFrom, string Reason);

/// <summary>
/// Finds the succeeded result of a step key: first in the steps of other chains, then in the results
/// tables the workers and the registry write (runs + checkpoints, downstream_results).
/// </summary>
public static class StepCache
{
    public static async Task<CachedResult?> FindAsync(ResultsDbContext db, ChainStep step, string evalCodeVersion, CancellationToken ct)
    {
        var prior = await db.ChainSteps.AsNoTracking()
            .Where(s => s.StepKey == step.StepKey && s.Id != step.Id && s.ResultRef != null
                        && (s.Status == ChainStepStatuses.Succeeded || s.Status == ChainStepStatuses.Skipped))
            .OrderBy(s => s.Status == ChainStepStatuses.Succeeded ? 0 : 1).ThenByDescending(s => s.FinishedAt)
            .Select(s => new { s.Id, s.ChainId, s.ResultRef, s.ResultJson, s.Status, s.ReusedFrom })
            .FirstOrDefaultAsync(ct);
        if (prior is not null)
        {
            // Point at the step that did the work, not at another reuse of it.
            var origin = prior.Status == ChainStepStatuses.Skipped && prior.ReusedFrom is not null ? prior.ReusedFrom : $"chain_steps:{prior.Id}";
            return new CachedResult(prior.ResultRef!, prior.ResultJson, origin, $"reused the result of step key {step.StepKey[..12]}… from chain {prior.ChainId}");
        }

        switch (step.Kind)
        {
            case ChainStepKinds.Register:
                return await db.Checkpoints.AnyAsync(c => c.Sha256 == step.CheckpointSha256, ct)
                    ? new CachedResult(step.CheckpointSha256!, null, $"checkpoints:{step.CheckpointSha256}", "the checkpoint is already registered")
                    : null;
            case ChainStepKinds.Pretrain:
            case ChainStepKinds.Finetune:
            {
                var found = await (
                        from r in db.Runs
                        where r.StepKey == step.StepKey && r.Status == RunStatuses.Succeeded
                        join c in db.Checkpoints on r.Id equals c.RunId
                        orderby c.Step descending, c.CreatedAt descending
                        select new { RunId = r.Id, c.Sha256, c.Uri })
                    .FirstOrDefaultAsync(ct);
                return found is null
                    ? null
                    : new CachedResult(found.Sha256, JsonSerializer.Serialize(new { uri = found.Uri }), $"runs:{found.RunId}", $"run {found.RunId} with this step key succeeded");
            }
            case ChainStepKinds.Evaluate:
            {
                // The natural key of downstream_results, without the dataset hash (the task names the
                // dataset; see ChainSpecParser.NameHash for why hashes may differ in form).
                var (split, protocol) = SplitAndProtocol(step);
                var rows = await db.DownstreamResults.AsNoTracking()
                    .Where(r => r.CheckpointSha256 == step.CheckpointSha256 && r.Task == step.Task
                                && r.SourceModality == step.SourceModality && r.TargetModality == step.TargetModality
                                && r.Split == split && r.Protocol == protocol && r.EvalCodeVersion == evalCodeVersion)
                    .OrderByDescending(r => r.CreatedAt)
                    .Select(r => new { r.RunId, r.Metric, r.Value })
                    .ToListAsync(ct);
                if (rows.Count == 0) return null;
                var runId = rows[0].RunId;
                var metrics = rows.Where(r => r.RunId == runId).GroupBy(r => r.Metric).ToDictionary(g => g.Key, g => g.First().Value);
                return new CachedResult(runId.ToString(), JsonSerializer.Serialize(new { metrics }), $"downstream_results:{runId}", $"downstream_results already hold this evaluation (run {runId})");
            }
            default:
                return null;
        }
    }

    private static (string Split, string Protocol) SplitAndProtocol(ChainStep step)
    {
        using var command = JsonDocument.Parse(step.CommandJson!);
        return (command.RootElement.GetProperty("Split").GetString()!, command.RootElement.GetProperty("Protocol").GetString()!);
    }
}
