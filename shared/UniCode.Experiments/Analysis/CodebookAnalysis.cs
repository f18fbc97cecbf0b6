using UniCode.Model;
using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Experiments.Analysis;

/// <summary>
/// The codebook analysis of paper Fig. 4 on a frozen encoder: which code every (clip, second) of every
/// modality chooses (Φ_m, then the nearest code — no EMA, no reset), and what that says about sharing.
/// </summary>
public static class CodebookAnalysis
{
    /// <summary>
    /// Runs the frozen encoder (eval mode, no gradients, <paramref name="batchSize"/> clips at a time) over
    /// the clips of <paramref name="split"/> (every clip when null) for every modality the model was
    /// pre-trained on, and returns the code shares, majority classes and paired-second agreement
    /// (<see cref="CodebookShares.FromCodes"/>). A segment's class is the argmax of its label row [C+1]
    /// (background = C; the first maximum for multi-label rows). The model's train/eval mode is restored.
    /// </summary>
    public static CodebookShares Measure(UniCodeModel model, DatasetTensors data, string? split, int batchSize = 64, double threshold = CodebookShares.DefaultThreshold)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "codebook analysis: batchSize must be at least 1");
        var clips = split is null ? Enumerable.Range(0, data.Dataset.Count).ToArray() : data.Dataset.Split(split);
        if (clips.Length == 0) throw new ArgumentException($"codebook analysis: split '{split}' of '{data.Dataset.Name}' has no clips; expected at least one", nameof(split));
        foreach (var m in model.Modalities)
        {
            if (!data.Features.ContainsKey(m))
                throw new ArgumentException($"codebook analysis: the model was pre-trained on {model.Config.Modalities.Code()}, but '{data.Dataset.Name}' was loaded without {m.ToString().ToLowerInvariant()} features; load it with ModalitySet including {m}", nameof(data));
        }
        var device = model.parameters().First().device;
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var codes = new Dictionary<Modality, Tensor>();
            foreach (var m in model.Modalities)
            {
                var features = data.Features[m];
                var parts = new List<Tensor>();
                for (var start = 0; start < clips.Length; start += batchSize)
                {
                    using var batchScope = NewDisposeScope();
                    var count = Math.Min(batchSize, clips.Length - start);
                    var idx = tensor(clips.AsSpan(start, count).ToArray().Select(i => (long)i).ToArray());
                    var raw = features.index_select(0, idx).to(model.DType).to(device);
                    parts.Add(model.CodeIndices(m, raw).cpu().MoveToOuterDisposeScope());   // [b,T]
                }
                codes[m] = cat(parts, 0);
            }
            var all = tensor(clips.Select(i => (long)i).ToArray());
            var segmentClasses = data.Labels.index_select(0, all).argmax(-1);   // [N,T], background = C
            return CodebookShares.FromCodes(codes, segmentClasses, model.Config.CodebookSize, data.Dataset.Layout.LabelDim, threshold);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
