using System.Text.Json;
using UniCode.Cli.CommandLine;
using UniCode.Cli.Commands.Pipeline;
using UniCode.Messaging;
using UniCode.Persistence.Entities;

namespace UniCode.Cli.Tests;

/// <summary>What `unicode status` prints for stalled steps, restarts and queues nobody serves (issue 10, item 2); no servers.</summary>
public sealed class StatusRenderingTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 10, 5, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    private static ChainStep Step(Chain chain, string kind, string label, string status, int minute, string? reason = null) => new()
    {
        Id = Guid.NewGuid(), ChainId = chain.Id, Chain = chain, Kind = kind, Label = label, StepKey = new string('a', 64), Status = status,
        Reason = reason, CommandType = kind == ChainStepKinds.Register ? null : "UniCode.Contracts.X", CreatedAt = Now.AddMinutes(minute - 10),
    };

    private static Worker Worker(string name, string kind, string queue, TimeSpan ago, Guid? job = null) => new()
    {
        Name = name, JobKind = kind, Service = "trainer", Queue = queue, RunningJobId = job, FirstSeenAt = Now.AddHours(-1), LastSeenAt = Now - ago,
    };

    [Fact]
    public void A_stalled_step_shows_its_reason_and_restarts_and_a_queue_without_a_live_worker_is_named()
    {
        var chain = new Chain { Id = Guid.Parse("11111111-2222-3333-4444-555555555555"), Name = "unicode on synth:", Status = ChainStatuses.Running, SpecJson = "{}", StepCount = 4 };
        var stalledReason = "no heartbeat from worker trainer-a since 2026-12-07 10:03:00Z; no worker alive for queue pretrain-model";
        var pretrain = Step(chain, ChainStepKinds.Pretrain, "pretrain seed=1", ChainStepStatuses.Stalled, 0, stalledReason);
        (pretrain.ProgressStep, pretrain.ProgressTotal, pretrain.Restarts, pretrain.Worker) = (40, 100, 2, "trainer-a");
        var other = Step(chain, ChainStepKinds.Pretrain, "pretrain seed=2", ChainStepStatuses.Dispatched, 1);
        var finetune = Step(chain, ChainStepKinds.Finetune, "finetune ave video seed=3", ChainStepStatuses.Running, 2);
        (finetune.Worker, finetune.Restarts) = ("ft-1", 1);
        var done = Step(chain, ChainStepKinds.Evaluate, "evaluate ave v2a seed=3", ChainStepStatuses.Succeeded, 3);
        chain.Steps = [pretrain, other, finetune, done];
        var workers = new[]
        {
            Worker("trainer-a", "pretrain", "pretrain-model", TimeSpan.FromMinutes(2)),   // dead: not heard from within the lease
            Worker("ft-1", "finetune", "finetune-head", TimeSpan.FromSeconds(5), Guid.NewGuid()),
        };

        var text = PipelineCommands.RenderText([chain.Id], [chain], workers, Now, Lease, null);

        string Line(string status, string label, string rest) => $"  {status,-10} {label,-40} {rest}".TrimEnd();
        Assert.Equal(
        [
            $"chain {chain.Id}  unicode on synth:  [running]  1/4 steps, 1 stalled",
            Line("stalled", "pretrain seed=1", $"[████████············] 40/100  restarted 2 times  {stalledReason}"),
            Line("dispatched", "pretrain seed=2", "  no worker alive for queue pretrain-model"),
            Line("running", "finetune ave video seed=3", "  restarted once  on ft-1"),
            Line("succeeded", "evaluate ave v2a seed=3", ""),
        ], text.TrimEnd('\n').Split('\n'));

        // A worker heard from within the lease: nothing is said about its queue.
        var alive = PipelineCommands.RenderText([chain.Id], [chain], [.. workers, Worker("trainer-b", "pretrain", "pretrain-model", TimeSpan.FromSeconds(10))], Now, Lease, null);
        Assert.Contains(Line("dispatched", "pretrain seed=2", ""), alive.Split('\n'));
        // With no worker ever seen, the queue is named as the workers would name it (bus prefix included).
        var never = PipelineCommands.RenderText([chain.Id], [chain], [], Now, Lease, "dev");
        Assert.Contains("no worker alive for queue dev", never.Split('\n').Single(l => l.Contains("pretrain seed=2", StringComparison.Ordinal)));
        Assert.Contains("pretrain-model", never.Split('\n').Single(l => l.Contains("pretrain seed=2", StringComparison.Ordinal)));
        Assert.Equal(TimeSpan.FromSeconds(30), WorkerLease.FromEnvironment(_ => null));
        Assert.Equal(TimeSpan.FromMinutes(2), WorkerLease.FromEnvironment(n => n == "UNICODE_HEARTBEAT_LEASE" ? "00:02:00" : null));
        // Strict, as the orchestrator reads it: a value it would refuse is not silently the default here.
        Assert.Equal("UNICODE_HEARTBEAT_LEASE = 'soon': expected a duration hh:mm:ss, e.g. 00:00:30",
            Assert.Throws<ArgumentException>(() => WorkerLease.FromEnvironment(n => n == "UNICODE_HEARTBEAT_LEASE" ? "soon" : null)).Message);
        Assert.Throws<ArgumentException>(() => WorkerLease.FromEnvironment(n => n == "UNICODE_HEARTBEAT_LEASE" ? "-00:00:30" : null));
    }

    [Fact]
    public void Submit_chain_carries_max_restarts_in_the_spec_and_refuses_a_negative_one()
    {
        var args = ParsedArgs.Parse(PipelineCommands.SubmitChain, ["--data", "synth:", "--max-restarts", "2"]);
        using var spec = JsonDocument.Parse(PipelineCommands.SpecJson(args, "unicode", null));
        Assert.Equal(2, spec.RootElement.GetProperty("maxRestarts").GetInt32());
        using var without = JsonDocument.Parse(PipelineCommands.SpecJson(ParsedArgs.Parse(PipelineCommands.SubmitChain, ["--data", "synth:"]), "unicode", null));
        Assert.False(without.RootElement.TryGetProperty("maxRestarts", out _));   // the orchestrator's default then
        var negative = Assert.Throws<UsageException>(() => PipelineCommands.SpecJson(ParsedArgs.Parse(PipelineCommands.SubmitChain, ["--data", "synth:", "--max-restarts", "-1"]), "unicode", null));
        Assert.Equal("option '--max-restarts': -1; expected a whole number ≥ 0", negative.Message);
    }
}
