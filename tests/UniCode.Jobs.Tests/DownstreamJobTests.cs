using Microsoft.EntityFrameworkCore;
using UniCode.Contracts.Common;
using UniCode.Contracts.Evaluation;
using UniCode.Contracts.Finetuning;
using UniCode.Contracts.Pretraining;
using UniCode.Experiments;
using UniCode.Jobs.Tests.Infrastructure;
using UniCode.Model.Checkpoints;
using UniCode.Model.Config;
using UniCode.Model.Downstream;
using UniCode.Persistence.Entities;
using static TorchSharp.torch;
using EvaluationProgram = UniCode.Evaluation.Program;
using FinetuningProgram = UniCode.Finetuning.Program;
using TrainerProgram = UniCode.Trainer.Program;

namespace UniCode.Jobs.Tests;

/// <summary>Pre-train → fine-tune → evaluate through the three services, on the real RabbitMQ and PostgreSQL.</summary>
[Collection(ServerCollection.Name)]
public sealed class DownstreamJobTests(ServerFixture servers)
{
    private const string HeldOutConfig = """{"options":{"epochs":3,"minSteps":0},"protocol":"held-out","seed":43,"sourceModality":"video","task":"ave"}""";
    private const string ReferenceConfig = """{"options":{"epochs":3},"protocol":"reference","seed":43,"sourceModality":"video","task":"ave"}""";

    [Fact]
    public async Task Finetune_then_evaluate_writes_results_once_even_when_the_evaluation_is_delivered_twice()
    {
        await using var world = await JobWorld.StartAsync(servers, GetType());
        await world.StartHostAsync("trainer", "trainer-a", TrainerProgram.AddConsumers);
        await world.StartHostAsync("finetuning", "finetuning-a", FinetuningProgram.AddConsumers);
        await world.StartHostAsync("evaluation", "evaluation-a", EvaluationProgram.AddConsumers);

        var pretrain = JobWorld.Pretrain(JobWorld.TinyConfig(epochs: 2), "downstream");
        await world.Bus.Publish(pretrain);
        var checkpoint = (await world.Events.WaitForAsync<PretrainCompleted>(c => c.JobId == pretrain.JobId)).Single();

        // An evaluation of a checkpoint the registry does not know fails at once (its rows would reference it).
        var early = JobWorld.Evaluate(checkpoint.CheckpointSha256, new string('b', 64), "unregistered");
        await world.Bus.Publish(early);
        var refused = (await world.Events.WaitForAsync<JobFailed>(f => f.JobId == early.JobId)).Single();
        Assert.Contains($"{checkpoint.CheckpointSha256} is not registered", refused.Reason);
        await RegisterAsync(world, pretrain, checkpoint);   // what the registry does on PretrainCompleted

        // Fine-tuning: a head on the video codes, stored by sha256.
        var finetune = JobWorld.Finetune(checkpoint.CheckpointSha256, HeldOutConfig, "held-out");
        await world.Bus.Publish(finetune);
        var tuned = (await world.Events.WaitForAsync<HeadFinetuned>(h => h.JobId == finetune.JobId)).Single();
        Assert.Equal(Path.Combine(world.ArtifactsDirectory, "sha256", tuned.HeadSha256[..2], tuned.HeadSha256[2..]), tuned.HeadUri);
        var file = HeadFile.Load(tuned.HeadUri, tuned.HeadSha256);
        Assert.Equal(checkpoint.CheckpointSha256, file.ParentSha256);
        Assert.Equal((HeadKind.Classification, "ave", Modality.Video, EvaluationProtocol.HeldOut, 43), (file.Head.Kind, file.Head.Task, file.Head.Source, file.Head.Protocol, file.Head.Seed));
        Assert.Equal(3, file.Head.History.Count);
        Assert.Equal(("video", "ave", checkpoint.CheckpointSha256), (tuned.SourceModality, tuned.Task, tuned.CheckpointSha256));
        Assert.Contains(tuned.Metrics, m => m.Name == "selected_epoch" && m.Value == file.Head.Weights.Single().Epoch);
        var progress = world.Events.All<FinetuneProgressed>(p => p.JobId == finetune.JobId);
        Assert.Equal([1L, 2, 3], progress.Select(p => p.Step).Order());
        Assert.All(progress, p => Assert.Contains(p.Metrics, m => m.Name == "val/v2v/accuracy"));

        // Evaluation, delivered twice: one set of rows, two identical HeadEvaluated.
        var evaluate = JobWorld.Evaluate(checkpoint.CheckpointSha256, tuned.HeadSha256, "held-out");
        await world.Bus.Publish(evaluate);
        await world.Bus.Publish(evaluate);
        var evaluated = await world.Events.WaitForAsync<HeadEvaluated>(e => e.JobId == evaluate.JobId, count: 2);
        await using (var db = world.Db())
        {
            var rows = await db.DownstreamResults.AsNoTracking().Where(r => r.CheckpointSha256 == checkpoint.CheckpointSha256).OrderBy(r => r.Metric).ToListAsync();
            // the score, its epoch, and the learning check beside them (chance, collapse, head fit, raw-feature ceiling)
            Assert.Equal(["accuracy", "chance", "collapsed", "epoch", "learned", "probe_ceiling"], rows.Select(r => r.Metric));
            var byMetric = rows.ToDictionary(r => r.Metric, r => r.Value);
            Assert.Equal(100.0 / file.Head.ClassNames.Count, byMetric["chance"], 12);
            Assert.Contains(byMetric["collapsed"], new[] { 0.0, 1.0 });
            Assert.Contains(byMetric["learned"], new[] { 0.0, 1.0 });
            Assert.InRange(byMetric["probe_ceiling"], 0.0, 100.0);
            Assert.All(rows, r =>
            {
                Assert.Equal((evaluate.JobId, "ave", "video", "audio", "test", "held-out"), (r.RunId, r.Task, r.SourceModality, r.TargetModality, r.Split, r.Protocol));
                Assert.Equal(("eval-v1", JobWorld.DatasetHash, 43L), (r.EvalCodeVersion, r.DatasetHash, r.Seed));
            });
            Assert.Equal(file.Head.Weights.Single().Epoch, byMetric["epoch"]);
            foreach (var e in evaluated)
            {
                Assert.Equal(rows.Select(r => new MetricValue(r.Metric, r.Value)), e.Metrics.OrderBy(m => m.Name));
                Assert.Equal(("video", "audio", "test", "held-out", "eval-v1", tuned.HeadSha256), (e.SourceModality, e.TargetModality, e.Split, e.Protocol, e.EvalCodeVersion, e.HeadSha256));
            }
            var run = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == evaluate.JobId);
            Assert.Equal((RunKinds.Evaluate, RunStatuses.Succeeded), (run.Kind, run.Status));

            // The stored accuracy is the head scored on the audio codes of the test split, recomputed here.
            Assert.Equal(ScoreInProcess(checkpoint, file.Head, Modality.Audio, EvaluationProtocol.HeldOut), byMetric["accuracy"]);
        }

