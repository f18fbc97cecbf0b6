using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using UniCode.Contracts.Chains;
using UniCode.Contracts.Common;
using UniCode.Contracts.Evaluation;
using UniCode.Contracts.Finetuning;
using UniCode.Contracts.Pretraining;
using UniCode.Messaging;
using UniCode.Model.Config;
using UniCode.Orchestrator.Chains;
using UniCode.Orchestrator.Consumers;
using UniCode.Orchestrator.Tests.Support;
using UniCode.Persistence;
using UniCode.Persistence.Entities;
using UniCode.Persistence.Outbox;
using Xunit.Abstractions;
using static UniCode.Orchestrator.Tests.Support.OrchestratorTestHost;

namespace UniCode.Orchestrator.Tests;

/// <summary>Chains through the real broker and database, with fake workers answering the job commands.</summary>
[Collection(ServerCollection.Name)]
public sealed class ChainProcessManagerTests(ServerFixture servers, ITestOutputHelper output) : IAsyncLifetime
{
    private TestDatabase _db = null!;

    public async Task InitializeAsync()
    {
        _db = await servers.DatabaseForClassAsync(typeof(ChainProcessManagerTests));
        await DatabaseMigrator.MigrateAsync(_db.ConnectionString, CancellationToken.None);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static readonly string[] SixLabels =
    [
        "evaluate ave a2v seed=43", "evaluate ave v2a seed=43", "finetune ave audio seed=43", "finetune ave video seed=43",
        "pretrain seed=43", "register seed=43",
    ];

    [Fact]
    public async Task A_full_chain_runs_every_step_once_with_deterministic_keys_and_records_the_results()
    {
        await using var host = await CreateAsync(servers, _db, output);
        var dataset = NewDataset();
        var submit = Submit(Spec(dataset));

        await host.Bus.Publish(submit);
        var accepted = await host.Events.WaitForAsync<ChainAccepted>(e => e.ChainId == submit.ChainId);
        await host.Events.WaitForAsync<ChainCompleted>(e => e.ChainId == submit.ChainId);

        // The identities, computed by hand from the spec: preset small + method uniCode + {epochs: 1}, seed 43.
        var config = Fitted(UniCodeConfig.Small, dataset).WithMethod(Method.UniCode) with { Epochs = 1, Seed = 43 };
        string datasetHash;   // a synth: dataset is keyed by its content hash
        using (var synth = UniCode.Data.DatasetOpener.Open(dataset)) datasetHash = synth.ContentHash();
        var pretrainKey = StepKeys.Compute("pretrain", config.ToCanonicalJson(), [datasetHash], CodeVersion);
        var checkpoint = FakeWorld.CheckpointSha(pretrainKey);
        var videoConfig = """{"options":{"epochs":2},"protocol":"held-out","seed":43,"sourceModality":"video","task":"ave"}""";
        var videoKey = StepKeys.Compute("finetune", videoConfig, [checkpoint, datasetHash], CodeVersion);
        var videoHead = FakeWorld.HeadSha(videoKey);
        var v2aConfig = """{"protocol":"held-out","sourceModality":"video","split":"test","targetModality":"audio","task":"ave"}""";
        var v2aKey = StepKeys.Compute("evaluate", v2aConfig, [checkpoint, videoHead, datasetHash], EvalCodeVersion);

        Assert.Equal(6, accepted.StepCount);
        var steps = (await host.StepsAsync(submit.ChainId)).ToDictionary(s => s.Label);
        Assert.Equal(SixLabels, steps.Keys.Order(StringComparer.Ordinal));
        // The registry may record the checkpoint before the register step exists; then the step finds it and is skipped.
        var register = steps["register seed=43"];
        Assert.Contains((register.Status, register.ReusedFrom), new[] { (ChainStepStatuses.Succeeded, (string?)null), (ChainStepStatuses.Skipped, $"checkpoints:{register.CheckpointSha256}") });
        Assert.All(steps.Values.Where(s => s != register), s => Assert.Equal((ChainStepStatuses.Succeeded, 1, (string?)null), (s.Status, s.Attempts, s.ReusedFrom)));
        Assert.All(steps.Values, s => Assert.Equal(StepKeys.JobId(s.StepKey), s.JobId));
        Assert.Equal((pretrainKey, checkpoint), (steps["pretrain seed=43"].StepKey, steps["pretrain seed=43"].ResultRef));
        Assert.Equal((checkpoint, checkpoint), (steps["register seed=43"].CheckpointSha256, steps["register seed=43"].ResultRef));
        Assert.Equal((videoKey, videoHead), (steps["finetune ave video seed=43"].StepKey, steps["finetune ave video seed=43"].ResultRef));
        var v2a = steps["evaluate ave v2a seed=43"];
        Assert.Equal((v2aKey, videoHead, "video", "audio"), (v2a.StepKey, v2a.HeadSha256, v2a.SourceModality, v2a.TargetModality));
        Assert.Equal(v2a.JobId.ToString(), v2a.ResultRef);
        Assert.Equal(FakeWorld.Accuracy, JsonDocument.Parse(v2a.ResultJson!).RootElement.GetProperty("metrics").GetProperty("accuracy").GetDouble());
        Assert.Equal(steps["pretrain seed=43"].Id, steps["register seed=43"].ParentStepId);
        Assert.Equal(steps["finetune ave video seed=43"].Id, v2a.ParentStepId);

        // Each job command went out once, carrying the run identity its key was computed from.
        var pretrain = Assert.Single(host.World.Commands<PretrainModel>());
        Assert.Equal((StepKeys.JobId(pretrainKey), submit.ChainId, dataset), (pretrain.JobId, pretrain.ChainId, pretrain.Dataset));
        Assert.Equal(new RunIdentity(config.ToCanonicalJson(), config.Hash(), 43, CodeVersion, datasetHash), pretrain.Run);
        var finetunes = host.World.Commands<FinetuneHead>();
        Assert.Equal(["audio", "video"], finetunes.Select(f => f.SourceModality).Order());
        Assert.All(finetunes, f => Assert.Equal(checkpoint, f.CheckpointSha256));
        Assert.Equal(videoConfig, finetunes.Single(f => f.SourceModality == "video").Run.ConfigJson);
        var evaluations = host.World.Commands<EvaluateHead>();
        Assert.Equal(["audio>video", "video>audio"], evaluations.Select(e => $"{e.SourceModality}>{e.TargetModality}").Order());
        Assert.All(evaluations, e => Assert.Equal((EvalCodeVersion, "held-out", "test"), (e.Run.CodeVersion, e.Protocol, e.Split)));

        await using var db = host.Db();
        var chain = await db.Chains.SingleAsync(c => c.Id == submit.ChainId);
        Assert.Equal((ChainStatuses.Succeeded, 6, (string?)null), (chain.Status, chain.StepCount, chain.Reason));
        Assert.NotNull(chain.FinishedAt);
        Assert.Single(host.Events.All<ChainCompleted>(e => e.ChainId == submit.ChainId));
        await host.EventuallyAsync(d => d.OutboxMessages.CountAsync(m => m.SentAt == null), n => n == 0);
    }

    [Fact]
    public async Task Resubmitting_a_chain_reuses_its_finished_steps_and_force_runs_them_again()
    {
        await using var host = await CreateAsync(servers, _db, output);
        var spec = Spec(NewDataset());
        var first = Submit(spec);
        await host.Bus.Publish(first);
        await host.Events.WaitForAsync<ChainCompleted>(e => e.ChainId == first.ChainId);
        var commandsAfterFirst = host.World.Received.Count;
        var firstSteps = (await host.StepsAsync(first.ChainId)).ToDictionary(s => s.Label);

        // The same chain again (a new message id), then the same spec as a new chain.
        await host.Bus.Publish(first with { SubmittedAt = DateTimeOffset.UtcNow });
        var second = Submit(spec);
        await host.Bus.Publish(second);
        var completed = await host.Events.WaitForAsync<ChainCompleted>(e => e.ChainId == second.ChainId);
        await host.EventuallyAsync(
            db => db.ProcessedMessages.CountAsync(m => m.Consumer == ChainCommandConsumer.InboxName), n => n >= 3);

        Assert.Equal(commandsAfterFirst, host.World.Received.Count);   // no job command was sent
        Assert.Single(host.Events.All<ChainAccepted>(e => e.ChainId == first.ChainId));
        var secondSteps = (await host.StepsAsync(second.ChainId)).ToDictionary(s => s.Label);
        Assert.Equal(SixLabels, secondSteps.Keys.Order(StringComparer.Ordinal));
        foreach (var (label, step) in secondSteps)
        {
            Assert.Equal(ChainStepStatuses.Skipped, step.Status);
            Assert.Equal(0, step.Attempts);
            Assert.Equal(firstSteps[label].StepKey, step.StepKey);
            Assert.Equal(firstSteps[label].ResultRef, step.ResultRef);
            Assert.Equal(firstSteps[label].ReusedFrom ?? $"chain_steps:{firstSteps[label].Id}", step.ReusedFrom);   // the step that did the work
        }
        await using (var db = host.Db())
        {
            Assert.Equal(6, await db.ChainSteps.CountAsync(s => s.ChainId == first.ChainId));
            Assert.Equal(1, await db.Chains.CountAsync(c => c.Id == first.ChainId));
            var stepKeys = firstSteps.Values.Select(s => s.StepKey).ToList();
            Assert.Equal(5, await db.Runs.CountAsync(r => stepKeys.Contains(r.StepKey)));   // one run per job (register is no job)
        }

        // force: every step with a job runs again (same job ids); registration is never forced.
        var forced = Submit(spec, force: true);
        await host.Bus.Publish(forced);
        await host.Events.WaitForAsync<ChainCompleted>(e => e.ChainId == forced.ChainId);
        var forcedSteps = (await host.StepsAsync(forced.ChainId)).ToDictionary(s => s.Label);
        Assert.Equal(ChainStepStatuses.Skipped, forcedSteps["register seed=43"].Status);
        Assert.All(forcedSteps.Values.Where(s => s.Kind != ChainStepKinds.Register), s => Assert.Equal((ChainStepStatuses.Succeeded, 1), (s.Status, s.Attempts)));
        Assert.Equal(2, host.World.Commands<PretrainModel>().Count);
        Assert.Equal(4, host.World.Commands<FinetuneHead>().Count);
        Assert.Equal(4, host.World.Commands<EvaluateHead>().Count);
        Assert.Single(host.World.Commands<PretrainModel>().Select(p => p.JobId).Distinct());
        Assert.True(completed.CompletedAt >= second.SubmittedAt);
    }

    [Fact]
    public async Task Duplicate_event_deliveries_change_nothing()
    {
        await using var host = await CreateAsync(servers, _db, output);
        host.World.Evaluate = _ => Act.WaitForGate;   // hold the chain after its fine-tunings
        var submit = Submit(Spec(NewDataset()));
        await host.Bus.Publish(submit);
        await host.EventuallyAsync(_ => Task.FromResult(host.World.Commands<EvaluateHead>().Count(e => e.ChainId == submit.ChainId)), n => n == 2);
        var before = (await host.StepsAsync(submit.ChainId)).ToDictionary(s => s.Id);
        uint chainVersion;
        await using (var db = host.Db()) chainVersion = await VersionOf(db, submit.ChainId);
        var pretrain = before.Values.Single(s => s.Kind == ChainStepKinds.Pretrain);
        var video = before.Values.Single(s => s.Label == "finetune ave video seed=43");

        // The same PretrainCompleted twice with one message id (a redelivery), once with a new id
        // (a worker publishing again), and a second HeadFinetuned for the video head.
        var again = new PretrainCompleted(pretrain.JobId, submit.ChainId, pretrain.StepKey, pretrain.ResultRef!, "file:///again.ckpt", 100, 1, [], DateTimeOffset.UtcNow);
        var redelivered = NewId.NextGuid();
        var republished = NewId.NextGuid();
        var headAgain = NewId.NextGuid();
        await host.Bus.Publish(again, c => c.MessageId = redelivered);
        await host.Bus.Publish(again, c => c.MessageId = redelivered);
        await host.Bus.Publish(again, c => c.MessageId = republished);
        await host.Bus.Publish(new HeadFinetuned(video.JobId, submit.ChainId, video.StepKey, pretrain.ResultRef!, video.ResultRef!, "file:///again.head", "ave", "video", [], DateTimeOffset.UtcNow),
            c => c.MessageId = headAgain);
        await host.Consumed.WaitAsync("-chain-event", redelivered, 2);
        await host.Consumed.WaitAsync("-chain-event", republished, 1);
        await host.Consumed.WaitAsync("-chain-event", headAgain, 1);

        var after = (await host.StepsAsync(submit.ChainId)).ToDictionary(s => s.Id);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (id, step) in after)
            Assert.Equal((before[id].Status, before[id].ResultRef, before[id].Version), (step.Status, step.ResultRef, step.Version));
        await using (var db = host.Db())
        {
            Assert.Equal(chainVersion, await VersionOf(db, submit.ChainId));   // not even touched
            Assert.Equal(1, await db.ProcessedMessages.CountAsync(m => m.MessageId == redelivered && m.Consumer == ChainEventConsumer.InboxName));
        }
        Assert.Equal((1, 2, 2), (host.World.Commands<PretrainModel>().Count, host.World.Commands<FinetuneHead>().Count, host.World.Commands<EvaluateHead>().Count));

        host.World.Gate.SetResult();
        await host.Events.WaitForAsync<ChainCompleted>(e => e.ChainId == submit.ChainId);
        Assert.Equal(6, (await host.StepsAsync(submit.ChainId)).Count(s => ChainStepStatuses.IsDone(s.Status)));
        Assert.Single(host.Events.All<ChainCompleted>(e => e.ChainId == submit.ChainId));
    }

