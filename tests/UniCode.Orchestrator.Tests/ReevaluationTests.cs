using System.Collections.Concurrent;
using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Quartz;
using UniCode.Contracts.Chains;
using UniCode.Contracts.Evaluation;
using UniCode.Contracts.Finetuning;
using UniCode.Messaging;
using UniCode.Orchestrator.Reevaluation;
using UniCode.Orchestrator.Tests.Support;
using UniCode.Persistence;
using UniCode.Persistence.Entities;
using Xunit.Abstractions;
using static UniCode.Orchestrator.Tests.Support.OrchestratorTestHost;

namespace UniCode.Orchestrator.Tests;

/// <summary>The nightly re-evaluation through Quartz (PostgreSQL job store, clustered), triggered on demand.</summary>
[Collection(ServerCollection.Name)]
public sealed class ReevaluationTests(ServerFixture servers, ITestOutputHelper output) : IAsyncLifetime
{
    private TestDatabase _db = null!;

    public async Task InitializeAsync()
    {
        _db = await servers.DatabaseForClassAsync(typeof(ReevaluationTests));
        await DatabaseMigrator.MigrateAsync(_db.ConnectionString, CancellationToken.None);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Records the sweeps Quartz ran and what each submitted.</summary>
    private sealed class SweepListener : IJobListener
    {
        public ConcurrentQueue<IReadOnlyList<ReevaluationSubmission>> Runs { get; } = new();
        public string Name => "test-sweep-listener";
        public ValueTask JobToBeExecuted(IJobExecutionContext context, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
        public ValueTask JobExecutionVetoed(IJobExecutionContext context, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask JobWasExecuted(IJobExecutionContext context, JobExecutionException? jobException, CancellationToken cancellationToken = default)
        {
            Runs.Enqueue(jobException is null ? (IReadOnlyList<ReevaluationSubmission>)context.Result! : throw jobException);
            return ValueTask.CompletedTask;
        }

        public async Task WaitForAsync(int runs)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (Runs.Count < runs)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Runs.Count} sweep(s) ran, expected {runs}");
                await Task.Delay(25);
            }
        }
    }