        // The reference protocol (explicit): every epoch's head kept, scored on the split it trained on.
        var refTune = JobWorld.Finetune(checkpoint.CheckpointSha256, ReferenceConfig, "reference");
        await world.Bus.Publish(refTune);
        var refHead = (await world.Events.WaitForAsync<HeadFinetuned>(h => h.JobId == refTune.JobId)).Single();
        Assert.Equal(3, HeadFile.Load(refHead.HeadUri, refHead.HeadSha256).Head.Weights.Count);
        var refEval = JobWorld.Evaluate(checkpoint.CheckpointSha256, refHead.HeadSha256, "reference", protocol: "reference");
        await world.Bus.Publish(refEval);
        var refScored = (await world.Events.WaitForAsync<HeadEvaluated>(e => e.JobId == refEval.JobId)).Single();
        Assert.Equal(("train", "reference"), (refScored.Split, refScored.Protocol));
        await using (var db = world.Db())
        {
            var rows = await db.DownstreamResults.AsNoTracking().Where(r => r.RunId == refEval.JobId).ToListAsync();
            Assert.Equal(["accuracy", "chance", "collapsed", "epoch", "learned", "probe_ceiling"], rows.Select(r => r.Metric).Order());
            Assert.All(rows, r => Assert.Equal(("train", "reference"), (r.Split, r.Protocol)));
        }
    }

    private static async Task RegisterAsync(JobWorld world, PretrainModel job, PretrainCompleted completed)
    {
        var meta = CheckpointFile.ReadMetadata(completed.CheckpointUri);
        await using var db = world.Db();
        db.Checkpoints.Add(new Checkpoint
        {
            Sha256 = completed.CheckpointSha256,
            RunId = job.JobId,
            Step = completed.Step,
            Epoch = completed.Epoch,
            ConfigHash = meta.ConfigHash,
            DatasetHash = JobWorld.DatasetHash,
            Seed = meta.Seed,
            CodeVersion = meta.CodeVersion,
            Uri = completed.CheckpointUri,
            SizeBytes = new FileInfo(completed.CheckpointUri).Length,
            CreatedAt = meta.CreatedAt,
        });
        await db.SaveChangesAsync();
    }

    private static double ScoreInProcess(PretrainCompleted checkpoint, TrainedHead head, Modality target, EvaluationProtocol protocol)
    {
        using var scope = NewDisposeScope();
        var (model, _) = CheckpointFile.LoadModel(checkpoint.CheckpointUri, CPU, checkpoint.CheckpointSha256);
        using (model)
        {
            using var dataset = UniCode.Data.DatasetOpener.Open(JobWorld.Dataset);
            using var data = DatasetTensors.Load(dataset, ModalitySet.AudioVisual);
            var options = DownstreamOptions.Ave with { Protocol = protocol, Seed = head.Seed, Precision = model.Config.Precision };
            return EventClassification.Score(head, Experiment.Encoder(model), data.Labeled(), [target], options).Scores.Single().Accuracy;
        }
    }
}
