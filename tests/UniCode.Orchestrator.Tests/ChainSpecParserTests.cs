using System.Text.Json;
using UniCode.Messaging;
using UniCode.Model.Config;
using UniCode.Orchestrator.Chains;
using UniCode.Persistence;
using UniCode.Persistence.Entities;

namespace UniCode.Orchestrator.Tests;

/// <summary>Validation and resolution of chain specs (the database only answers dataset and checkpoint look-ups).</summary>
[Collection(ServerCollection.Name)]
public sealed class ChainSpecParserTests(ServerFixture servers) : IAsyncLifetime
{
    private static readonly OrchestratorOptions Options = new() { CodeVersion = "code-a", EvalCodeVersion = "eval-b" };
    private TestDatabase _db = null!;

    public async Task InitializeAsync()
    {
        _db = await servers.DatabaseForClassAsync(typeof(ChainSpecParserTests));
        await DatabaseMigrator.MigrateAsync(_db.ConnectionString, CancellationToken.None);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<ChainSpecParser.Result> ParseAsync(string spec)
    {
        await using var db = ResultsDbContextOptions.CreateContext(_db.ConnectionString);
        return await new ChainSpecParser(Options).ParseAsync(db, spec, CancellationToken.None);
    }

    [Fact]
    public async Task Preset_then_method_then_config_fields_make_the_model_config_of_each_seed()
    {
        var result = await ParseAsync("""
            { "dataset": "synth:classes=3", "preset": "small", "method": "baseline", "config": { "useClub": true, "epochs": 2 },
              "seeds": [5, 6], "finetune": { "lr": 0.1, "epochs": 3 },
              "tasks": [ { "task": "ave", "directions": ["v2a", "a2v", "v2v"] }, { "task": "avvp", "directions": ["a2v"], "protocol": "reference", "split": "val" } ] }
            """);

        var plan = Assert.IsType<ChainPlan>(result.Plan);
        // baseline switches everything off; the spec's useClub wins over the method.
        var expected = ChainProcessManagerTests.Fitted(UniCodeConfig.Small, "synth:classes=3").WithMethod(Method.Baseline) with { UseClub = true, Epochs = 2 };
        Assert.Equal([5L, 6L], plan.Lineages.Select(l => l.Seed));
        Assert.Equal((expected with { Seed = 6 }).ToCanonicalJson(), plan.Lineages[1].ConfigJson);
        Assert.Equal((expected with { Seed = 6 }).Hash(), plan.Lineages[1].ConfigHash);
        Assert.Equal("""{"epochs":3,"lr":0.1}""", plan.FinetuneOptionsJson);   // keys sorted
        Assert.Equal(("code-a", "eval-b"), (plan.CodeVersion, plan.EvalCodeVersion));
        // A synth: dataset is keyed by its content hash, as the trainer checks it.
        using (var synth = UniCode.Data.DatasetOpener.Open("synth:classes=3"))
            Assert.Equal(synth.ContentHash(), plan.DatasetHash);
        Assert.NotEqual(ChainSpecParser.NameHash("synth:classes=3"), plan.DatasetHash);
        var ave = plan.Task("ave");
        Assert.Equal(["video", "audio"], ave.SourceModalities);
        Assert.Equal(("held-out", "test", "synth:classes=3"), (ave.Protocol, ave.Split, ave.Dataset));
        Assert.Equal(new DirectionPlan("a2v", "audio", "video"), plan.Task("avvp").Directions.Single());
        Assert.Equal(("reference", "val"), (plan.Task("avvp").Protocol, plan.Task("avvp").Split));
        // per seed: pretrain + register + 3 fine-tunings (ave: video, audio; avvp: audio) + 4 evaluations
        Assert.Equal(2 * (2 + 3 + 4), plan.StepCount);
        Assert.Equal(plan.ToJson(), ChainPlan.FromJson(plan.ToJson()).ToJson());
        Assert.Null(plan.MaxRestarts);   // the coordinator's default applies

        // spec.maxRestarts is kept in the plan and changes no step key.
        var bounded = Assert.IsType<ChainPlan>((await ParseAsync("""
            { "dataset": "synth:classes=3", "preset": "small", "method": "baseline", "config": { "useClub": true, "epochs": 2 },
              "seeds": [5, 6], "maxRestarts": 0, "tasks": [ { "task": "ave", "directions": ["v2a"] } ] }
            """)).Plan);
        Assert.Equal(0, bounded.MaxRestarts);
        Assert.Equal(0, ChainPlan.FromJson(bounded.ToJson()).MaxRestarts);
        Assert.Equal(plan.Lineages.Select(l => l.ConfigHash), bounded.Lineages.Select(l => l.ConfigHash));
    }

    [Fact]
    public async Task Registered_datasets_are_keyed_by_content_and_checkpoints_are_found_by_alias()
    {
        var contentHash = StepKeys.Sha256Hex(Guid.NewGuid().ToByteArray());
        var run = new Run
        {
            Id = Guid.NewGuid(), Kind = RunKinds.Pretrain, StepKey = StepKeys.Sha256Hex(Guid.NewGuid().ToByteArray()), ConfigJson = "{}",
            ConfigHash = "", CodeVersion = "", DatasetHash = "", Status = RunStatuses.Succeeded, CreatedAt = DateTimeOffset.UtcNow,
        };
        var checkpoint = new Checkpoint
        {
            Sha256 = StepKeys.Sha256Hex(Guid.NewGuid().ToByteArray()), RunId = run.Id, ConfigHash = "", DatasetHash = "", Seed = 91,
            CodeVersion = "", Uri = "file:///c", CreatedAt = DateTimeOffset.UtcNow,
        };
        var alias = "best-val-" + Guid.NewGuid().ToString("N")[..8];
        await using (var db = ResultsDbContextOptions.CreateContext(_db.ConnectionString))
        {
            db.Datasets.Add(new Dataset { Id = Guid.NewGuid(), Name = "ave:/data/AVE-registered", Kind = "ave", ContentHash = contentHash, CreatedAt = DateTimeOffset.UtcNow });
            db.AddRange(run, checkpoint, new CheckpointAlias { Name = alias, CheckpointSha256 = checkpoint.Sha256, UpdatedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync();
        }

        var reevaluation = (await ParseAsync($$"""
            { "checkpoint": "{{alias}}", "codeVersion": "eval-c", "tasks": [ { "task": "ave", "dataset": "AVE:/data/AVE-registered", "directions": ["v2a"] } ] }
            """)).Plan!;

        Assert.Equal((checkpoint.Sha256, (string?)null), (reevaluation.Checkpoint, reevaluation.Dataset));
        Assert.Equal(91L, Assert.Single(reevaluation.Lineages).Seed);   // the checkpoint's seed
        Assert.Null(reevaluation.Lineages[0].ConfigJson);
        Assert.Equal(("ave:/data/AVE-registered", contentHash), (reevaluation.Tasks[0].Dataset, reevaluation.Tasks[0].DatasetHash));   // kind normalised, content hash
        Assert.Equal(("eval-c", "eval-c"), (reevaluation.CodeVersion, reevaluation.EvalCodeVersion));
        Assert.Equal(1 + 1, reevaluation.StepCount);   // one fine-tuning, one evaluation
    }

    [Theory]
    [InlineData("""[1]""", "spec: a JSON array; expected a ChainSpec object")]
    [InlineData("""{"dataset": "ave:/d", "tasks": [{"task": "ave", "directions": ["v2a"]}], "epochs": 3}""", "spec.epochs: unknown field; expected only dataset, checkpoint, method, preset, config, seeds, finetune, tasks, codeVersion, maxRestarts")]
    [InlineData("""{"tasks": [{"task": "ave", "directions": ["v2a"]}]}""", "spec.dataset: missing; expected the pre-training dataset as KIND:PATH (e.g. ave:/data/AVE), or spec.checkpoint for a re-evaluation")]
    [InlineData("""{"dataset": "ave:/d", "method": "magic", "tasks": [{"task": "ave", "directions": ["v2a"]}]}""", "spec.method: 'magic' is not a method; expected one of baseline, cmcm, dcidCmcm, uniCode")]
    [InlineData("""{"dataset": "ave:/d", "preset": "huge", "tasks": [{"task": "ave", "directions": ["v2a"]}]}""", "spec.preset: 'huge' is not a preset; expected one of paper, reduced, small")]
    [InlineData("""{"dataset": "ave:/d", "config": [], "tasks": [{"task": "ave", "directions": ["v2a"]}]}""", "spec.config: a JSON array; expected an object of UniCodeConfig fields (camelCase), e.g. {\"epochs\": 2}")]
    [InlineData("""{"dataset": "ave:/d", "seeds": [1, 1], "tasks": [{"task": "ave", "directions": ["v2a"]}]}""", "spec.seeds[1]: 1 appears twice; expected distinct seeds")]
    [InlineData("""{"dataset": "ave:/d", "maxRestarts": -1, "tasks": [{"task": "ave", "directions": ["v2a"]}]}""", "spec.maxRestarts: -1; expected a whole number ≥ 0 (restarts of one job before the chain fails)")]
    [InlineData("""{"dataset": "ave:/d", "maxRestarts": "2", "tasks": [{"task": "ave", "directions": ["v2a"]}]}""", "spec.maxRestarts: \"2\"; expected a whole number ≥ 0 (restarts of one job before the chain fails)")]
    [InlineData("""{"dataset": "ave:/d", "seeds": [], "tasks": [{"task": "ave", "directions": ["v2a"]}]}""", "spec.seeds: an empty array; expected an array of at least one integer seed, e.g. [43, 44]")]
    [InlineData("""{"dataset": "ave:/d", "finetune": 3, "tasks": [{"task": "ave", "directions": ["v2a"]}]}""", "spec.finetune: a JSON number; expected an object of downstream-head options, e.g. {\"epochs\": 30}")]
    [InlineData("""{"dataset": "ave:/d", "tasks": []}""", "spec.tasks: an empty array; expected at least one task, e.g. [{\"task\": \"ave\", \"directions\": [\"v2a\", \"a2v\"]}]")]
    [InlineData("""{"dataset": "ave:/d", "tasks": [{"task": "ave", "directions": ["v2a"]}, {"task": "ave", "directions": ["a2v"]}]}""", "spec.tasks[1].task: 'ave' appears twice; expected each task once per chain")]
    [InlineData("""{"dataset": "ave:/d", "tasks": [{"task": "ave", "directions": []}]}""", "spec.tasks[0].directions: missing or empty; expected at least one direction such as \"v2a\" (train on video, test on audio)")]
    [InlineData("""{"dataset": "ave:/d", "tasks": [{"task": "ave", "directions": ["v2a", "v2a"]}]}""", "spec.tasks[0].directions[1]: 'v2a' appears twice; expected distinct directions")]
    [InlineData("""{"dataset": "ave:/d", "tasks": [{"task": "ave", "directions": ["v2a"], "protocol": "linear"}]}""", "spec.tasks[0].protocol: 'linear' is not a protocol; expected one of held-out, reference")]
    [InlineData("""{"dataset": "ave:/d", "tasks": [{"task": "ave", "directions": ["v2a"], "dataset": "ave:"}]}""", "spec.tasks[0].dataset: dataset name 'ave:' has an empty path; expected ave:<directory>")]
    [InlineData("""{"checkpoint": "best", "config": {}, "tasks": [{"task": "ave", "directions": ["v2a"]}]}""", "spec.config: not allowed with spec.checkpoint (a re-evaluation fine-tunes a registered checkpoint and does not pre-train)")]
    [InlineData("""{"dataset": "synth:cells=12;x", "tasks": [{"task": "ave", "directions": ["v2a"]}]}""", "spec.dataset: dataset name 'synth:cells=12;x': synth spec: cells='12;x'; expected an integer")]
    [InlineData("""{"dataset": "synth:cells=12`id`", "tasks": [{"task": "ave", "directions": ["v2a"]}]}""", "spec.dataset: dataset name 'synth:cells=12`id`': synth spec: cells='12`id`'; expected an integer")]
    [InlineData("""{"dataset": "synth:clips=2", "tasks": [{"task": "ave", "directions": ["v2a"]}]}""", "spec.dataset: dataset name 'synth:clips=2': synth spec: clips=2; expected at least 3 (one per split)")]
    [InlineData("""{"dataset": "ave:/d", "tasks": [{"task": "ave", "directions": ["v2a"], "dataset": "synth:x=1"}]}""", "spec.tasks[0].dataset: dataset name 'synth:x=1': synth spec 'x=1': unknown key 'x'; expected one of seed, clips, classes, segments, audio, grid, video, text, proto, signal, style, noise, jitter, distractors, distractor_rate, min_len, max_len, cells, offset, rectify, train, val")]
    [InlineData("""{"dataset": "synth:clips=12,classes=3,audio=8,video=4,grid=5,text=0", "preset": "small", "config": {"batchSize": 16}, "tasks": [{"task": "ave", "directions": ["v2a"]}]}""",
        "spec.config.batchSize: config field 'BatchSize' = 16: expected at most 8: the pre-training split 'train' of synth:seed=7,clips=12,classes=3,segments=10,audio=8,grid=5,video=4,text=0,proto=16,signal=1,style=2,noise=0.5,jitter=0.3,distractors=8,distractor_rate=0.5,min_len=2,max_len=10,cells=3,offset=0,rectify=0,train=0.7,val=0.15 has 8 clips (the batch size was set by spec.config.batchSize; leave it unset and it shrinks to the split's size)")]
    public async Task Invalid_specs_are_explained_by_field(string spec, string reason)
    {
        var result = await ParseAsync(spec);

        Assert.Null(result.Plan);
        Assert.Equal(reason, result.Error);
    }

    [Fact]
    public async Task A_training_split_smaller_than_the_presets_batch_shrinks_the_batch_in_the_plan()
    {
        const string twelve = "synth:clips=12,classes=3,audio=8,video=4,grid=5,text=0";   // train 8, val 2, test 2
        var plan = (await ParseAsync($$"""{"dataset": "{{twelve}}", "preset": "small", "tasks": [{"task": "ave", "directions": ["v2a"]}]}""")).Plan!;
        var expected = ChainProcessManagerTests.Fitted(UniCodeConfig.Small, twelve) with { BatchSize = 8, Seed = UniCodeConfig.Small.Seed };
        Assert.Equal(expected.ToCanonicalJson(), plan.Lineages.Single().ConfigJson);   // the batch size the trainer will use is the one keyed and stored

        // a batch the spec chose, and that fits, is kept
        var chosen = (await ParseAsync($$"""{"dataset": "{{twelve}}", "preset": "small", "config": {"batchSize": 4}, "tasks": [{"task": "ave", "directions": ["v2a"]}]}""")).Plan!;
        Assert.Equal(4, UniCodeConfig.FromJson(chosen.Lineages.Single().ConfigJson!).BatchSize);
    }

    [Fact]
    public void Canonical_json_sorts_keys_at_every_depth_and_drops_whitespace()
    {
        using var document = JsonDocument.Parse("""{ "b": [ { "z": 1, "a": null } ], "a": { "d": true, "c": "x" } }""");

        Assert.Equal("""{"a":{"c":"x","d":true},"b":[{"a":null,"z":1}]}""", CanonicalJson.Write(document.RootElement));
    }
}