    [Fact]
    public async Task Invalid_submissions_are_rejected_with_the_reason_stored()
    {
        await using var host = await CreateAsync(servers, _db, output);
        var missing = StepKeys.Sha256Hex("no such checkpoint"u8);
        var ave = """[{"task": "ave", "directions": ["v2a"]}]""";
        (string Spec, string Reason)[] cases =
        [
            ("""{"dataset": "foo:/data", "tasks": [{"task": "ave", "directions": ["v2a"]}]}""",
                "spec.dataset: dataset name 'foo:/data' has unknown kind 'foo'; expected one of ave, vggsound, avvp, npy, synth (format KIND:PATH, e.g. ave:/data/AVE)"),
            ("""{"dataset": "/data/AVE", "tasks": TASKS}""",
                "spec.dataset: dataset name '/data/AVE' has no kind; expected KIND:PATH with KIND one of ave, vggsound, avvp, npy, synth (e.g. ave:/data/AVE, synth:classes=10,clips=1200,seed=7)"),
            ("""{"dataset": "ave:/data/AVE", "config": {"codebookSize": 1}, "tasks": TASKS}""",
                "spec.config: config field 'CodebookSize' = 1: expected at least 2 codes"),
            ("""{"dataset": "ave:/data/AVE", "config": {"codebookSize": "many"}, "tasks": TASKS}""", "spec.config: config field '$.codebookSize' = "),
            ("{\"dataset\": \"ave:/data/AVE\", \"tasks\": ", "spec: not valid JSON ("),
            ("""{"dataset": "ave:/data/AVE", "tasks": [{"task": "ave", "directions": ["x2a"]}]}""",
                "spec.tasks[0].directions[0]: direction 'x2a': 'x' is not a modality letter: expected a, v or t"),
            ("""{"dataset": "ave:/data/AVE", "tasks": [{"task": "ave", "directions": ["t2a"]}]}""",
                "spec.tasks[0].directions[0]: 't2a' uses text, but the model is pre-trained on av; expected directions between audio, video"),
            ("""{"dataset": "ave:/data/AVE", "tasks": [{"task": "speech", "directions": ["v2a"]}]}""",
                "spec.tasks[0].task: 'speech' is not a known task; expected one of ave, avvp, ave2avvp, ucf2vgg, vgg2ucf, retrieval"),
            ($$"""{"checkpoint": "{{missing}}", "tasks": [{"task": "ave", "dataset": "ave:/data/AVE", "directions": ["v2a"]}]}""",
                $"spec.checkpoint: no registered checkpoint with sha256 or alias '{missing}'; expected a checkpoint in the registry (table checkpoints)"),
        ];
        var submitted = cases.Select(c => (Submit: Submit(c.Spec.Replace("TASKS", ave)), c.Reason)).ToList();
        foreach (var (submit, _) in submitted) await host.Bus.Publish(submit);

        foreach (var (submit, reason) in submitted)
        {
            var rejected = await host.Events.WaitForAsync<ChainRejected>(e => e.ChainId == submit.ChainId);
            Assert.StartsWith(reason, rejected.Reason);
            await using var db = host.Db();
            var chain = await db.Chains.SingleAsync(c => c.Id == submit.ChainId);
            Assert.Equal((ChainStatuses.Rejected, rejected.Reason, submit.SpecJson, (string?)null), (chain.Status, chain.Reason, chain.SpecJson, chain.PlanJson));
            Assert.Equal(0, await db.ChainSteps.CountAsync(s => s.ChainId == submit.ChainId));
        }
        Assert.Empty(host.World.Received);
    }

