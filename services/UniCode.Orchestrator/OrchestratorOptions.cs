using System.Globalization;
using Quartz;
using UniCode.Messaging;
using UniCode.Settings;

namespace UniCode.Orchestrator;

/// <summary>
/// Settings of the chain coordinator. <see cref="FromEnvironment(Func{string, string?})"/> reads them
/// from UNICODE_* configuration keys (the one binding path, <see cref="ISettings{TSelf}"/>); every variable is optional.
/// The host reads them from its configuration and registers them as options validated on start.
/// </summary>
public sealed record OrchestratorOptions : ISettings<OrchestratorOptions>
{
    public const string CodeVersionVariable = "UNICODE_CODE_VERSION";
    public const string EvalCodeVersionVariable = "UNICODE_EVAL_CODE_VERSION";
    public const string ReevaluationCronVariable = "UNICODE_REEVALUATION_CRON";
    public const string DispatchTimeoutVariable = "UNICODE_DISPATCH_TIMEOUT";
    public const string MaxDispatchAttemptsVariable = "UNICODE_MAX_DISPATCH_ATTEMPTS";
    public const string CancelTimeoutVariable = "UNICODE_CANCEL_TIMEOUT";
    public const string ReconcileIntervalVariable = "UNICODE_RECONCILE_INTERVAL";
    public const string HeartbeatLeaseVariable = WorkerLease.Variable;
    public const string MaxRestartsVariable = "UNICODE_MAX_RESTARTS";

    /// <summary>Code version of pre-training and fine-tuning steps (part of their step keys). Default: this build's git commit.</summary>
    public string CodeVersion { get; init; } = Model.Runtime.CodeVersion.Current;

    /// <summary>Code version of evaluation steps, and the version the nightly re-evaluation looks for in downstream_results.</summary>
    public string EvalCodeVersion { get; init; } = Model.Runtime.CodeVersion.Current;

    /// <summary>A step still "dispatched" (no progress, no result) this long after its dispatch is re-dispatched.</summary>
    public TimeSpan DispatchTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Dispatches of one step before its chain fails for want of an answer.</summary>
    public int MaxDispatchAttempts { get; init; } = 5;

    /// <summary>A cancelling chain whose jobs have not confirmed by then is marked cancelled anyway.</summary>
    public TimeSpan CancelTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the reconciler looks for stuck steps and chains (at least every sixth of <see cref="HeartbeatLease"/>: <see cref="ReconcileTick"/>).</summary>
    public TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A running step whose job sent no heartbeat for this long is stalled, and a worker not heard from for this long
    /// is not alive. Make it several of the workers' UNICODE_HEARTBEAT_SECONDS (default 10 s): 3 intervals.
    /// </summary>
    public TimeSpan HeartbeatLease { get; init; } = WorkerLease.Default;

    /// <summary>
    /// Restarts of one lost job (its worker died or went silent; re-dispatches and redeliveries) before its step and
    /// chain fail as a poison job. A chain's spec may set its own (spec.maxRestarts, <c>unicode submit chain --max-restarts</c>).
    /// </summary>
    public int MaxRestarts { get; init; } = 3;

    /// <summary>
    /// How often the reconciler actually runs: <see cref="ReconcileInterval"/>, or a sixth of the lease when that is
    /// shorter (5 s by default); with <see cref="LeaseExpiry"/>, a dead worker's step is stalled at most a lease after its last heartbeat.
    /// </summary>
    public TimeSpan ReconcileTick => ReconcileInterval < HeartbeatLease / 6 ? ReconcileInterval : HeartbeatLease / 6;

    /// <summary>
    /// The silence after which the reconciler counts a lease as expired (a step's job, a worker): the lease less one
    /// <see cref="ReconcileTick"/>. A pass comes at most a tick later, so a dead worker's step is stalled at most one
    /// lease after its last heartbeat (before: up to a lease and a tick, 35 s against 30), and never before 5/6 of it.
    /// </summary>
    public TimeSpan LeaseExpiry => HeartbeatLease - ReconcileTick;

    /// <summary>Quartz cron (seconds first, UTC) of the re-evaluation sweep. Default: every night at 02:00 UTC.</summary>
    public string ReevaluationCron { get; init; } = "0 0 2 * * ?";

    /// <summary>Submissions of one (checkpoint, suite, eval code version) pair whose chains failed before the sweep gives up on it.</summary>
    public int ReevaluationMaxAttempts { get; init; } = 3;

    /// <summary>
    /// Quartz scheduler name: the cluster's name in the qrtz_ tables (every instance uses the same one)
    /// and unique within a process (tests with several hosts in one process give each its own).
    /// </summary>
    public string SchedulerName { get; init; } = "unicode-orchestrator";

