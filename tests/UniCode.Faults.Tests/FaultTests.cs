using Microsoft.EntityFrameworkCore;
using UniCode.Faults.Tests.Infrastructure;
using UniCode.Persistence.Entities;
using Xunit.Abstractions;

namespace UniCode.Faults.Tests;

/// <summary>
/// Issue 10, item 3: faults injected into the real pipeline (service processes, private RabbitMQ and PostgreSQL),
/// each ending with the chain's final state, exact row counts, an empty outbox and the error queues' contents.
/// Cases with <c>[Trait("Category", "ci")]</c> also run in `make test`; all run in `make faults`.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class FaultTests(PrivateServers servers, ITestOutputHelper output)
{
    private static readonly TimeSpan ChainTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    [Trait("Category", "ci")]
    public async Task Trainer_killed_mid_pretraining_is_replaced_and_the_job_resumes()
    {
        await using var p = await Pipeline.StartAsync(servers, output, "kill_trainer");
        var chain = await p.SubmitAsync(pretrainEpochs: 40);
        await p.WaitPretrainProgressAsync(chain, 40, ChainTimeout);
        p.Kill("trainer");
        await p.StartServicesAsync("trainer");
        await p.WaitSucceededAsync(chain, ChainTimeout);
        await p.AssertNoLossNoDuplicateAsync([chain]);
        var pretrain = await p.QueryAsync(db => db.ChainSteps.AsNoTracking().SingleAsync(s => s.ChainId == chain && s.Kind == ChainStepKinds.Pretrain));
        p.Log($"pretrain step: restarts {pretrain.Restarts}, progress {pretrain.ProgressStep}/{pretrain.ProgressTotal}");
    }
}