    [Fact]
    public async Task A_malformed_dataset_spec_is_recorded_as_a_rejected_chain_with_its_reason()
    {
        // What `unicode submit chain --data 'synth:cells=12;x'` sent before the CLI checked it: the parser threw, the
        // command went to the error queue and the chain was never recorded.
        await using var host = await CreateAsync(servers, _db, output, start: false);   // the engine alone, no bus
        var store = host.Services.GetRequiredService<ChainStore>();
        var engine = host.Services.GetRequiredService<ChainEngine>();
        foreach (var (dataset, reason) in new[]
        {
            ("synth:cells=12;x", "spec.dataset: dataset name 'synth:cells=12;x': synth spec: cells='12;x'; expected an integer"),
            ("synth:cells=12`id`", "spec.dataset: dataset name 'synth:cells=12`id`': synth spec: cells='12`id`'; expected an integer"),
        })
        {
            var submit = Submit(Spec(dataset));
            await store.RunAsync(null, null, db => engine.SubmitAsync(db, submit, CancellationToken.None), CancellationToken.None);

            await using var db = host.Db();
            var chain = await db.Chains.SingleAsync(c => c.Id == submit.ChainId);
            Assert.Equal((ChainStatuses.Rejected, reason, submit.SpecJson, (string?)null), (chain.Status, chain.Reason, chain.SpecJson, chain.PlanJson));
            Assert.Equal(0, await db.ChainSteps.CountAsync(s => s.ChainId == submit.ChainId));
            var outbox = await db.OutboxMessages.Where(m => m.MessageType.Contains(nameof(ChainRejected))).Select(m => m.Body).ToListAsync();
            Assert.Contains(outbox, body => body.Contains(submit.ChainId.ToString()));
        }
    }

