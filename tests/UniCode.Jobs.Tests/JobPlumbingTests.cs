using System.Text.Json.Nodes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using UniCode.Messaging;
using UniCode.Model.Downstream;
using UniCode.Persistence.Artifacts;

namespace UniCode.Jobs.Tests;

/// <summary>The shared job plumbing on its own (no servers).</summary>
public sealed class JobPlumbingTests
{
    private sealed class Lifetime : IHostApplicationLifetime
    {
        public readonly CancellationTokenSource Stopping = new();
        public CancellationToken ApplicationStarted => CancellationToken.None;
        public CancellationToken ApplicationStopping => Stopping.Token;
        public CancellationToken ApplicationStopped => CancellationToken.None;
        public void StopApplication() => Stopping.Cancel();
    }

    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_throttle_passes_the_first_report_then_one_per_interval_and_every_forced_one()
    {
        var time = new ManualClock(T0);
        var throttle = new ProgressThrottle(TimeSpan.FromSeconds(10), time);
        var passed = new List<int>();
        for (var second = 0; second <= 25; second++)
        {
            time.Now = T0.AddSeconds(second);
            if (throttle.TryPass(force: second == 13)) passed.Add(second);
        }
        // 0 (first), 10, 13 (forced, restarts the interval), 23.
        Assert.Equal([0, 10, 13, 23], passed);
    }

