using UniCode.Model.Config;
using UniCode.Model.Diagnostics;
using Xunit;
using static TorchSharp.torch;

namespace UniCode.Experiments.Tests.Learning;

public sealed class CodeContentTests
{
    private const int B = 2;   // background label of a 2-class set

    private static Tensor T(long[,] values)
    {
        var (n, t) = (values.GetLength(0), values.GetLength(1));
        var flat = new long[n * t];
        for (var i = 0; i < n; i++)
            for (var s = 0; s < t; s++) flat[i * t + s] = values[i, s];
        return tensor(flat, [n, t], ScalarType.Int64);
    }

    [Fact]
    public void The_lookup_of_hand_made_codes_matches_hand_computed_values()
    {
        // Training: code 5, 6 only in background; 1 → class 0 (3 ×), 2 → class 1 (2 ×), 3 → class 1 (1 ×).
        // 6 event seconds of 12: base rate 0.5; classes 3 : 3, so the fallback class is 0.
        using var trainCodes = T(new long[,] { { 5, 1, 1, 5 }, { 5, 2, 2, 6 }, { 6, 1, 3, 5 } });
        using var trainLabels = T(new long[,] { { B, 0, 0, B }, { B, 1, 1, B }, { B, 0, 1, B } });
        // Held out: code 7 was never seen (→ background, fallback class 0); code 2 in a background second.
        using var evalCodes = T(new long[,] { { 5, 2, 3, 7 }, { 1, 1, 6, 2 } });
        using var evalLabels = T(new long[,] { { B, 1, 0, 1 }, { 0, 1, B, B } });

        var c = CodeContent.FromIndices(Modality.Audio, trainCodes, trainLabels, Modality.Video, evalCodes, evalLabels, codebookSize: 8, background: B);

        Assert.Equal("a2v", c.Direction);
        Assert.Equal(8, c.Seconds);
        Assert.Equal(5, c.EventSeconds);
        // events: 4 of 5 marked (code 7 is not); background: 2 of 3 (code 2 is an event code)
        Assert.Equal(50.0 * (4.0 / 5 + 2.0 / 3), c.EventBalancedAccuracy!.Value, 10);
        // classes: code 2 → 1 (right), 3 → 1 (wrong), 7 → 0 (wrong), 1 → 0 (right, then wrong)
        Assert.Equal(40.0, c.ClassAccuracy!.Value, 10);
        // class 0 for every event second: right at (0,2) and (1,0)
        Assert.Equal(40.0, c.ClassBaseline!.Value, 10);
    }

    [Fact]
    public void Codes_that_mark_only_when_the_event_is_carry_timing_but_no_class()
    {
        // 4 classes, background 4; clip i has class i % 4 in seconds 1–2. Timing codes: 0 background, 1 event.
        const int classes = 4;
        var labels = new long[40, 4];
        var timing = new long[40, 4];
        var exact = new long[40, 4];
        for (var i = 0; i < 40; i++)
            for (var s = 0; s < 4; s++)
            {
                var inEvent = s is 1 or 2;
                labels[i, s] = inEvent ? i % classes : classes;
                timing[i, s] = inEvent ? 1 : 0;
                exact[i, s] = labels[i, s];
            }
        using var l = T(labels);
        using var tc = T(timing);
        using var ec = T(exact);

        var onlyTiming = CodeContent.FromIndices(Modality.Audio, tc, l, Modality.Audio, tc, l, 8, classes);
        Assert.Equal(100.0, onlyTiming.EventBalancedAccuracy!.Value, 10);
        Assert.Equal(25.0, onlyTiming.ClassAccuracy!.Value, 10);   // one class for all: the majority's share
        Assert.Equal(onlyTiming.ClassBaseline, onlyTiming.ClassAccuracy);

        var both = CodeContent.FromIndices(Modality.Video, ec, l, Modality.Video, ec, l, 8, classes);
        Assert.Equal(100.0, both.EventBalancedAccuracy!.Value, 10);
        Assert.Equal(100.0, both.ClassAccuracy!.Value, 10);
        Assert.Equal("v2v", both.Direction);
    }

    [Fact]
    public void Held_out_seconds_without_background_have_no_balanced_accuracy()
    {
        using var codes = T(new long[,] { { 0, 1 }, { 1, 0 } });
        using var labels = T(new long[,] { { 0, 1 }, { 1, 0 } });
        var c = CodeContent.FromIndices(Modality.Audio, codes, labels, Modality.Audio, codes, labels, 2, background: 2);
        Assert.Null(c.EventBalancedAccuracy);
        Assert.Equal(100.0, c.ClassAccuracy!.Value, 10);
    }

    [Fact]
    public void Bad_indices_and_shapes_are_named()
    {
        using var codes = T(new long[,] { { 0, 9 } });
        using var labels = T(new long[,] { { 0, B } });
        var e = Assert.Throws<ArgumentException>(() => CodeContent.FromIndices(Modality.Audio, codes, labels, Modality.Audio, codes, labels, 4, B));
        Assert.Contains("code index 9: expected 0 ≤ index < 4", e.Message);
        using var wide = T(new long[,] { { 0, 1, 2 } });
        e = Assert.Throws<ArgumentException>(() => CodeContent.FromIndices(Modality.Audio, codes, labels, Modality.Audio, wide, labels, 4, B));
        Assert.Contains("held-out codes and labels have shapes [1, 3] and [1, 2]: expected both [N, T]", e.Message);
        using var badLabel = T(new long[,] { { 0, 7 } });
        using var fine = T(new long[,] { { 0, 1 } });
        e = Assert.Throws<ArgumentException>(() => CodeContent.FromIndices(Modality.Audio, fine, badLabel, Modality.Audio, fine, labels, 4, B));
        Assert.Contains("label 7: expected 0 … 2", e.Message);
    }
}

public sealed class RawProbeEncoderTests
{
    [Fact]
    public void The_cell_probe_sees_every_grid_cell_as_a_step_and_the_ceiling_sees_the_grid_mean()
    {
        // [B=2, T=3, G=2, G=2, W=4]: value = 1000 b + 100 t + 10 cell + channel
        var values = new float[2 * 3 * 4 * 4];
        for (var b = 0; b < 2; b++)
            for (var t = 0; t < 3; t++)
                for (var g = 0; g < 4; g++)
                    for (var w = 0; w < 4; w++) values[((b * 3 + t) * 4 + g) * 4 + w] = 1000 * b + 100 * t + 10 * g + w;
        using var video = tensor(values, [2, 3, 2, 2, 4]);
        using var cells = Experiment.RawCells(UniCode.Model.Config.Modality.Video, video, false);
        Assert.Equal([2L, 12, 4], cells.shape);
        Assert.Equal(1000 + 100 * 2 + 10 * 3 + 1, cells[1, 2 * 4 + 3, 1].item<float>());   // clip 1, second 2, cell 3, channel 1
        using var mean = Experiment.RawFeatures(UniCode.Model.Config.Modality.Video, video, false);
        Assert.Equal([2L, 3, 4], mean.shape);
        Assert.Equal(1000 + 100 * 2 + 15 + 1, mean[1, 2, 1].item<float>());                 // cells 0–3 average to 15
        using var audio = zeros(2, 3, 5);
        using var same = Experiment.RawCells(UniCode.Model.Config.Modality.Audio, audio, false);
        Assert.Equal(audio.shape, same.shape);
    }
}
