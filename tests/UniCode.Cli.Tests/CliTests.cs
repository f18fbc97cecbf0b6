using System.Text.Json;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace UniCode.Cli.Tests;

public sealed class CliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("unicode-cli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>Runs `unicode ARGS` in process; returns exit code, stdout, stderr.</summary>
    private static (int Code, string Out, string Err) Unicode(params string[] args)
    {
        var (stdout, stderr) = (Console.Out, Console.Error);
        using var o = new StringWriter();
        using var e = new StringWriter();
        Console.SetOut(o);
        Console.SetError(e);
        try
        {
            var code = CliApp.Router.Run(args, CancellationToken.None);
            return (code, o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
        }
    }

    [Fact]
    public void Help_lists_every_command_and_each_command_has_its_own_help()
    {
        var (code, output, _) = Unicode("--help");
        Assert.Equal(0, code);
        foreach (var command in new[] { "synth", "run", "bench-science", "codebook", "bench", "migrate" })
        {
            Assert.Contains(command, output);
            var (c, help, _) = Unicode(command, "--help");
            Assert.Equal(0, c);
            Assert.StartsWith($"unicode {command}:", help);
            Assert.Contains("--help", help);
        }
    }

    [Theory]
    [InlineData("unknown option '--nope' for 'unicode run'", "run", "--data", "synth:", "--nope")]
    [InlineData("option '--data' is required for 'unicode run'", "run")]
    [InlineData("option '--seed' = 'x': expected an integer", "run", "--data", "synth:", "--seed", "x")]
    [InlineData("method 'vqvae': expected baseline, cmcm, dcid-cmcm or unicode", "run", "--data", "synth:", "--method", "vqvae")]
    [InlineData("option '--task' = 'segmentation': expected ave, avvp or retrieval", "run", "--data", "synth:", "--task", "segmentation")]
    [InlineData("option '--modalities': modalities 'ax': expected letters from 'a', 'v', 't' (e.g. av, avt), got 'x'", "run", "--data", "synth:", "--modalities", "ax")]
    public void Bad_input_is_a_usage_error_that_names_the_option(string message, params string[] args)
    {
        var (code, _, err) = Unicode(args);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
        Assert.Contains("See 'unicode run --help'", err);
    }

    [Fact]
    public void Unknown_dataset_kinds_are_rejected_with_the_known_kinds()
    {
        var (code, _, err) = Unicode("run", "--data", "imagenet:/x", "--pretrain-epochs", "1");
        Assert.Equal(1, code);
        Assert.StartsWith("unicode run: error: ", err);
        Assert.Contains("imagenet", err);
        Assert.Contains("synth", err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void The_semantic_probe_adds_a_head_on_features_before_quantisation_per_modality()
    {
        var json = Path.Combine(dir, "semantic.json");
        var (code, output, err) = Unicode("run", "--data", "synth:clips=96,classes=4,audio=16,video=8,grid=5,text=0,seed=3",
            "--seed", "2", "--pretrain-epochs", "1", "--downstream-epochs", "2", "--semantic-probe", "--cell-probe", "--json", json);
        Assert.True(code == 0, err);
        Assert.Matches(@"head on semantic features before quantisation: a2a [0-9.]+, v2v [0-9.]+", output);
        Assert.Matches(@"raw-feature probe on every video grid cell \(max over cells and seconds\): v2v [0-9.]+", output);
        Assert.Matches(@"video pooler's attention on the event's grid cells \([0-9]+ event seconds of val\): [0-9.]+ % \(looking everywhere alike: 12.0 %\)", output);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var learning = doc.RootElement.GetProperty("learning");
        var probes = learning.GetProperty("semantic_probes").EnumerateArray().ToList();
        Assert.False(learning.TryGetProperty("before_quantisation", out _));   // each list once
        Assert.Equal(["a2a", "v2v"], probes.Select(p => p.GetProperty("direction").GetString()!));
        Assert.All(probes, p => Assert.InRange(p.GetProperty("value").GetDouble(), 0, 100));
        var attention = learning.GetProperty("video_attention");
        Assert.InRange(attention.GetProperty("share").GetDouble(), 0, 100);
        Assert.Equal(12.0, attention.GetProperty("uniform").GetDouble(), 9);   // 3 object cells of 5 × 5
        var cells = Assert.Single(learning.GetProperty("cell_probes").EnumerateArray());
        Assert.Equal("v2v", cells.GetProperty("direction").GetString());
        Assert.InRange(cells.GetProperty("value").GetDouble(), 0, 100);
    }

    [Fact]
    public void Run_writes_the_documented_json()
    {
        var json = Path.Combine(dir, "r.json");
        var (code, output, _) = Unicode("run", "--data", "synth:clips=96,classes=4,audio=16,video=8,grid=5,text=0,seed=3",
            "--method", "unicode", "--task", "ave", "--seed", "2", "--pretrain-epochs", "1", "--downstream-epochs", "2", "--json", json);
        Assert.Equal(0, code);
        Assert.Contains("| direction |", output);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.Equal("unicode", root.GetProperty("method").GetString());
        Assert.Equal("ave", root.GetProperty("task").GetString());
        Assert.Equal(2, root.GetProperty("seed").GetInt64());
        var results = root.GetProperty("results");
        foreach (var d in new[] { "v2a", "a2v", "v2v", "a2a" })
        {
            var v = results.GetProperty(d).GetDouble();
            Assert.InRange(v, 0, 100);
        }
        Assert.Matches("^[0-9a-f]{64}$", root.GetProperty("config_hash").GetString()!);
        Assert.Matches("^[0-9a-f]{64}$", root.GetProperty("dataset_hash").GetString()!);
        Assert.Matches("^[0-9a-f]{64}$", root.GetProperty("checkpoint_sha256").GetString()!);
        // The thread count, on which a run's numbers depend, is recorded.
        Assert.True(root.GetProperty("threads").GetInt32() >= 1);
        // --pretrain-epochs 1 is exactly one epoch: the minimum-steps rule is off in the recorded config.
        using (var config = JsonDocument.Parse(root.GetProperty("config_json").GetString()!))
        {
            Assert.Equal(1, config.RootElement.GetProperty("epochs").GetInt32());
            Assert.Equal(0, config.RootElement.GetProperty("pretrainMinSteps").GetInt32());
        }
        // The learning check: the raw-feature probe per modality, code statistics per modality, the verdict.
        var learning = root.GetProperty("learning");
        Assert.Equal(new[] { "a2a", "v2v" }, learning.GetProperty("probes").EnumerateArray().Select(p => p.GetProperty("direction").GetString()!).Order().ToArray());
        Assert.All(learning.GetProperty("probes").EnumerateArray(), p => Assert.InRange(p.GetProperty("value").GetDouble(), 0, 100));
        Assert.Equal(2, learning.GetProperty("codes").GetArrayLength());
        Assert.All(learning.GetProperty("codes").EnumerateArray(), c => Assert.True(c.GetProperty("perplexity").GetDouble() >= 1));
        Assert.Equal(["audio", "video"], learning.GetProperty("codes").EnumerateArray().Select(c => c.GetProperty("modality").GetString()!).Order());
        Assert.Equal(25, learning.GetProperty("chance").GetDouble(), 9);
        Assert.True(learning.GetProperty("learned").ValueKind is JsonValueKind.True or JsonValueKind.False);
        Assert.Equal(["a2a", "v2v"], learning.GetProperty("chance_checks").EnumerateArray().Select(c => c.GetProperty("direction").GetString()!).Order());
        Assert.False(learning.TryGetProperty("against_chance", out _));   // each list once
        // What the codes carry: a code → label lookup per pair of modalities, fitted on train, scored on val.
        var content = learning.GetProperty("code_content").EnumerateArray().ToList();
        Assert.Equal(["a2a", "a2v", "v2a", "v2v"], content.Select(c => c.GetProperty("direction").GetString()!).Order());
        Assert.All(content, c => Assert.InRange(c.GetProperty("class_accuracy").GetDouble(), 0, 100));
        Assert.All(content, c => Assert.InRange(c.GetProperty("event_balanced_accuracy").GetDouble(), 0, 100));
        Assert.Matches(@"what the codes carry on val \(code → label lookup fitted on train\): event vs background a2a [0-9.]+, v2v [0-9.]+ \(chance 50\)", output);
        Assert.Contains("raw-feature probe (ceiling):", output);
        // The cross-modal terms on training, held-out and shuffled held-out clips: did what they learned carry over?
        var terms = learning.GetProperty("cross_modal_terms").EnumerateArray().ToList();
        Assert.Equal(["cmcm", "cpc"], terms.Select(t => t.GetProperty("term").GetString()!).Order());
        Assert.All(terms, t =>
        {
            foreach (var field in new[] { "train", "held_out", "shuffled" })
                Assert.True(double.IsFinite(t.GetProperty(field).GetDouble()), field);
            Assert.True(t.GetProperty("clips").GetInt32() >= 2);
        });
        Assert.Matches(@"cross-modal terms on training / held-out \(val\) / held-out shuffled clips \([0-9]+ a batch\): cpc [0-9.]+ / [0-9.]+ / [0-9.]+", output);
        // ... and the same during pre-training, the last point at the last step, equal to the end-of-run measurement.
        var curve = learning.GetProperty("cross_modal_curve").EnumerateArray().ToList();
        var steps = curve.Select(p => p.GetProperty("step").GetInt64()).Distinct().ToList();
        Assert.Equal(steps.Order(), steps);
        Assert.All(curve.GroupBy(p => p.GetProperty("term").GetString()), g => Assert.Equal(steps.Count, g.Count()));
        var finalCpc = curve.Last(p => p.GetProperty("term").GetString() == "cpc");
        var endCpc = terms.Single(t => t.GetProperty("term").GetString() == "cpc");
        Assert.Equal(endCpc.GetProperty("held_out").GetDouble(), finalCpc.GetProperty("held_out").GetDouble(), 9);
        Assert.Matches(@"cpc during pre-training, step: training / held-out / shuffled \(carried over\): [0-9]+: [0-9.]+ / [0-9.]+ / [0-9.]+", output);
    }

    [Fact]
    public void Codebook_analysis_writes_tables_and_pngs()
    {
        var outDir = Path.Combine(dir, "codebook");
        var (code, output, err) = Unicode("codebook", "--data", "synth:clips=96,classes=4,audio=16,video=8,grid=5,text=0,seed=3",
            "--rows", "baseline,unicode", "--sizes", "16,32", "--seeds", "1", "--pretrain-epochs", "1", "--downstream-epochs", "1", "--out", outDir);
        Assert.True(code == 0, err);
        Assert.Contains("paper Fig. 4", output);
        Assert.Contains("paper Fig. 3", output);
        foreach (var f in new[] { "codebook.md", "shares.png", "sweep.png", "sharing-unicode-seed1.json", "sweep-L16-seed1.json" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(Path.Combine(outDir, "shares.png"))[..4]);
    }

    [Fact]
    public void Bench_science_writes_the_comparison_table_and_reuses_finished_runs()
    {
        var outFile = Path.Combine(dir, "science.md");
        var runs = Path.Combine(dir, "runs");
        string[] args = ["bench-science", "--data", "synth:clips=96,classes=4,audio=16,video=8,grid=5,text=0,seed=3",
            "--rows", "baseline,no-cpc", "--seeds", "1,2", "--pretrain-epochs", "1", "--downstream-epochs", "1", "--out", outFile, "--json-dir", runs];
        var (code, output, err) = Unicode(args);
        Assert.True(code == 0, err);
        Assert.Contains("### Comparison (paper Table 1)", output);
        Assert.Contains("| Baseline |", output);
        Assert.Contains("| Uni-Code w/o Cross-CPC |", output);
        Assert.Matches(@"\| Baseline \| \d+\.\d ± \d+\.\d \|", output);
        Assert.Equal(4, Directory.GetFiles(runs, "*.json").Length);
        var again = Unicode(args);
        Assert.Equal(0, again.Code);
        Assert.Equal(4, again.Err.Split('\n').Count(l => l.Contains(": reusing ")));
    }

    [Theory]
    [InlineData("few-classes", "10.0")]
    [InlineData("ave-small", "3.6")]
    public void A_regime_runs_baseline_and_unicode_with_the_ceiling_chance_learning_check_and_verdicts(string regime, string chance)
    {
        // CI's share of `make science`: one seed of the baseline and Uni-Code on two regimes, shortened (the full
        // schedules take hours on 2 cores); what it checks is that every table carries what a reader needs.
        var outFile = Path.Combine(dir, $"{regime}.md");
        var (code, output, err) = Unicode("bench-science", "--data", $"synth:{regime}", "--rows", "baseline,unicode", "--seeds", "1",
            "--pretrain-epochs", "1", "--downstream-epochs", "2", "--out", outFile, "--json-dir", Path.Combine(dir, regime));
        Assert.True(code == 0, err);
        Assert.Contains($"dataset `synth:", output);
        Assert.Contains("| codes used by all modalities | learned (seeds) |", output);
        Assert.Matches(@"\| Uni-Code \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ of 128 \| [01]/1", output);
        Assert.Matches(@"\| raw-feature probe of the target \(ceiling\) \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|", output);
        Assert.Contains($"| chance | {chance} | {chance} | {chance} | {chance} |", output);
        Assert.Contains("### The paper's claims on this table", output);
        Assert.Matches(@"\| Uni-Code − baseline, a2v \| -?[0-9.]+ points \| (holds|does not hold) \|", output);
        Assert.Matches(@"\| Uni-Code − baseline, v2a \| -?[0-9.]+ points \| (holds|does not hold) \|", output);
        Assert.Equal(output.Trim(), File.ReadAllText(outFile).Trim());
    }

    /// <summary>A 12-clip AVE directory (train 8, val 2, test 2) with widths other than the preset's (audio 8, grid 5, video 4).</summary>
    private string SmallAve()
    {
        var outDir = Path.Combine(dir, "ave12");
        var (code, _, err) = Unicode("synth", "--out", outDir, "--seed", "4", "--spec", "clips=12,classes=3,audio=8,video=4,grid=5,text=0");
        Assert.True(code == 0, err);
        return outDir;
    }

    [Fact]
    public void A_small_dataset_runs_with_the_batch_shrunk_to_its_training_split_and_says_so()
    {
        var ave = SmallAve();
        var json = Path.Combine(dir, "small.json");
        var (code, _, err) = Unicode("run", "--data", "ave:" + ave, "--pretrain-epochs", "1", "--downstream-epochs", "1", "--json", json);
        Assert.True(code == 0, err);
        Assert.Contains($"notice: the pre-training split 'train' of ave:{ave} has 8 clips, fewer than one batch (BatchSize=32): the batch size shrinks to 8 for this run (recorded in its config)", err);
        // a width other than the preset's is accepted, the model fitted to it, and said so with the file, the field, both widths
        Assert.Contains($"notice: {Path.Combine(ave, "audio_feature.h5")}: dataset 'avadataset' has audio feature width (Da) 8; the preset 'small' is built for 128: the model is fitted to 8 for this run (AudioInputDim in its config)", err);
        Assert.Contains($"notice: {Path.Combine(ave, "visual_feature.h5")}: dataset 'avadataset' has video feature width (Dv) 4; the preset 'small' is built for 512", err);
        Assert.Contains($"notice: {Path.Combine(ave, "visual_feature.h5")}: dataset 'avadataset' has video grid side (G) 5; the preset 'small' is built for 7", err);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        using var config = JsonDocument.Parse(doc.RootElement.GetProperty("config_json").GetString()!);
        Assert.Equal(8, config.RootElement.GetProperty("batchSize").GetInt32());   // the batch size used is the one stored and hashed
        Assert.Equal((8, 4, 5), (config.RootElement.GetProperty("audioInputDim").GetInt32(), config.RootElement.GetProperty("videoInputDim").GetInt32(),
            config.RootElement.GetProperty("videoGrid").GetInt32()));
    }

    [Fact]
    public void An_explicit_batch_size_larger_than_the_training_split_is_an_error_that_names_the_option()
    {
        var ave = SmallAve();
        var (code, _, err) = Unicode("run", "--data", "ave:" + ave, "--pretrain-epochs", "1", "--downstream-epochs", "1", "--config", """{"batchSize": 16}""");
        Assert.Equal(1, code);
        Assert.Contains($"unicode run: error: config field 'BatchSize' = 16: expected at most 8: the pre-training split 'train' of ave:{ave} has 8 clips (the batch size was set by --config (batchSize); leave it unset and it shrinks to the split's size)", err);
        Assert.DoesNotContain("   at ", err);
    }

    [Theory]
    [InlineData("synth:cells=12;x", "option '--data': dataset name 'synth:cells=12;x': synth spec: cells='12;x'; expected an integer")]
    [InlineData("synth:cells=12`id`", "option '--data': dataset name 'synth:cells=12`id`': synth spec: cells='12`id`'; expected an integer")]
    [InlineData("synth:cells=99", "option '--data': dataset name 'synth:cells=99': synth spec: cells=99; expected in [1, grid²=49]")]
    [InlineData("imagenet:/x", "option '--data': dataset name 'imagenet:/x' has unknown kind 'imagenet'")]
    public void Submit_checks_the_dataset_spec_before_sending_anything(string data, string message)
    {
        // No broker is needed: the spec is refused before the bus starts, as a usage error naming the option.
        foreach (var command in new[] { "chain", "grid" })
        {
            var (code, output, err) = Unicode("submit", command, "--data", data);
            Assert.Equal(2, code);
            Assert.Contains(message, err);
            Assert.DoesNotContain("submitted", err + output);
        }
    }

    [Fact]
    public void Synth_writes_the_ave_layout_and_prints_its_name()
    {
        var outDir = Path.Combine(dir, "synth");
        var (code, output, _) = Unicode("synth", "--out", outDir, "--seed", "4", "--spec", "clips=12,classes=3,audio=8,video=4,grid=5,text=0");
        Assert.Equal(0, code);
        Assert.Equal($"ave:{outDir}", output.Trim());
        foreach (var f in new[] { "audio_feature.h5", "visual_feature.h5", "labels.h5", "train_order.h5", "val_order.h5", "test_order.h5" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
    }
}