    [Fact]
    public async Task Cancelling_a_chain_cancels_its_running_job_and_ends_it_cancelled()
    {
        await using var host = await CreateAsync(servers, _db, output);
        host.World.Pretrain = _ => Act.HoldUntilCancelled;
        var submit = Submit(Spec(NewDataset()));
        await host.Bus.Publish(submit);
        var running = await host.EventuallyAsync(db => db.ChainSteps.AsNoTracking().SingleOrDefaultAsync(s => s.ChainId == submit.ChainId),
            s => s?.Status == ChainStepStatuses.Running);
        Assert.Equal((1L, 100L), (running!.ProgressStep, running.ProgressTotal));

        await host.Bus.Publish(new CancelChain(submit.ChainId, "operator: wrong learning rate", DateTimeOffset.UtcNow));
        var cancelled = await host.Events.WaitForAsync<ChainCancelled>(e => e.ChainId == submit.ChainId);

        var cancelJob = Assert.Single(host.World.Commands<CancelJob>());
        Assert.Equal((running.JobId, "operator: wrong learning rate", (Guid?)submit.ChainId), (cancelJob.JobId, cancelJob.Reason, cancelJob.ChainId));
        Assert.Equal("operator: wrong learning rate", cancelled.Reason);
        await using var db = host.Db();
        var chain = await db.Chains.SingleAsync(c => c.Id == submit.ChainId);
        Assert.Equal((ChainStatuses.Cancelled, "operator: wrong learning rate"), (chain.Status, chain.Reason));
        Assert.NotNull(chain.CancelRequestedAt);
        var step = await db.ChainSteps.SingleAsync(s => s.ChainId == submit.ChainId);
        Assert.Equal((ChainStepStatuses.Cancelled, "operator: wrong learning rate"), (step.Status, step.Reason));   // JobCancelled's reason
        Assert.Empty(host.World.Commands<FinetuneHead>());

        // Cancelling again, or the finished chain, changes nothing.
        var version = await VersionOf(db, submit.ChainId);
        var repeat = NewId.NextGuid();
        await host.Bus.Publish(new CancelChain(submit.ChainId, "again", DateTimeOffset.UtcNow), c => c.MessageId = repeat);
        await host.Consumed.WaitAsync("-chain-command", repeat, 1);
        Assert.Equal(version, await VersionOf(db, submit.ChainId));
        Assert.Single(host.World.Commands<CancelJob>());
    }