    [Fact]
    public async Task The_sweep_submits_one_reevaluation_per_missing_pair_and_a_second_trigger_submits_nothing()
    {
        // Two pre-trained checkpoints and a head; C1 has every score of the suite at the current eval
        // code version, C2 only v2a (its a2v exists, but at an older version, which does not count).
        var suite = new EvaluationSuite
        {
            Name = "ave-av-" + Guid.NewGuid().ToString("N")[..6], Task = "ave", Directions = ["v2a", "a2v"], Protocol = "held-out",
            Split = "test", Dataset = "ave:/data/AVE", FinetuneJson = """{"epochs": 3}""", Enabled = true, CreatedAt = DateTimeOffset.UtcNow,
        };
        var pretrainRun = NewRun(RunKinds.Pretrain);
        var finetuneRun = NewRun(RunKinds.Finetune);
        var evalRun = NewRun(RunKinds.Evaluate);
        var c1 = NewCheckpoint(pretrainRun, seed: 7, parent: null);
        var c2 = NewCheckpoint(pretrainRun, seed: 8, parent: null);
        var head = NewCheckpoint(finetuneRun, seed: 7, parent: c1.Sha256);   // not pre-trained: never swept
        await using (var db = ResultsDbContextOptions.CreateContext(_db.ConnectionString))
        {
            db.AddRange(suite, pretrainRun, finetuneRun, evalRun, c1, c2, head);
            db.AddRange(
                Score(evalRun, c1, "video", "audio", EvalCodeVersion), Score(evalRun, c1, "audio", "video", EvalCodeVersion),
                Score(evalRun, c2, "video", "audio", EvalCodeVersion), Score(evalRun, c2, "audio", "video", "older-eval-0"));
            await db.SaveChangesAsync();
        }

        await using var host = await CreateAsync(servers, _db, output, s => s with { RunScheduler = true });
        var scheduler = await host.Services.GetRequiredKeyedService<ISchedulerFactory>("unicode-orchestrator-" + host.Prefix).GetScheduler();
        var sweeps = new SweepListener();
        scheduler.ListenerManager.AddJobListener(sweeps, [Matchers.Key(ReevaluateCheckpointsJob.Key)]);

        // Two triggers back to back: the second sweep finds the first one's request (chain not yet running).
        await host.Bus.Publish(new TriggerReevaluation("test: first", DateTimeOffset.UtcNow));
        await host.Bus.Publish(new TriggerReevaluation("test: second", DateTimeOffset.UtcNow));
        await sweeps.WaitForAsync(2);

        var submission = Assert.Single(sweeps.Runs.SelectMany(r => r));
        var pairKey = ReevaluationPlanner.PairKey(suite, c2.Sha256, EvalCodeVersion);
        Assert.Equal(new ReevaluationSubmission(ReevaluationPlanner.ChainId(pairKey, 1), c2.Sha256, suite.Name, 1), submission);
        var submit = await host.Events.WaitForAsync<SubmitChain>(m => m.ChainId == submission.ChainId);
        var spec = JsonSerializer.Deserialize<ChainSpec>(submit.SpecJson, JsonSerializerOptions.Web)!;
        Assert.Equal((c2.Sha256, EvalCodeVersion, 8L), (spec.Checkpoint, spec.CodeVersion, Assert.Single(spec.Seeds!)));
        var task = Assert.Single(spec.Tasks);
        Assert.Equal(("ave", "ave:/data/AVE", "held-out", "test"), (task.Task, task.Dataset, task.Protocol, task.Split));
        Assert.Equal(["v2a", "a2v"], task.Directions);

        // The chain fine-tunes both heads, reuses the v2a score that exists and evaluates only a2v.
        await host.Events.WaitForAsync<ChainCompleted>(e => e.ChainId == submission.ChainId);
        var steps = (await host.StepsAsync(submission.ChainId)).ToDictionary(s => s.Label);
        Assert.Equal(["evaluate ave a2v seed=8", "evaluate ave v2a seed=8", "finetune ave audio seed=8", "finetune ave video seed=8"], steps.Keys.Order(StringComparer.Ordinal));
        Assert.Equal((ChainStepStatuses.Skipped, $"downstream_results:{evalRun.Id}"), (steps["evaluate ave v2a seed=8"].Status, steps["evaluate ave v2a seed=8"].ReusedFrom));
        Assert.Equal(ChainStepStatuses.Succeeded, steps["evaluate ave a2v seed=8"].Status);
        var evaluation = Assert.Single(host.World.Commands<EvaluateHead>());
        Assert.Equal((c2.Sha256, "audio", "video", EvalCodeVersion), (evaluation.CheckpointSha256, evaluation.SourceModality, evaluation.TargetModality, evaluation.Run.CodeVersion));
        Assert.All(host.World.Commands<FinetuneHead>(), f => Assert.Equal((c2.Sha256, 8L), (f.CheckpointSha256, f.Run.Seed)));
        Assert.Contains("\"options\":{\"epochs\":3}", host.World.Commands<FinetuneHead>()[0].Run.ConfigJson);

        // Now every pair has its scores: a third sweep submits nothing.
        await host.Bus.Publish(new TriggerReevaluation("test: third", DateTimeOffset.UtcNow));
        await sweeps.WaitForAsync(3);
        Assert.Empty(sweeps.Runs.Last());
        await using (var db = host.Db())
        {
            Assert.Equal(1, await db.ReevaluationRequests.CountAsync());
            Assert.Equal(1, await db.OutboxMessages.CountAsync(m => m.MessageType.StartsWith(typeof(SubmitChain).FullName + ",")));
        }

        // The nightly trigger is in the job store with the configured cron, in UTC.
        await using var connection = _db.OpenConnection();
        await using var command = new NpgsqlCommand(
            "SELECT c.cron_expression || ' ' || c.time_zone_id FROM qrtz_cron_triggers c WHERE c.sched_name = @s AND c.trigger_name = @t", connection);
        command.Parameters.AddWithValue("s", "unicode-orchestrator-" + host.Prefix);
        command.Parameters.AddWithValue("t", ReevaluateCheckpointsJob.NightlyTrigger.Name);
        Assert.Equal("0 0 2 * * ? UTC", await command.ExecuteScalarAsync());
    }

    private static Run NewRun(string kind) => new()
    {
        Id = Guid.NewGuid(), Kind = kind, StepKey = StepKeys.Sha256Hex(Guid.NewGuid().ToByteArray()), ConfigJson = "{}", ConfigHash = "",
        CodeVersion = CodeVersion, DatasetHash = "", Status = RunStatuses.Succeeded, CreatedAt = DateTimeOffset.UtcNow,
    };

    private static Checkpoint NewCheckpoint(Run run, long seed, string? parent) => new()
    {
        Sha256 = StepKeys.Sha256Hex(Guid.NewGuid().ToByteArray()), RunId = run.Id, Step = 100, Epoch = 1, ConfigHash = "", DatasetHash = "",
        Seed = seed, CodeVersion = CodeVersion, ParentSha256 = parent, Uri = "file:///c.ckpt", SizeBytes = 1, CreatedAt = DateTimeOffset.UtcNow,
    };

    private static DownstreamResult Score(Run run, Checkpoint checkpoint, string source, string target, string evalCodeVersion) => new()
    {
        Id = Guid.NewGuid(), RunId = run.Id, CheckpointSha256 = checkpoint.Sha256, Task = "ave", SourceModality = source, TargetModality = target,
        Split = "test", Protocol = "held-out", Metric = "accuracy", Value = 0.5, Seed = checkpoint.Seed, EvalCodeVersion = evalCodeVersion,
        DatasetHash = "", CreatedAt = DateTimeOffset.UtcNow,
    };
}
