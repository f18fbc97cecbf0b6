using System.Reflection;
using UniCode.Contracts.Common;

namespace UniCode.Integration.Tests.Contracts;

/// <summary>The rules every message contract follows (the wire format depends on them).</summary>
public sealed class ContractConventionsTests
{
    private static readonly Type[] Contracts = typeof(RunIdentity).Assembly.GetExportedTypes();

    private static readonly string[] Areas =
    [
        "UniCode.Contracts.Common", "UniCode.Contracts.Preprocessing", "UniCode.Contracts.Pretraining",
        "UniCode.Contracts.Registry", "UniCode.Contracts.Finetuning", "UniCode.Contracts.Evaluation", "UniCode.Contracts.Chains",
    ];

    /// <summary>Commands that start a job.</summary>
    private static readonly string[] JobCommands = ["PreprocessDataset", "PretrainModel", "FinetuneHead", "EvaluateHead"];

    [Fact]
    public void Every_contract_is_a_sealed_immutable_record_in_a_known_area()
    {
        Assert.True(Contracts.Length >= 29, $"found only {Contracts.Length} contracts");
        foreach (var type in Contracts)
        {
            Assert.True(Areas.Contains(type.Namespace), $"{type.FullName}: namespace must be one of {string.Join(", ", Areas)}");
            Assert.True(type.IsSealed, $"{type.FullName} must be sealed");
            Assert.True(type.GetMethod("<Clone>$") is not null, $"{type.FullName} must be a record");
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.Name != "EqualityContract"))
            {
                var setter = property.SetMethod;
                var initOnly = setter?.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(System.Runtime.CompilerServices.IsExternalInit)) ?? true;
                Assert.True(initOnly, $"{type.FullName}.{property.Name} must be get-only or init-only");
                Assert.NotEqual(typeof(DateTime), Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType);
                if (property.Name.EndsWith("Id", StringComparison.Ordinal))
                    Assert.True(property.PropertyType == typeof(Guid) || property.PropertyType == typeof(Guid?), $"{type.FullName}.{property.Name} must be a Guid");
                if (property.PropertyType.IsGenericType && !property.PropertyType.IsValueType)
                    Assert.Equal(typeof(IReadOnlyList<>), property.PropertyType.GetGenericTypeDefinition());
            }
        }
    }

    [Fact]
    public void Job_commands_carry_the_job_identity_and_the_run_identity()
    {
        foreach (var name in JobCommands)
        {
            var type = Contracts.Single(t => t.Name == name);
            Assert.Equal(typeof(Guid), type.GetProperty("JobId")?.PropertyType);
            Assert.Equal(typeof(Guid?), type.GetProperty("ChainId")?.PropertyType);
            Assert.Equal(typeof(string), type.GetProperty("StepKey")?.PropertyType);
            Assert.Equal(typeof(RunIdentity), type.GetProperty("Run")?.PropertyType);
            Assert.Equal(typeof(DateTimeOffset), type.GetProperty("RequestedAt")?.PropertyType);
        }
        Assert.Equal(["CodeVersion", "ConfigHash", "ConfigJson", "DatasetHash", "Seed"],
            typeof(RunIdentity).GetProperties().Select(p => p.Name).Where(n => n != "EqualityContract").Order());
    }

    [Fact]
    public void Job_events_name_their_job_and_chain()
    {
        string[] jobEvents =
        [
            "DatasetPreprocessed", "DatasetRejected", "PretrainProgressed", "PretrainCompleted", "FinetuneProgressed",
            "HeadFinetuned", "HeadEvaluated", "JobFailed", "JobCancelled",
        ];
        foreach (var name in jobEvents)
        {
            var type = Contracts.Single(t => t.Name == name);
            Assert.Equal(typeof(Guid), type.GetProperty("JobId")?.PropertyType);
            Assert.Equal(typeof(Guid?), type.GetProperty("ChainId")?.PropertyType);
        }
    }
}
