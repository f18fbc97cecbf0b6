using MassTransit;
using UniCode.Contracts.Evaluation;
using UniCode.Contracts.Finetuning;
using UniCode.Contracts.Pretraining;

namespace UniCode.Messaging;

/// <summary>The job kinds, their command types and the queues their workers consume them from.</summary>
public static class JobQueues
{
    /// <summary>The job kind of a job command type ("pretrain", "finetune", "evaluate"), or null for another type.</summary>
    public static string? KindOf(Type message) =>
        message == typeof(PretrainModel) ? "pretrain"
        : message == typeof(FinetuneHead) ? "finetune"
        : message == typeof(EvaluateHead) ? "evaluate"
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
            "pretrain" => names.Message<PretrainModel>(),
            "finetune" => names.Message<FinetuneHead>(),
            "evaluate" => names.Message<EvaluateHead>(),
            _ => throw new ArgumentException($"job kind '{jobKind}': expected pretrain, finetune or evaluate", nameof(jobKind)),
        };
    }
}
