using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using UniCode.Contracts.Common;
using UniCode.Contracts.Pretraining;
using UniCode.Jobs.Tests.Infrastructure;
using UniCode.Messaging;
using UniCode.Model.Checkpoints;
using UniCode.Model.Training;
using UniCode.Persistence.Entities;
using TrainerProgram = UniCode.Trainer.Program;

namespace UniCode.Jobs.Tests;

/// <summary>The trainer service on the real RabbitMQ and PostgreSQL, with a tiny model (34 training clips, 2 steps per epoch).</summary>
[Collection(ServerCollection.Name)]
public sealed class PretrainJobTests(ServerFixture servers)
{
    private static IReadOnlyList<MetricValue> Losses(PretrainCompleted c) => c.Metrics.Where(m => m.Name.StartsWith("loss/", StringComparison.Ordinal)).ToList();

    [Fact]
    public async Task A_job_runs_to_completion_and_a_duplicate_only_republishes_its_completion()
    {
        await using var world = await JobWorld.StartAsync(servers, GetType());
        await world.StartHostAsync("trainer", "trainer-a", TrainerProgram.AddConsumers);
        var config = JobWorld.TinyConfig(epochs: 3);
        var job = JobWorld.Pretrain(config, "complete");

        await world.Bus.Publish(job);
        var completed = (await world.Events.WaitForAsync<PretrainCompleted>(c => c.JobId == job.JobId)).Single();

        // The checkpoint: in the artifact store under its sha256, verifiable, of this config, after all 6 steps.
        Assert.Equal(Path.Combine(world.ArtifactsDirectory, "sha256", completed.CheckpointSha256[..2], completed.CheckpointSha256[2..]), completed.CheckpointUri);
        var (meta, sha) = CheckpointFile.Verify(completed.CheckpointUri, completed.CheckpointSha256);
        Assert.Equal(completed.CheckpointSha256, sha);
        Assert.Equal((6L, 2), (meta.Step, meta.Epoch));
        Assert.Equal((6L, 2), (completed.Step, completed.Epoch));
        Assert.Equal(config.Hash(), meta.ConfigHash);
        Assert.Null(meta.ParentSha256);   // not the run's scratch checkpoint of step 4: the registry only knows published ones
        Assert.Equal((job.ChainId, job.StepKey), (completed.ChainId, completed.StepKey));
        Assert.Contains(completed.Metrics, m => m.Name == "loss/total" && double.IsFinite(m.Value));
        Assert.Contains(new MetricValue("resumed_from_step", 0), completed.Metrics);
        // The scratch checkpoints are gone; the completion record stays for re-deliveries.
        var work = Path.Combine(world.WorkDirectory, "pretrain", job.JobId.ToString("N"));
        Assert.Empty(Directory.GetFiles(work, "step-*"));
        Assert.True(File.Exists(Path.Combine(work, CompletionRecord.FileName)));

        // Every step reported (the test workers do not throttle), in order.
        var progress = world.Events.All<PretrainProgressed>(p => p.JobId == job.JobId);
        Assert.Equal([1L, 2, 3, 4, 5, 6], progress.Select(p => p.Step).Order());
        Assert.All(progress, p => Assert.Equal(6, p.TotalSteps));
        Assert.Contains(progress.Single(p => p.Step == 6).Metrics, m => m.Name == "codebook/size" && m.Value == 32);

        Run run;
        await using (var db = world.Db())
        {
            run = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == job.JobId);
            Assert.Equal((RunKinds.Pretrain, RunStatuses.Succeeded, job.StepKey), (run.Kind, run.Status, run.StepKey));
            Assert.Equal("cpu @ trainer-a", run.Device);
            Assert.Null(run.Error);
            Assert.NotNull(run.FinishedAt);
            Assert.Equal(config.Hash(), run.ConfigHash);   // the test's RunIdentity hashes the canonical JSON: the same
            var points = await db.MetricPoints.AsNoTracking().Where(p => p.RunId == job.JobId).ToListAsync();
            Assert.Equal([1L, 2, 3, 4, 5, 6], points.Select(p => p.Step).Distinct().Order());
            var finalTotal = points.Single(p => p.Step == 6 && p.Key == "loss/total").Value;
            Assert.Equal(completed.Metrics.Single(m => m.Name == "loss/total").Value, finalTotal);
        }

