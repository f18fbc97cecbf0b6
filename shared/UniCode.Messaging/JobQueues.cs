using MassTransit;
using UniCode.Contracts.Evaluation;
using UniCode.Contracts.Finetuning;
using UniCode.Contracts.Pretraining;
using UniCode.Core;

namespace UniCode.Messaging;

/// <summary>The job kinds (<see cref="JobKinds"/>), their command types and the queues their workers consume them from.</summary>
public static class JobQueues
{
    /// <summary>The job kind of a job command type ("pretrain", "finetune", "evaluate"), or null for another type.</summary>
    public static string? KindOf(Type message) =>
        message == typeof(PretrainModel) ? JobKinds.Pretrain
        : message == typeof(FinetuneHead) ? JobKinds.Finetune
        : message == typeof(EvaluateHead) ? JobKinds.Evaluate
        : null;

    /// <summary>
    /// The queue the workers of <paramref name="jobKind"/> consume, named as <see cref="BusServiceCollectionExtensions.AddUniCodeBus"/>
    /// names it (kebab-case, with the bus prefix): "pretrain-model", "finetune-head", "evaluate-head".
    /// </summary>
    public static string For(string jobKind, string? prefix)
    {
        var names = new KebabCaseEndpointNameFormatter(prefix, false);
        return jobKind switch
        {
            JobKinds.Pretrain => names.Message<PretrainModel>(),
            JobKinds.Finetune => names.Message<FinetuneHead>(),
            JobKinds.Evaluate => names.Message<EvaluateHead>(),
            _ => throw new ArgumentException($"job kind '{jobKind}': expected {string.Join(", ", JobKinds.All)}", nameof(jobKind)),
        };
    }
}
