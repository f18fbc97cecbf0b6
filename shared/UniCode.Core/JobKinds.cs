namespace UniCode.Core;

/// <summary>
/// The job kinds, written once: the kind of a job command (JobFailed.JobKind, WorkerQueue.JobKind), of its run
/// (runs.kind) and of its chain step (chain_steps.kind). <c>RunKinds</c> and <c>ChainStepKinds</c> (persistence)
/// and <c>JobQueues</c> (messaging) name these constants instead of repeating the strings.
/// </summary>
public static class JobKinds
{
    public const string Pretrain = "pretrain";
    public const string Finetune = "finetune";
    public const string Evaluate = "evaluate";

    public static IReadOnlyList<string> All { get; } = [Pretrain, Finetune, Evaluate];
}
