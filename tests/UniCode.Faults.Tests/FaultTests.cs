using System.Diagnostics;
using System.Text;
using Microsoft.EntityFrameworkCore;
using UniCode.Faults.Tests.Infrastructure;
using UniCode.Persistence.Entities;
using Xunit.Abstractions;

namespace UniCode.Faults.Tests;

/// <summary>
/// Issue 10, item 3: faults injected into the real pipeline (the service executables, the private RabbitMQ and
/// PostgreSQL of <see cref="PrivateServers"/>), each case ending with the chain's final state, exact row counts (no
/// loss, no duplicate), an empty outbox and the error queues' contents (<see cref="Pipeline.AssertNoLossNoDuplicateAsync"/>).
/// Cases marked <c>[Trait("Category", "ci")]</c> also run in `make test`; `make faults` runs them all
/// (docs/job-services.md, "Fault injection").
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class FaultTests(PrivateServers servers, ITestOutputHelper output)
{
    private static readonly TimeSpan ChainTimeout = TimeSpan.FromMinutes(6);
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);

    /// <summary>40 epochs of 2 batches: 80 optimiser steps, a checkpoint every 20.</summary>
    private const int PretrainEpochs = 40;
    private const long PretrainSteps = 80;

    /// <summary>
    /// The issue's two lost chains in one: the only trainer is killed mid-pre-training and nobody replaces it — the
    /// step shows `stalled` with "no worker alive for queue …" in `unicode status` within one lease; a new trainer
    /// resumes the job; then PostgreSQL is down across the moment the job finishes (its completed.json is written while
    /// the database is away) — and the chain still completes with every row exactly once.
    /// </summary>
    [Fact]
    [Trait("Category", "ci")]
    public async Task Only_trainer_dies_is_stalled_within_a_lease_a_new_one_resumes_and_a_database_outage_across_the_end_of_pretraining_loses_nothing()
    {
        // every service but preprocessing, which a chain on a synth: dataset never calls (a shorter start in `make test`)
        await using var p = await Pipeline.StartAsync(servers, output, "stalled_and_db_at_finish", [.. Pipeline.AllServices.Where(s => s != "preprocessing")]);
        var chain = await p.SubmitAsync(PretrainEpochs);
        await p.WaitPretrainProgressAsync(chain, 20, ChainTimeout);

        p.Kill("trainer");
        var killedAt = DateTimeOffset.UtcNow;
        await p.WaitAsync(db => db.ChainSteps.AnyAsync(s => s.ChainId == chain && s.Kind == ChainStepKinds.Pretrain && s.Status == ChainStepStatuses.Stalled),
            TimeSpan.FromMinutes(1), "the pre-training step to be stalled after its only trainer was killed", chain);
        var stalled = await p.QueryAsync(db => db.ChainSteps.AsNoTracking().SingleAsync(s => s.ChainId == chain && s.Kind == ChainStepKinds.Pretrain));
        var after = stalled.UpdatedAt - killedAt;
        p.Log($"stalled {after.TotalSeconds:F1} s after the kill (lease {Pipeline.Lease.TotalSeconds} s): {stalled.Reason}");
        // within one lease of the last heartbeat, hence of the kill (one reconcile tick, 1 s here, of scheduling slack)
        Assert.True(after <= Pipeline.Lease + TimeSpan.FromSeconds(1), $"stalled {after.TotalSeconds:F1} s after the kill; the lease is {Pipeline.Lease.TotalSeconds} s");
        var queue = $"{p.Prefix}-pretrain-model";
        Assert.Contains($"no worker alive for queue {queue}", stalled.Reason);
        var status = await p.StatusAsync(chain);
        p.Log("unicode status:\n" + status);
        Assert.Contains("1 stalled", status);
        Assert.Contains("stalled ", status);
        Assert.Contains($"no worker alive for queue {queue}", status);

        await p.StartServicesAsync("trainer");
        await p.WaitAsync(db => db.ChainSteps.AnyAsync(s => s.ChainId == chain && s.Kind == ChainStepKinds.Pretrain && s.Status == ChainStepStatuses.Running),
            TimeSpan.FromMinutes(2), "the pre-training step to run again on the new trainer", chain);
        await p.WaitPretrainProgressAsync(chain, PretrainSteps - 25, ChainTimeout);

        var completed = await DatabaseDownAcrossTheEndOfPretrainingAsync(p);
        Assert.True(completed, "the pre-training job did not finish while PostgreSQL was down; the case did not test an outage at the finish");

        await p.WaitSucceededAsync(chain, ChainTimeout);
        await p.AssertNoLossNoDuplicateAsync([chain]);
        var pretrain = await p.QueryAsync(db => db.ChainSteps.AsNoTracking().SingleAsync(s => s.ChainId == chain && s.Kind == ChainStepKinds.Pretrain));
        Assert.Equal(PretrainSteps, pretrain.ProgressTotal);
        Assert.True(pretrain.Restarts >= 1, $"the pre-training step records {pretrain.Restarts} restarts after its trainer was killed");
        Assert.True(ResumedFrom(p) > 0, "the pre-training job started again from scratch instead of its last checkpoint");
    }

    /// <summary>Stops PostgreSQL, waits (bounded) for the pre-training job's completed.json, holds the outage a few seconds longer, starts it again.</summary>
    private static async Task<bool> DatabaseDownAcrossTheEndOfPretrainingAsync(Pipeline p)
    {
        Assert.True(CompletedJson(p).Length == 0, "the pre-training job finished before the outage could start; the case needs a longer job");
        await p.Servers.StopPostgresAsync();
        p.Log("PostgreSQL stopped");
        var done = false;
        try
        {
            await Poll.UntilAsync(() => Task.FromResult(done = CompletedJson(p).Length > 0), TimeSpan.FromSeconds(60),
                "the pre-training job to write completed.json while PostgreSQL is down");
            p.Log("the job finished during the outage; PostgreSQL stays down 5 s more");
            await Task.Delay(TimeSpan.FromSeconds(5));   // the outage itself: the succeeded write must ride it out
        }
        finally
        {
            await p.Servers.StartPostgresAsync();
            p.Log("PostgreSQL started again");
        }
        return done;
    }

    private static string[] CompletedJson(Pipeline p)
    {
        var dir = Path.Combine(p.WorkDirectory, "pretrain");
        return Directory.Exists(dir) ? Directory.GetFiles(dir, "completed.json", SearchOption.AllDirectories) : [];
    }

    /// <summary>The step the finished pre-training job resumed from, from the trainer's "Pre-training done at step N (resumed from K)" (0: from scratch).</summary>
    private static long ResumedFrom(Pipeline p)
    {
        var resumed = p.Logs("trainer").Select(l => System.Text.RegularExpressions.Regex.Match(l, @"Pre-training done at step \d+ \(resumed from (\d+)\)"))
            .Where(m => m.Success).Select(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(resumed.Count == 1, $"expected one \"Pre-training done\" line in the trainers' logs, found {resumed.Count}");
        return resumed[0];
    }

    [Fact]
    public async Task Trainer_killed_mid_pretraining_is_replaced_and_the_job_resumes()
    {
        await using var p = await Pipeline.StartAsync(servers, output, "kill_trainer");
        var chain = await p.SubmitAsync(PretrainEpochs);
        await p.WaitPretrainProgressAsync(chain, 40, ChainTimeout);
        p.Kill("trainer");
        await p.StartServicesAsync("trainer");
        await p.WaitSucceededAsync(chain, ChainTimeout);
        await p.AssertNoLossNoDuplicateAsync([chain]);
        var pretrain = await p.QueryAsync(db => db.ChainSteps.AsNoTracking().SingleAsync(s => s.ChainId == chain && s.Kind == ChainStepKinds.Pretrain));
        Assert.Equal(PretrainSteps, pretrain.ProgressTotal);
        Assert.True(pretrain.Restarts >= 1, $"the pre-training step records {pretrain.Restarts} restarts after its trainer was killed");
        Assert.True(ResumedFrom(p) > 0, "the pre-training job started again from scratch instead of its last checkpoint");
    }

    /// <summary>
    /// kill -9 of every other service kind while a step of the chain runs, each replaced by a new process: the
    /// orchestrator, the registry and preprocessing during pre-training (the registry's PretrainCompleted then waits in
    /// its queue), fine-tuning during a fine-tuning job, evaluation once an evaluation is dispatched.
    /// </summary>
    [Fact]
    public async Task Every_other_service_kind_killed_mid_step_and_replaced()
    {
        await using var p = await Pipeline.StartAsync(servers, output, "kill_each_kind");
        var chain = await p.SubmitAsync(PretrainEpochs, downstreamEpochs: 30);
        await p.WaitPretrainProgressAsync(chain, 10, ChainTimeout);
        p.Kill("orchestrator");
        p.Kill("registry");
        p.Kill("preprocessing");
        await p.StartServicesAsync("orchestrator", "registry", "preprocessing");

        await p.WaitAsync(db => db.ChainSteps.AnyAsync(s => s.ChainId == chain && s.Kind == ChainStepKinds.Finetune && s.ProgressStep > 0),
            ChainTimeout, "a fine-tuning step to report progress", chain);
        p.Kill("finetuning");
        await p.StartServicesAsync("finetuning");

        await p.WaitAsync(db => db.ChainSteps.AnyAsync(s => s.ChainId == chain && s.Kind == ChainStepKinds.Evaluate
                && (s.Status == ChainStepStatuses.Dispatched || s.Status == ChainStepStatuses.Running || s.Status == ChainStepStatuses.Succeeded)),
            ChainTimeout, "an evaluation step to be dispatched", chain);
        p.Kill("evaluation");
        p.Log(await p.DescribeAsync(chain));
        await p.StartServicesAsync("evaluation");

        await p.WaitSucceededAsync(chain, ChainTimeout);
        await p.AssertNoLossNoDuplicateAsync([chain]);
    }

    /// <summary>PostgreSQL restarted as the pre-training job starts (its step just dispatched) and again mid-run.</summary>
    [Fact]
    public async Task Database_restarted_as_the_job_starts_and_mid_run()
    {
        await using var p = await Pipeline.StartAsync(servers, output, "db_start_mid");
        var chain = await p.SubmitAsync(PretrainEpochs);
        await p.WaitAsync(db => db.ChainSteps.AnyAsync(s => s.ChainId == chain && s.Kind == ChainStepKinds.Pretrain && s.Status != ChainStepStatuses.Pending),
            ChainTimeout, "the pre-training step to be dispatched", chain);
        await DatabaseOutageAsync(p, "as the job starts");
        await p.WaitPretrainProgressAsync(chain, PretrainSteps / 2, ChainTimeout);
        await DatabaseOutageAsync(p, "mid-run");
        await p.WaitSucceededAsync(chain, ChainTimeout);
        await p.AssertNoLossNoDuplicateAsync([chain]);
    }

    private static async Task DatabaseOutageAsync(Pipeline p, string when)
    {
        await p.Servers.StopPostgresAsync();
        p.Log($"PostgreSQL stopped ({when}) for {Outage.TotalSeconds} s");
        try { await Task.Delay(Outage); }   // the outage itself
        finally { await p.Servers.StartPostgresAsync(); }
        p.Log("PostgreSQL started again");
    }

    /// <summary>RabbitMQ restarted mid-pre-training (every connection dropped, the trainer's delivery requeued) and again during fine-tuning.</summary>
    [Fact]
    public async Task Broker_restarted_mid_chain()
    {
        await using var p = await Pipeline.StartAsync(servers, output, "broker_restart");
        var chain = await p.SubmitAsync(PretrainEpochs, downstreamEpochs: 30);
        await p.WaitPretrainProgressAsync(chain, 20, ChainTimeout);
        await BrokerOutageAsync(p, "mid-pre-training");
        await p.WaitAsync(db => db.ChainSteps.AnyAsync(s => s.ChainId == chain && s.Kind == ChainStepKinds.Finetune && s.ProgressStep > 0),
            ChainTimeout, "a fine-tuning step to report progress", chain);
        await BrokerOutageAsync(p, "mid-fine-tuning");
        await p.WaitSucceededAsync(chain, ChainTimeout);
        await p.AssertNoLossNoDuplicateAsync([chain]);
    }

    private static async Task BrokerOutageAsync(Pipeline p, string when)
    {
        await p.Servers.StopRabbitAsync();
        p.Log($"RabbitMQ stopped ({when}) for {Outage.TotalSeconds} s");
        try { await Task.Delay(Outage); }   // the outage itself
        finally { await p.Servers.StartRabbitAsync(); }
        p.Log("RabbitMQ started again");
    }

    /// <summary>
    /// A poison message (not JSON) on the trainer's queue before anything else; the same chain submitted twice at
    /// once; after both finished, every job command, completion and registration they caused re-published twice
    /// (same message ids and bodies). The poison is in pretrain-model_error, nothing else in any error queue, and no
    /// row is duplicated.
    /// </summary>
    [Fact]
    public async Task A_poison_message_and_duplicate_submissions_commands_and_events_change_nothing()
    {
        await using var p = await Pipeline.StartAsync(servers, output, "dup_poison");
        await using var tap = new MessageTap(servers);
        string[] types = [":PretrainCompleted", ":CheckpointRegistered", ":HeadFinetuned", ":HeadEvaluated"];
        string[] commands = [$"{p.Prefix}-pretrain-model", $"{p.Prefix}-finetune-head", $"{p.Prefix}-evaluate-head"];
        var exchanges = (await servers.ExchangesAsync())
            .Where(e => (e.StartsWith(p.Prefix + ".", StringComparison.Ordinal) && types.Any(t => e.EndsWith(t, StringComparison.Ordinal))) || commands.Contains(e))
            .ToList();
        Assert.True(exchanges.Count == types.Length + commands.Length, $"exchanges to tap: found [{string.Join(", ", exchanges)}]");
        await tap.BindAsync(exchanges);

        await tap.SendRawAsync($"{p.Prefix}-pretrain-model", Encoding.UTF8.GetBytes("{ this is not a message"));
        var chains = await Task.WhenAll(p.SubmitAsync(PretrainEpochs / 4, name: "first"), p.SubmitAsync(PretrainEpochs / 4, name: "second"));
        foreach (var c in chains) await p.WaitSucceededAsync(c, ChainTimeout);

        var copies = await tap.DrainAsync();
        p.Log($"tapped {copies.Count} messages: {string.Join(", ", copies.GroupBy(m => m.Exchange).Select(g => $"{g.Key}×{g.Count()}"))}");
        Assert.True(copies.Select(m => m.Exchange).Distinct().Count() == exchanges.Count, "the tap did not see a message through every exchange");
        for (var round = 0; round < 2; round++)
            foreach (var m in copies) await tap.RepublishAsync(m);
        p.Log($"re-published {2 * copies.Count} duplicates");

        // every duplicate handled: no queue of this pipeline holds a message but the poison's error queue
        await Poll.UntilAsync(async () => (await servers.QueuesAsync()).Where(q => q.Key.StartsWith(p.Prefix + "-", StringComparison.Ordinal)
                && !q.Key.EndsWith("_error", StringComparison.Ordinal) && !q.Key.EndsWith("_skipped", StringComparison.Ordinal)).All(q => q.Value == 0),
            TimeSpan.FromMinutes(3), "the duplicates to be consumed (every queue of the pipeline empty)",
            async () => string.Join(", ", (await servers.QueuesAsync()).Where(q => q.Value > 0).Select(q => $"{q.Key}={q.Value}")));
        // the last duplicate's effects (an event a consumer published in turn) are consumed too
        await Poll.UntilAsync(async () => (await servers.QueuesAsync()).Where(q => q.Key.StartsWith(p.Prefix + "-", StringComparison.Ordinal)
                && !q.Key.EndsWith("_error", StringComparison.Ordinal)).All(q => q.Value == 0),
            TimeSpan.FromMinutes(1), "every queue of the pipeline to stay empty");

        await p.AssertNoLossNoDuplicateAsync(chains, new Dictionary<string, long> { ["pretrain-model_error"] = 1 });
    }
}