        // The same message again: its completion is published again, and nothing is trained.
        var progressBefore = world.Events.All<PretrainProgressed>(p => p.JobId == job.JobId).Count;
        await world.Bus.Publish(job);
        var again = (await world.Events.WaitForAsync<PretrainCompleted>(c => c.JobId == job.JobId, count: 2))[1];
        Assert.Equal((completed.CheckpointSha256, completed.CheckpointUri, completed.Step, completed.Epoch), (again.CheckpointSha256, again.CheckpointUri, again.Step, again.Epoch));
        Assert.Equal(completed.Metrics, again.Metrics);
        await Task.Delay(500);
        Assert.Equal(progressBefore, world.Events.All<PretrainProgressed>(p => p.JobId == job.JobId).Count);
        await using (var db = world.Db())
        {
            var row = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == job.JobId);
            Assert.Equal((RunStatuses.Succeeded, run.StartedAt, run.FinishedAt), (row.Status, row.StartedAt, row.FinishedAt));
        }
    }

    [Fact]
    public async Task Two_trainer_hosts_on_one_queue_both_take_jobs()
    {
        await using var world = await JobWorld.StartAsync(servers, GetType());
        await world.StartHostAsync("trainer", "trainer-a", TrainerProgram.AddConsumers);
        await world.StartHostAsync("trainer", "trainer-b", TrainerProgram.AddConsumers);
        var jobs = Enumerable.Range(1, 4).Select(seed => JobWorld.Pretrain(JobWorld.TinyConfig(epochs: 2, seed: seed), "two-hosts")).ToList();

        foreach (var job in jobs) await world.Bus.Publish(job);
        var ids = jobs.Select(j => j.JobId).ToHashSet();
        await world.Events.WaitForAsync<PretrainCompleted>(c => ids.Contains(c.JobId), count: 4);

        await using var db = world.Db();
        var runs = await db.Runs.AsNoTracking().Where(r => ids.Contains(r.Id)).ToListAsync();
        Assert.Equal(4, runs.Count);
        Assert.All(runs, r => Assert.Equal(RunStatuses.Succeeded, r.Status));
        // Prefetch 1: each host holds one job at a time, so the broker hands the second job to the other host.
        Assert.Equal(["cpu @ trainer-a", "cpu @ trainer-b"], runs.Select(r => r.Device).Distinct().Order());
    }

    [Fact]
    public async Task An_interrupted_job_resumes_from_its_last_checkpoint_and_ends_like_an_uninterrupted_one()
    {
        await using var world = await JobWorld.StartAsync(servers, GetType());
        var config = JobWorld.TinyConfig(epochs: 4);   // 8 steps, checkpoints at 2, 4, 6, 8

        // 1. Uninterrupted.
        var a = await world.StartHostAsync("trainer", "trainer-a", TrainerProgram.AddConsumers);
        var straight = JobWorld.Pretrain(config, "resume-straight");
        await world.Bus.Publish(straight);
        var reference = (await world.Events.WaitForAsync<PretrainCompleted>(c => c.JobId == straight.JobId)).Single();
        await world.StopHostAsync(a);

        // 2. A transient fault at step 3 (after the checkpoint of step 2): the bus retries, the job resumes at step 2.
        var faulted = JobWorld.Pretrain(config, "resume-fault");
        var thrown = 0;
        var faulty = new ProgressHook((job, point, _) =>
        {
            if (job.JobId == faulted.JobId && point.Step == 3 && Interlocked.Exchange(ref thrown, 1) == 0)
                throw new TransientException("simulated device fault at step 3");
        });
        var b = await world.StartHostAsync("trainer", "trainer-b", TrainerProgram.AddConsumers, faulty);
        await world.Bus.Publish(faulted);
        var afterFault = (await world.Events.WaitForAsync<PretrainCompleted>(c => c.JobId == faulted.JobId)).Single();
        Assert.Equal(1, thrown);
        Assert.Contains(new MetricValue("resumed_from_step", 2), afterFault.Metrics);
        Assert.Equal(Losses(reference), Losses(afterFault));
        Assert.Equal((reference.Step, reference.Epoch), (afterFault.Step, afterFault.Epoch));
        await world.StopHostAsync(b);

        // 3. The worker running the job stops at step 3: the delivery goes back to the queue and the other worker resumes it.
        var moved = JobWorld.Pretrain(config, "resume-worker-stop");
        var paused = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pausedOnce = 0;
        ProgressHook PauseOn(string worker) => new((job, point, token) =>
        {
            if (job.JobId != moved.JobId || point.Step != 3 || Interlocked.Exchange(ref pausedOnce, 1) != 0) return;
            paused.SetResult(worker);
            token.WaitHandle.WaitOne(JobWorld.Wait);   // hold the job until its worker stops
        });
        var c = await world.StartHostAsync("trainer", "trainer-c", TrainerProgram.AddConsumers, PauseOn("trainer-c"));
        var d = await world.StartHostAsync("trainer", "trainer-d", TrainerProgram.AddConsumers, PauseOn("trainer-d"));
        await world.Bus.Publish(moved);
        var first = await paused.Task.WaitAsync(JobWorld.Wait);
        var work = Path.Combine(world.WorkDirectory, "pretrain", moved.JobId.ToString("N"));
        Assert.Equal([PretrainLoop.FileName(2)], Directory.GetFiles(work, "step-*.ckpt").Select(Path.GetFileName));
        await world.StopHostAsync(first == "trainer-c" ? c : d);

        var resumed = (await world.Events.WaitForAsync<PretrainCompleted>(x => x.JobId == moved.JobId)).Single();
        Assert.Contains(new MetricValue("resumed_from_step", 2), resumed.Metrics);
        Assert.Equal(Losses(reference), Losses(resumed));
        Assert.Equal(reference.Step, resumed.Step);
        // The second delivery reported from step 3 on, on the other worker.
        var steps = world.Events.All<PretrainProgressed>(p => p.JobId == moved.JobId).Select(p => p.Step).ToList();
        Assert.Equal([1L, 2, 3, 3, 4, 5, 6, 7, 8], steps.Order());
        await using var db = world.Db();
        var run = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == moved.JobId);
        Assert.Equal(RunStatuses.Succeeded, run.Status);
        Assert.Equal($"cpu @ {(first == "trainer-c" ? "trainer-d" : "trainer-c")}", run.Device);
    }

    [Fact]
    public async Task CancelJob_stops_a_running_job_and_the_worker_takes_the_next_one()
    {
        await using var world = await JobWorld.StartAsync(servers, GetType());
        await world.StartHostAsync("trainer", "trainer-a", TrainerProgram.AddConsumers);
        var longJob = JobWorld.Pretrain(JobWorld.TinyConfig(epochs: 500), "cancel");   // 1000 steps

        await world.Bus.Publish(longJob);
        await world.Events.WaitForAsync<PretrainProgressed>(p => p.JobId == longJob.JobId && p.Step >= 2);
        await world.Bus.Publish(new CancelJob(longJob.JobId, "not needed any more", null, DateTimeOffset.UtcNow));
        var cancelled = (await world.Events.WaitForAsync<JobCancelled>(x => x.JobId == longJob.JobId)).Single();

        Assert.Equal(("pretrain", "not needed any more", longJob.StepKey), (cancelled.JobKind, cancelled.Reason, cancelled.StepKey));
        var stoppedAt = world.Events.All<PretrainProgressed>(p => p.JobId == longJob.JobId).Max(p => p.Step);
        Assert.InRange(stoppedAt, 2, 999);
        await using (var db = world.Db())
        {
            var run = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == longJob.JobId);
            Assert.Equal((RunStatuses.Cancelled, "not needed any more"), (run.Status, run.Error));
        }

        // The delivery was acknowledged: the worker is free, the job does not come back, nothing more is trained.
        var next = JobWorld.Pretrain(JobWorld.TinyConfig(epochs: 1), "after-cancel");
        await world.Bus.Publish(next);
        await world.Events.WaitForAsync<PretrainCompleted>(x => x.JobId == next.JobId);
        Assert.Equal(stoppedAt, world.Events.All<PretrainProgressed>(p => p.JobId == longJob.JobId).Max(p => p.Step));
        Assert.Empty(world.Events.All<PretrainCompleted>(x => x.JobId == longJob.JobId));
    }

    [Fact]
    public async Task ResumeFromSha256_starts_from_a_stored_checkpoint_of_the_same_config_only()
    {
        await using var world = await JobWorld.StartAsync(servers, GetType());
        await world.StartHostAsync("trainer", "trainer-a", TrainerProgram.AddConsumers);
        var config = JobWorld.TinyConfig(epochs: 1);
        var first = JobWorld.Pretrain(config, "resume-from-first");
        await world.Bus.Publish(first);
        var done = (await world.Events.WaitForAsync<PretrainCompleted>(c => c.JobId == first.JobId)).Single();

        // The same config from its final checkpoint: nothing left to train, the checkpoint is the result.
        var again = JobWorld.Pretrain(config, "resume-from-again") with { ResumeFromSha256 = done.CheckpointSha256 };
        // Another config cannot continue it.
        var other = JobWorld.Pretrain(config with { LearningRate = 5e-4 }, "resume-from-other") with { ResumeFromSha256 = done.CheckpointSha256 };
        await world.Bus.Publish(again);
        await world.Bus.Publish(other);

        var continued = (await world.Events.WaitForAsync<PretrainCompleted>(c => c.JobId == again.JobId)).Single();
        Assert.Equal((done.CheckpointSha256, done.Step), (continued.CheckpointSha256, continued.Step));
        Assert.Contains(new MetricValue("resumed_from_step", 2), continued.Metrics);
        Assert.Empty(world.Events.All<PretrainProgressed>(p => p.JobId == again.JobId));
        var refused = (await world.Events.WaitForAsync<JobFailed>(f => f.JobId == other.JobId)).Single();
        Assert.Contains("resume only with the same config", refused.Reason);
        Assert.Equal(typeof(CheckpointMismatchException).FullName, refused.ExceptionType);
    }

    [Fact]
    public async Task A_bad_config_fails_once_with_the_reason_and_does_not_block_the_queue()
    {
        await using var world = await JobWorld.StartAsync(servers, GetType());
        await world.StartHostAsync("trainer", "trainer-a", TrainerProgram.AddConsumers);
        var tooSmall = JobWorld.Pretrain(JobWorld.TinyConfig().ToCanonicalJson().Replace("\"codebookSize\":32", "\"codebookSize\":1"), "bad-config");
        var notJson = JobWorld.Pretrain("codebook size one", "not-json");
        var good = JobWorld.Pretrain(JobWorld.TinyConfig(epochs: 1), "after-bad-config");

        await world.Bus.Publish(tooSmall);
        await world.Bus.Publish(notJson);
        await world.Bus.Publish(good);
        await world.Events.WaitForAsync<PretrainCompleted>(c => c.JobId == good.JobId);
        await Task.Delay(500);

        var failed = world.Events.All<JobFailed>(f => f.JobId == tooSmall.JobId).Single();   // once: not retried, not redelivered
        Assert.Equal("config field 'CodebookSize' = 1: expected at least 2 codes", failed.Reason);
        Assert.Equal(typeof(UniCode.Model.Config.ConfigException).FullName, failed.ExceptionType);
        Assert.Equal(("pretrain", tooSmall.StepKey), (failed.JobKind, failed.StepKey));
        var garbled = world.Events.All<JobFailed>(f => f.JobId == notJson.JobId).Single();
        Assert.Contains("= 'PretrainModel.Run.ConfigJson': expected valid UniCode config JSON", garbled.Reason);
        await using var db = world.Db();
        var run = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == tooSmall.JobId);
        Assert.Equal((RunStatuses.Failed, failed.Reason), (run.Status, run.Error));
        var garbledRun = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == notJson.JobId);
        Assert.Equal((RunStatuses.Failed, "\"codebook size one\""), (garbledRun.Status, garbledRun.ConfigJson));
        Assert.Empty(world.Events.All<PretrainProgressed>(p => p.JobId == tooSmall.JobId || p.JobId == notJson.JobId));
    }
}