    /// <summary>Checks every field; throws <see cref="ArgumentException"/> naming the field and what it expects.</summary>
    public OrchestratorOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(CodeVersion)) throw new ArgumentException($"OrchestratorOptions.CodeVersion ({CodeVersionVariable}): expected a git commit, got an empty value");
        if (string.IsNullOrWhiteSpace(EvalCodeVersion)) throw new ArgumentException($"OrchestratorOptions.EvalCodeVersion ({EvalCodeVersionVariable}): expected a git commit, got an empty value");
        if (DispatchTimeout <= TimeSpan.Zero) throw new ArgumentException($"OrchestratorOptions.DispatchTimeout ({DispatchTimeoutVariable}) = {DispatchTimeout}: expected a positive duration");
        if (MaxDispatchAttempts < 1) throw new ArgumentException($"OrchestratorOptions.MaxDispatchAttempts ({MaxDispatchAttemptsVariable}) = {MaxDispatchAttempts}: expected at least 1");
        if (CancelTimeout <= TimeSpan.Zero) throw new ArgumentException($"OrchestratorOptions.CancelTimeout ({CancelTimeoutVariable}) = {CancelTimeout}: expected a positive duration");
        if (ReconcileInterval <= TimeSpan.Zero) throw new ArgumentException($"OrchestratorOptions.ReconcileInterval ({ReconcileIntervalVariable}) = {ReconcileInterval}: expected a positive duration");
        if (HeartbeatLease <= TimeSpan.Zero) throw new ArgumentException($"OrchestratorOptions.HeartbeatLease ({HeartbeatLeaseVariable}) = {HeartbeatLease}: expected a positive duration (several worker heartbeat intervals)");
        if (MaxRestarts < 0) throw new ArgumentException($"OrchestratorOptions.MaxRestarts ({MaxRestartsVariable}) = {MaxRestarts}: expected a whole number ≥ 0");
        if (!CronExpression.TryParse(ReevaluationCron, out _))
            throw new ArgumentException($"OrchestratorOptions.ReevaluationCron ({ReevaluationCronVariable}) = '{ReevaluationCron}': expected a Quartz cron expression with seconds, e.g. '0 0 2 * * ?' (02:00 every day)");
        if (ReevaluationMaxAttempts < 1) throw new ArgumentException($"OrchestratorOptions.ReevaluationMaxAttempts = {ReevaluationMaxAttempts}: expected at least 1");
        if (string.IsNullOrWhiteSpace(SchedulerName)) throw new ArgumentException("OrchestratorOptions.SchedulerName: expected a name, got an empty value");
        return this;
    }

    public static OrchestratorOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>Reads the UNICODE_* variables through <paramref name="lookup"/>; unset ones keep their defaults.</summary>
    public static OrchestratorOptions FromEnvironment(Func<string, string?> lookup)
    {
        var o = new OrchestratorOptions();
        if (Value(lookup, CodeVersionVariable) is { } code) o = o with { CodeVersion = code, EvalCodeVersion = code };
        if (Value(lookup, EvalCodeVersionVariable) is { } eval) o = o with { EvalCodeVersion = eval };
        if (Value(lookup, ReevaluationCronVariable) is { } cron) o = o with { ReevaluationCron = cron };
        if (Value(lookup, DispatchTimeoutVariable) is { } dispatch) o = o with { DispatchTimeout = Duration(DispatchTimeoutVariable, dispatch) };
        if (Value(lookup, CancelTimeoutVariable) is { } cancel) o = o with { CancelTimeout = Duration(CancelTimeoutVariable, cancel) };
        if (Value(lookup, ReconcileIntervalVariable) is { } reconcile) o = o with { ReconcileInterval = Duration(ReconcileIntervalVariable, reconcile) };
        o = o with { HeartbeatLease = WorkerLease.FromEnvironment(lookup) };
        if (Value(lookup, MaxRestartsVariable) is { } restarts)
        {
            if (!int.TryParse(restarts, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                throw new ArgumentException($"{MaxRestartsVariable} = '{restarts}': expected a whole number, e.g. 3");
            o = o with { MaxRestarts = n };
        }
        if (Value(lookup, MaxDispatchAttemptsVariable) is { } attempts)
        {
            if (!int.TryParse(attempts, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                throw new ArgumentException($"{MaxDispatchAttemptsVariable} = '{attempts}': expected a whole number, e.g. 5");
            o = o with { MaxDispatchAttempts = n };
        }
        return o.Validate();
    }

    private static string? Value(Func<string, string?> lookup, string name) => lookup(name) is { Length: > 0 } v && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;

    private static TimeSpan Duration(string variable, string text) =>
        TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var t)
            ? t
            : throw new ArgumentException($"{variable} = '{text}': expected a duration hh:mm:ss, e.g. 00:30:00");
}