    [Fact]
    public async Task A_job_thread_is_its_own_thread_and_hands_back_results_and_exceptions()
    {
        var caller = Environment.CurrentManagedThreadId;
        var (id, name, pool) = await JobThread.Run("job-x", () => (Environment.CurrentManagedThreadId, Thread.CurrentThread.Name, Thread.CurrentThread.IsThreadPoolThread));
        Assert.NotEqual(caller, id);
        Assert.Equal(("job-x", false), (name, pool));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => JobThread.Run<int>("job-y", () => throw new InvalidOperationException("boom")));
        Assert.Equal("boom", e.Message);
    }

    [Fact]
    public void CancelJob_stops_a_running_job_and_applies_to_a_queued_one_only_if_requested_after_it()
    {
        var lifetime = new Lifetime();
        var cancellations = new JobCancellations(lifetime, new ManualClock(T0));
        var running = Guid.NewGuid();
        using (var job = cancellations.Register(running, T0, CancellationToken.None))
        {
            Assert.Equal(StopReason.None, job.Reason);
            Assert.True(cancellations.Cancel(running, "user", T0.AddMinutes(1)));
            Assert.True(job.Token.IsCancellationRequested);
            Assert.Equal((StopReason.Cancelled, "user"), (job.Reason, job.CancelReason));
        }
        Assert.Empty(cancellations.Running);

        // Cancelled while still queued: the delivery requested before the cancellation starts cancelled...
        var queued = Guid.NewGuid();
        Assert.False(cancellations.Cancel(queued, "chain cancelled", T0.AddMinutes(5)));
        using (var job = cancellations.Register(queued, T0.AddMinutes(4), CancellationToken.None))
            Assert.Equal((StopReason.Cancelled, "chain cancelled"), (job.Reason, job.CancelReason));
        // ...but a later re-submission of the same step is a new request and runs.
        var resubmitted = Guid.NewGuid();
        cancellations.Cancel(resubmitted, "old", T0.AddMinutes(5));
        using (var job = cancellations.Register(resubmitted, T0.AddMinutes(6), CancellationToken.None))
            Assert.Equal(StopReason.None, job.Reason);

        // Host shutdown is a different reason: the delivery is handed back, not cancelled.
        using var last = cancellations.Register(Guid.NewGuid(), T0, CancellationToken.None);
        lifetime.StopApplication();
        Assert.Equal(StopReason.WorkerStopping, last.Reason);
        Assert.Throws<InvalidOperationException>(() => cancellations.Register(last.JobId, T0, CancellationToken.None));
    }

    [Fact]
    public void Settings_come_from_the_environment_with_defaults_under_the_repository_root()
    {
        var root = Directory.CreateTempSubdirectory("unicode-settings-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(root, "UniCode.sln"), "");
            var nested = Directory.CreateDirectory(Path.Combine(root, "services", "x")).FullName;
            var defaults = JobSettings.FromEnvironment(_ => null, nested);
            Assert.Equal(("auto", Path.Combine(root, ".work"), Path.Combine(root, ".artifacts")), (defaults.Device, defaults.WorkDirectory, defaults.ArtifactsDirectory));
            Assert.Equal((TimeSpan.FromSeconds(10), 500L, 2, 10, 10, true), (defaults.ProgressInterval, defaults.CheckpointEverySteps, defaults.KeepCheckpoints, defaults.MaxStarts, defaults.ReportEverySteps, defaults.KeepFreedMemory));
            Assert.Equal(TimeSpan.FromSeconds(10), defaults.HeartbeatInterval);
            Assert.Equal(TimeSpan.FromSeconds(2.5), JobSettings.FromEnvironment(new Dictionary<string, string> { ["UNICODE_HEARTBEAT_SECONDS"] = "2.5" }.GetValueOrDefault, nested).HeartbeatInterval);
            Assert.Equal("UNICODE_HEARTBEAT_SECONDS is '0'; expected seconds ≥ 0.1",
                Assert.Throws<InvalidOperationException>(() => JobSettings.FromEnvironment(new Dictionary<string, string> { ["UNICODE_HEARTBEAT_SECONDS"] = "0" }.GetValueOrDefault, nested)).Message);
            Assert.Equal(TimeSpan.FromSeconds(30), defaults.Lease);
            Assert.Equal(TimeSpan.FromMinutes(2), JobSettings.FromEnvironment(new Dictionary<string, string> { ["UNICODE_HEARTBEAT_LEASE"] = "00:02:00" }.GetValueOrDefault, nested).Lease);
            Assert.Equal("UNICODE_HEARTBEAT_LEASE is 00:00:05, not longer than UNICODE_HEARTBEAT_SECONDS = 10 s; expected a lease of several heartbeat intervals (e.g. 3×)",
                Assert.Throws<InvalidOperationException>(() => JobSettings.FromEnvironment(new Dictionary<string, string> { ["UNICODE_HEARTBEAT_LEASE"] = "00:00:05" }.GetValueOrDefault, nested)).Message);

            var env = new Dictionary<string, string>
            {
                ["UNICODE_DEVICE"] = "CUDA:1", ["UNICODE_WORK"] = "/mnt/work", ["UNICODE_PROGRESS_SECONDS"] = "2.5",
                ["UNICODE_CHECKPOINT_EVERY_STEPS"] = "0", ["UNICODE_KEEP_FREED_MEMORY"] = "0", ["UNICODE_WORKER_NAME"] = "gpu-7",
            };
            var set = JobSettings.FromEnvironment(env.GetValueOrDefault, nested);
            Assert.Equal(("cuda:1", "/mnt/work", TimeSpan.FromSeconds(2.5), 0L, false, "gpu-7"),
                (set.Device, set.WorkDirectory, set.ProgressInterval, set.CheckpointEverySteps, set.KeepFreedMemory, set.WorkerName));

            var bad = Assert.Throws<InvalidOperationException>(() => JobSettings.FromEnvironment(new Dictionary<string, string> { ["UNICODE_DEVICE"] = "tpu" }.GetValueOrDefault, nested));
            Assert.Equal("UNICODE_DEVICE is 'tpu'; expected auto, cpu, cuda or cuda:N", bad.Message);
            var steps = Assert.Throws<InvalidOperationException>(() => JobSettings.FromEnvironment(new Dictionary<string, string> { ["UNICODE_MAX_JOB_STARTS"] = "0" }.GetValueOrDefault, nested));
            Assert.Equal("UNICODE_MAX_JOB_STARTS is '0'; expected a whole number ≥ 1", steps.Message);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_transient_failure_is_retried_with_the_waits_given_and_anything_else_or_the_last_failure_is_thrown()
    {
        var waits = new[] { TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(3) };
        var retry = new TransientRetry(waits, TimeProvider.System, NullLogger.Instance);

        var calls = 0;
        var value = await retry.RunAsync("flaky", _ => ++calls < 3 ? throw new TimeoutException("database restarting") : Task.FromResult(42), CancellationToken.None);
        Assert.Equal((42, 3), (value, calls));

        calls = 0;
        var permanent = await Assert.ThrowsAsync<InvalidOperationException>(() => retry.RunAsync("bug", _ => { calls++; throw new InvalidOperationException("a bug"); }, CancellationToken.None));
        Assert.Equal(("a bug", 1), (permanent.Message, calls));   // not retried

        calls = 0;
        await Assert.ThrowsAsync<TimeoutException>(() => retry.RunAsync("down", _ => { calls++; throw new TimeoutException("still down"); }, CancellationToken.None));
        Assert.Equal(4, calls);   // the first try and one per wait
    }

    [Fact]
    public void The_default_retry_window_rides_out_a_restart_of_minutes_and_is_configurable()
    {
        var backoff = RabbitMqSettings.Backoff(TimeSpan.FromMinutes(3));
        Assert.Equal(TimeSpan.FromMilliseconds(500), backoff[0]);
        Assert.Equal(TimeSpan.FromMinutes(3), backoff.Aggregate(TimeSpan.Zero, (a, b) => a + b));
        Assert.True(backoff.All(w => w <= TimeSpan.FromSeconds(30)));
        Assert.Equal([TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1.5)], RabbitMqSettings.Backoff(TimeSpan.FromSeconds(3)));
        Assert.Empty(RabbitMqSettings.Backoff(TimeSpan.Zero));

        var env = new Dictionary<string, string>
        {
            ["UNICODE_RABBITMQ_HOST"] = "h", ["UNICODE_RABBITMQ_PORT"] = "5672", ["UNICODE_RABBITMQ_VHOST"] = "v", ["UNICODE_RABBITMQ_USER"] = "u", ["UNICODE_RABBITMQ_PASS"] = "p",
        };
        Assert.Equal(TimeSpan.FromMinutes(3), RabbitMqSettings.FromEnvironment(env.GetValueOrDefault).RetryWindow);
        env["UNICODE_RETRY_WINDOW_SECONDS"] = "600";
        Assert.Equal(TimeSpan.FromMinutes(10), RabbitMqSettings.FromEnvironment(env.GetValueOrDefault).RetryWindow);
        env["UNICODE_RETRY_WINDOW_SECONDS"] = "soon";
        Assert.Equal("UNICODE_RETRY_WINDOW_SECONDS is 'soon'; expected seconds in 0..86400 (0 = no retries), e.g. 180",
            Assert.Throws<InvalidOperationException>(() => RabbitMqSettings.FromEnvironment(env.GetValueOrDefault)).Message);
    }

    [Fact]
    public void Head_options_override_the_task_defaults_and_reject_unknown_or_reserved_fields()
    {
        var task = DownstreamJobs.Task("avvp", "FinetuneHead.Task");
        Assert.Equal((HeadKind.Localization, 50), (task.Kind, task.Defaults.Epochs));
        var o = DownstreamJobs.WithOverrides(task.Defaults, JsonNode.Parse("""{"epochs": 5, "learningRate": 0.001, "lrMilestones": [2, 4], "localizationScoring": "micro"}"""), "options");
        Assert.Equal((5, 0.001, LocalizationScoring.Micro, 80), (o.Epochs, o.LearningRate, o.LocalizationScoring, o.BatchSize));
        Assert.Equal([2, 4], o.LrMilestones);

        Assert.Equal("options.epoch is not a head option; expected one of epochs, batchSize, evalBatchSize, learningRate, adamBeta1, adamBeta2, adamEpsilon, gradientClip, lrMilestones, lrGamma, minSteps, encoderTrainMode, trainSplit, valSplit, testSplit, localizationScoring, retrievalEmbeddingDim, retrievalTemperature",
            Assert.Throws<JobRejectedException>(() => DownstreamJobs.WithOverrides(task.Defaults, JsonNode.Parse("""{"epoch": 5}"""), "options")).Message);
        Assert.Equal("options.seed cannot be set: the job takes it from its message",
            Assert.Throws<JobRejectedException>(() => DownstreamJobs.WithOverrides(task.Defaults, JsonNode.Parse("""{"seed": 5}"""), "options")).Message);
        Assert.Equal("options: config field 'Epochs' = 0: expected at least 1",
            Assert.Throws<JobRejectedException>(() => DownstreamJobs.WithOverrides(task.Defaults, JsonNode.Parse("""{"epochs": 0}"""), "options")).Message);
        Assert.Contains("cross-dataset transfer", Assert.Throws<JobRejectedException>(() => DownstreamJobs.Task("ucf2vgg", "FinetuneHead.Task")).Message);
        Assert.Equal("EvaluateHead.Protocol: protocol 'paper': expected 'held-out' or 'reference'",
            Assert.Throws<JobRejectedException>(() => DownstreamJobs.Protocol("paper", "EvaluateHead.Protocol")).Message);
    }

    [Fact]
    public void The_artifact_store_names_files_by_content_and_stores_each_once()
    {
        var root = Directory.CreateTempSubdirectory("unicode-artifacts-").FullName;
        try
        {
            var store = new ArtifactStore(Path.Combine(root, "store"));
            var source = Path.Combine(root, "a.bin");
            File.WriteAllText(source, "abc");
            const string sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";   // sha256("abc")
            var stored = store.Put(source);
            var path = store.PathOf(stored);
            Assert.Equal(sha, stored);
            Assert.Equal(Path.Combine(root, "store", "sha256", "ba", sha[2..]), path);
            Assert.Equal("abc", File.ReadAllText(path));
            Assert.Equal((sha, path), (store.Put(source, sha), store.PathOf(sha)));
            Assert.Throws<ArtifactHashMismatchException>(() => store.Put(source, new string('0', 64)));
            Assert.False(store.Exists(new string('0', 64)));
            // A file whose sha256 is stored already is still hashed: a different file claiming that sha256 is refused.
            File.WriteAllText(source, "abd");
            Assert.Throws<ArtifactHashMismatchException>(() => store.Put(source, sha));
            Assert.False(store.Exists("not-a-sha256"));
            Assert.Empty(Directory.GetFiles(Path.Combine(root, "store", "tmp")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
