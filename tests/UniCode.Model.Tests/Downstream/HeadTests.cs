using UniCode.Model.Downstream;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Downstream;

public class HeadTests
{
    [Fact]
    public void Heads_have_the_reference_shapes()
    {
        using var scope = NewDisposeScope();
        var codes = randn(3, 4, 8);
        using var classifier = new ClassificationHead(8, 5);
        using var localizer = new LocalizationHead(8, 6);
        using var retrieval = new RetrievalHead(8, 7);
        Assert.Equal(new long[] { 3, 5 }, classifier.forward(codes).shape);
        Assert.Equal(new long[] { 3, 4, 6 }, localizer.forward(codes).shape);
        var e = retrieval.forward(codes);
        Assert.Equal(new long[] { 3, 7 }, e.shape);
        Assert.True(allclose(e.norm(1), ones(3), rtol: 1e-5, atol: 1e-6));
        // Linear D→D + Linear D→C: (8·8 + 8) + (8·5 + 5) parameters.
        Assert.Equal(72 + 45, classifier.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void Classification_head_pools_with_max_over_time_between_its_linears()
    {
        using var scope = NewDisposeScope();
        using var head = new ClassificationHead(3, 2);
        var p = head.named_parameters().ToDictionary(kv => kv.name, kv => kv.parameter);
        var codes = randn(2, 5, 3);
        var hidden = codes.matmul(p["linear.weight"].t()) + p["linear.bias"];
        var expected = hidden.max(1).values.matmul(p["classifier.weight"].t()) + p["classifier.bias"];
        Assert.True(allclose(head.forward(codes), expected, rtol: 1e-5, atol: 1e-6));
        // A head that averaged over time would differ.
        var averaged = hidden.mean([1]).matmul(p["classifier.weight"].t()) + p["classifier.bias"];
        Assert.False(allclose(head.forward(codes), averaged, rtol: 1e-3, atol: 1e-4));
    }

    [Fact]
    public void ExpLog_loss_matches_the_hand_computation()
    {
        using var scope = NewDisposeScope();
        using var loss = new ExpLogLoss(2);
        // Row 1: logits (0, 0) → log-softmax (−ln 2, −ln 2), label (1, 0).
        // Row 2: logits (ln 3, 0) → softmax (3/4, 1/4), label (1, 1).
        var logits = tensor(new[] { 0f, 0f, (float)Math.Log(3), 0f }).reshape(2, 2);
        var labels = tensor(new[] { 1f, 0f, 1f, 1f }).reshape(2, 2);
        // α = 0.1 everywhere: −e^{−0.1}·(−ln 2 + ln ¾ + ln ¼)/2 = e^{−0.1}·ln(32/3)/2.
        Assert.Equal(Math.Exp(-0.1) * Math.Log(32.0 / 3) / 2, loss.forward(logits, labels).item<float>(), 1e-5);

        // α per column: (0, 1) → −(−ln 2 + ln ¾ + e^{−1}·ln ¼)/2.
        using (no_grad()) loss.Alpha.copy_(tensor(new[] { 0f, 1f }));
        var expected = -(-Math.Log(2) + Math.Log(0.75) + Math.Exp(-1) * Math.Log(0.25)) / 2;
        Assert.Equal(expected, loss.forward(logits, labels).item<float>(), 1e-5);

        // Full AVVP loss = BCEWithLogits (mean of the 4 cells: 3·ln 2 + ln 4/3, over 4) + the ExpLog term.
        var bce = (3 * Math.Log(2) + Math.Log(4.0 / 3)) / 4;
        Assert.Equal(bce + expected, loss.LocalizationLoss(logits, labels).item<float>(), 1e-5);

        // α is the module's one parameter (so the optimiser trains it), initialised to 0.1.
        using var fresh = new ExpLogLoss(26);
        var ps = fresh.parameters().ToList();
        Assert.Single(ps);
        Assert.Equal(new long[] { 26 }, ps[0].shape);
        Assert.True(allclose(ps[0], full(26, 0.1f)));
    }

    [Fact]
    public void ExpLog_gradient_raises_alpha_where_labels_are_positive()
    {
        // d/dα_c of −mean Σ y·logp·e^{−α} = mean_rows y_c·logp_c·e^{−α_c} < 0 for a labelled column: descent raises α_c.
        using var scope = NewDisposeScope();
        using var loss = new ExpLogLoss(2);
        var logits = tensor(new[] { 0f, 0f }).reshape(1, 2);
        var labels = tensor(new[] { 1f, 0f }).reshape(1, 2);
        loss.forward(logits, labels).backward();
        var grad = loss.Alpha.grad!.data<float>().ToArray();
        Assert.Equal(-Math.Log(2) * Math.Exp(-0.1), grad[0], 1e-6);
        Assert.Equal(0.0, grad[1], 1e-12);
    }

    [Fact]
    public void Gradient_clip_scales_all_grads_to_the_max_global_norm_and_leaves_small_ones()
    {
        using var scope = NewDisposeScope();
        var a = new Parameter(zeros(2));
        var b = new Parameter(zeros(1));
        a.grad = tensor(new[] { 3f, 0f });
        b.grad = tensor(new[] { 4f });  // global norm 5
        UniCode.Model.Training.GradientClipping.ClipByNorm([a, b], 0.5);
        var scale = 0.5 / (5 + 1e-6);
        Assert.Equal(3 * scale, a.grad!.data<float>()[0], 1e-6);
        Assert.Equal(4 * scale, b.grad!.data<float>()[0], 1e-6);

        a.grad = tensor(new[] { 0.1f, 0.2f });
        UniCode.Model.Training.GradientClipping.ClipByNorm([a], 0.5);
        Assert.Equal(new[] { 0.1f, 0.2f }, a.grad!.data<float>().ToArray());
    }

    [Fact]
    public void InfoNce_is_ln_batch_for_uninformative_embeddings_and_small_for_aligned_ones()
    {
        using var scope = NewDisposeScope();
        // All similarities equal → each CE is ln B.
        var same = nn.functional.normalize(ones(4, 3), p: 2, dim: 1);
        Assert.Equal(Math.Log(4), InfoNce.Loss(same, same, 0.07).item<float>(), 1e-5);
        // Orthogonal one-hot pairs at τ = 0.1: CE = ln(1 + 3·e^{−10}).
        var eye3 = eye(4);
        Assert.Equal(Math.Log(1 + 3 * Math.Exp(-10)), InfoNce.Loss(eye3, eye3, 0.1).item<float>(), 1e-6);
    }
}

public class TaskWiringTests
{
    [Fact]
    public void Localization_optimises_the_alphas_clips_only_the_head_and_follows_the_run_dtype()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(1);
        using var task = new LocalizationTask(codeDim: 4, outputs: 3, selectionMetric: "precision", g);
        foreach (var m in task.Modules) m.to(ScalarType.Float64);
        var optimised = task.Optimised.ToList();
        Assert.Equal(4 + 1, optimised.Count);  // two Linears' weight and bias, plus α
        Assert.Equal(4, task.Clipped.Count());
        Assert.All(optimised, p => Assert.Equal(ScalarType.Float64, p.dtype));
        Assert.Contains(optimised, p => p.shape.SequenceEqual(new long[] { 3 }));

        // One Adam step moves α off 0.1 (it is trained), in float64.
        using var adam = TorchSharp.torch.optim.Adam(optimised, 0.1);
        var codes = randn(new long[] { 2, 5, 4 }, ScalarType.Float64);
        var labels = zeros(new long[] { 2, 5, 3 }, ScalarType.Float64);
        labels[TensorIndex.Colon, TensorIndex.Colon, 2] = ones(1, ScalarType.Float64);
        task.Loss(codes, [], labels).backward();
        adam.step();
        var alpha = optimised.Single(p => p.dim() == 1 && p.shape[0] == 3 && !task.Clipped.Contains(p));
        Assert.True(alpha.data<double>()[2] > 0.1);
    }

    [Fact]
    public void Same_seed_gives_the_same_head_whatever_the_global_generator_does()
    {
        using var scope = NewDisposeScope();
        Tensor Weights()
        {
            using var g = new Generator(43);
            using var task = new ClassificationTask(6, 3, g);
            manual_seed(Random.Shared.Next());  // other users of the global generator must not matter
            return cat(task.Predictive.Select(p => p.detach().flatten()).ToList()).clone();
        }
        var (w1, w2) = (Weights(), Weights());
        Assert.Equal(w1.shape, w2.shape);
        Assert.True(w1.eq(w2).all().item<bool>());
    }

    [Fact]
    public void Directions_are_named_train2test()
    {
        Assert.Equal("v2a", new Direction(UniCode.Model.Config.Modality.Video, UniCode.Model.Config.Modality.Audio).Name);
        Assert.Equal(new Direction(UniCode.Model.Config.Modality.Text, UniCode.Model.Config.Modality.Video), Direction.Parse("t2v"));
        Assert.False(Direction.Parse("a2a").IsCrossModal);
        Assert.Throws<FormatException>(() => Direction.Parse("x2a"));
    }
}