    [Fact]
    public async Task A_failed_job_fails_the_chain_and_the_reason_is_kept()
    {
        await using var host = await CreateAsync(servers, _db, output);
        host.World.Finetune = f => f.SourceModality == "audio" ? Act.Fail : Act.Complete;
        var submit = Submit(Spec(NewDataset()));
        await host.Bus.Publish(submit);
        var failed = await host.Events.WaitForAsync<ChainFailed>(e => e.ChainId == submit.ChainId);

        var steps = await host.StepsAsync(submit.ChainId);
        var audio = steps.Single(s => s.Label == "finetune ave audio seed=43");
        Assert.Equal((audio.StepKey, FakeWorld.FailureReason), (failed.FailedStepKey, failed.Reason));
        Assert.Equal((ChainStepStatuses.Failed, FakeWorld.FailureReason), (audio.Status, audio.Reason));
        await using var db = host.Db();
        var chain = await db.Chains.SingleAsync(c => c.Id == submit.ChainId);
        Assert.Equal((ChainStatuses.Failed, FakeWorld.FailureReason, audio.StepKey), (chain.Status, chain.Reason, chain.FailedStepKey));
        Assert.DoesNotContain(steps, s => s.Kind == ChainStepKinds.Evaluate && s.SourceModality == "audio");   // nothing after the failed step
        Assert.DoesNotContain(host.World.Commands<EvaluateHead>(), e => e.SourceModality == "audio");
        Assert.Empty(host.Events.All<ChainCompleted>(e => e.ChainId == submit.ChainId));
    }

    [Fact]
    public async Task A_worker_that_crashes_instead_of_answering_fails_the_chain_through_its_fault()
    {
        await using var host = await CreateAsync(servers, _db, output);
        host.World.Evaluate = e => e.TargetModality == "audio" ? Act.Throw : Act.Complete;
        var submit = Submit(Spec(NewDataset()));
        await host.Bus.Publish(submit);

        var failed = await host.Events.WaitForAsync<ChainFailed>(e => e.ChainId == submit.ChainId);

        var v2a = (await host.StepsAsync(submit.ChainId)).Single(s => s.Label == "evaluate ave v2a seed=43");
        Assert.Equal((v2a.StepKey, $"the worker's consumer failed: {FakeWorld.CrashMessage}"), (failed.FailedStepKey, failed.Reason));
        Assert.Equal((ChainStepStatuses.Failed, failed.Reason), (v2a.Status, v2a.Reason));
    }

    [Fact]
    public async Task Concurrent_decisions_about_one_chain_conflict_and_are_retried_not_lost()
    {
        await using var host = await CreateAsync(servers, _db, output, start: false);   // the engine alone, no bus
        var store = host.Services.GetRequiredService<ChainStore>();
        var engine = host.Services.GetRequiredService<ChainEngine>();
        var submit = Submit(Spec(NewDataset(), seeds: [1, 2]));
        await store.RunAsync(null, null, db => engine.SubmitAsync(db, submit, CancellationToken.None), CancellationToken.None);
        var pretrains = await host.StepsAsync(submit.ChainId);
        Assert.Equal(2, pretrains.Count);

        // Another transaction holds the chain row; both completions queue behind it on their UPDATE
        // of the chain, find its xmin changed when it commits, and must re-run on fresh data.
        await using var blocker = _db.OpenConnection();
        await using var transaction = await blocker.BeginTransactionAsync();
        await using (var touch = new Npgsql.NpgsqlCommand("UPDATE chains SET updated_at = now() WHERE id = @id", blocker, transaction))
        {
            touch.Parameters.AddWithValue("id", submit.ChainId);
            Assert.Equal(1, await touch.ExecuteNonQueryAsync());
        }
        var before = store.ConflictRetries;
        var completions = pretrains.Select(p => store.RunAsync(ChainEventConsumer.InboxName, Guid.NewGuid(), db => engine.OnPretrainCompletedAsync(db,
            new PretrainCompleted(p.JobId, submit.ChainId, p.StepKey, FakeWorld.CheckpointSha(p.StepKey), "file:///c", 100, 1, [], DateTimeOffset.UtcNow),
            CancellationToken.None), CancellationToken.None)).ToList();
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.All(completions, c => Assert.False(c.IsCompleted));   // blocked on the chain row
        await transaction.CommitAsync();

        var handled = await Task.WhenAll(completions);
        Assert.Equal([true, true], handled);
        Assert.True(store.ConflictRetries - before >= 2, $"expected both units of work to re-run, got {store.ConflictRetries - before} re-run(s)");
        var steps = await host.StepsAsync(submit.ChainId);
        Assert.All(steps.Where(s => s.Kind == ChainStepKinds.Pretrain), s => Assert.Equal(ChainStepStatuses.Succeeded, s.Status));
        Assert.Equal(pretrains.Select(p => FakeWorld.CheckpointSha(p.StepKey)).Order(),
            steps.Where(s => s.Kind == ChainStepKinds.Register).Select(s => s.CheckpointSha256).Order());   // both lineages went on
    }

    [Fact]
    public async Task Outbox_rows_committed_but_never_published_go_out_when_the_dispatcher_starts()
    {
        await using var host = await CreateAsync(servers, _db, output, s => s with { RunOutboxDispatcher = false });
        var submit = Submit(Spec(NewDataset()));
        // The consumer's unit of work commits (state + outbox rows) and the process "dies" before any publish.
        var store = host.Services.GetRequiredService<ChainStore>();
        var engine = host.Services.GetRequiredService<ChainEngine>();
        await store.RunAsync(null, null, db => engine.SubmitAsync(db, submit, CancellationToken.None), CancellationToken.None);
        List<OutboxMessage> unsent;
        await using (var db = host.Db())
            unsent = await db.OutboxMessages.Where(m => m.SentAt == null).OrderBy(m => m.Sequence).ToListAsync();
        Assert.Equal([typeof(ChainAccepted).FullName, typeof(PretrainModel).FullName], unsent.Select(m => m.MessageType.Split(',')[0]));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Empty(host.World.Received);
        Assert.Equal(ChainStepStatuses.Dispatched, Assert.Single(await host.StepsAsync(submit.ChainId)).Status);

        var dispatcher = host.Services.GetRequiredService<OutboxDispatcher>();
        await dispatcher.StartAsync(CancellationToken.None);
        try
        {
            await host.Events.WaitForAsync<ChainCompleted>(e => e.ChainId == submit.ChainId);
            var pretrain = Assert.Single(host.World.Received, r => r.Message is PretrainModel);
            Assert.Equal(unsent[1].Id, pretrain.MessageId);   // published with the row's id
            await using var db = host.Db();
            // The dispatcher marks a row sent after the broker confirmed it, which can be just after a
            // subscriber (this test) has already seen the message: wait for it, bounded.
            var unsentLeft = -1;
            for (var i = 0; i < 100 && unsentLeft != 0; i++)
            {
                unsentLeft = await db.OutboxMessages.CountAsync(m => m.SentAt == null);
                if (unsentLeft != 0) await Task.Delay(100);
            }
            Assert.Equal(0, unsentLeft);
            Assert.All(await db.OutboxMessages.Where(m => m.Id == unsent[0].Id || m.Id == unsent[1].Id).ToListAsync(), m => Assert.Equal(1, m.Attempts));
        }
        finally
        {
            await dispatcher.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task The_reconciler_dispatches_a_lost_command_again_and_fails_a_step_nobody_answers()
    {
        await using var host = await CreateAsync(servers, _db, output, s => s with
        {
            Options = s.Options with { DispatchTimeout = TimeSpan.FromSeconds(1), ReconcileInterval = TimeSpan.FromMilliseconds(250), MaxDispatchAttempts = 2 },
        });
        var lost = OrchestratorTestHost.NewDataset();
        var dead = OrchestratorTestHost.NewDataset();
        host.World.Pretrain = p => p.Dataset == lost ? Act.DropFirst : p.Dataset == dead ? Act.Ignore : Act.Complete;
        var recovered = Submit(Spec(lost));
        var abandoned = Submit(Spec(dead));
        await host.Bus.Publish(recovered);
        await host.Bus.Publish(abandoned);

        await host.Events.WaitForAsync<ChainCompleted>(e => e.ChainId == recovered.ChainId);
        var pretrain = (await host.StepsAsync(recovered.ChainId)).Single(s => s.Kind == ChainStepKinds.Pretrain);
        Assert.Equal((ChainStepStatuses.Succeeded, 2), (pretrain.Status, pretrain.Attempts));
        var deliveries = host.World.Received.Where(r => r.Message is PretrainModel p && p.JobId == pretrain.JobId).ToList();
        Assert.Equal(2, deliveries.Count);
        Assert.NotEqual(deliveries[0].MessageId, deliveries[1].MessageId);   // a new message, the same job

        var failed = await host.Events.WaitForAsync<ChainFailed>(e => e.ChainId == abandoned.ChainId);
        Assert.Equal("pretrain seed=43: no answer after 2 dispatch(es), waiting 00:00:01 each", failed.Reason);
        Assert.Equal(2, host.World.Received.Count(r => r.Message is PretrainModel p && p.Dataset == dead));
    }

    /// <summary>The chain row's xmin: it changes with every update of the row.</summary>
    private static Task<uint> VersionOf(ResultsDbContext db, Guid chainId) =>
        db.Chains.AsNoTracking().Where(c => c.Id == chainId).Select(c => c.Version).SingleAsync();

    /// <summary>The preset with the dataset's input shapes, as the orchestrator plans it.</summary>
    internal static UniCodeConfig Fitted(UniCodeConfig preset, string dataset)
    {
        using var data = UniCode.Data.DatasetOpener.Open(dataset);
        return UniCode.Experiments.DatasetTensors.Fit(preset, data.Layout);
    }
}
