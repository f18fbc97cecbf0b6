using System.Text.Json.Serialization;
using UniCode.Model.Config;
using static TorchSharp.torch;

namespace UniCode.Model.Diagnostics;

/// <summary>
/// One cross-modal pre-training term (Cross-CPC, CMCM, the per-second correspondence) of a frozen model, on
/// <paramref name="Clips"/> training clips (<paramref name="Train"/>), as many held-out clips (<paramref name="HeldOut"/>),
/// and the same held-out clips with the video (else the second modality) paired with another clip's
/// (<paramref name="Shuffled"/>: the term's chance level on that data, measured, not assumed). A term that pairs the
/// training clips but not held-out ones memorised which training clips go together (docs/results.md, "2026-12-07
/// (evening)"): what the shared codes learned from it does not carry over.
/// </summary>
public sealed record CrossModalTermGap(string Term, int Clips, double Train, double HeldOut, double Shuffled)
{
    /// <summary>Below this share of its training gain carried to held-out clips a term counts as memorised.</summary>
    public const double MinCarriedOver = 0.25;

    /// <summary>A gain on training clips smaller than this share of the shuffled level is too small to judge.</summary>
    public const double MinTrainGain = 0.10;

    /// <summary>
    /// (shuffled − held-out) / (shuffled − train): 1 = held-out clips pair as well as training clips, 0 = no better than
    /// shuffled; null when the term did not go below its shuffled level on the training clips.
    /// </summary>
    public double? CarriedOver => Shuffled - Train > MinTrainGain * Math.Abs(Shuffled) ? (Shuffled - HeldOut) / (Shuffled - Train) : null;

    /// <summary>The term pairs training clips but less than <see cref="MinCarriedOver"/> of that carries to held-out clips.</summary>
    [JsonIgnore]
    public bool Memorised => CarriedOver is { } c && c < MinCarriedOver;
}

/// <summary>Measures <see cref="CrossModalTermGap"/> for every cross-modal term a model has.</summary>
public static class CrossModalGeneralization
{
    /// <summary>
    /// Evaluates the model's cross-modal terms (eval mode, no_grad, no codebook update) on batches of n clips,
    /// n = min(batch size, |train|, |held-out|): every full batch of the held-out clips and as many batches of training
    /// clips (fewer if there are not enough), each averaged over <paramref name="repeats"/> draws of the terms' own
    /// randomness (Cross-CPC's start step) and, for the shuffled level, of the pairing (a cyclic shift of the batch).
    /// <paramref name="features"/>: raw features per modality [N, T, …] on the CPU. Empty when the model has no
    /// cross-modal term or fewer than 2 clips are available in either split.
    /// </summary>
    public static IReadOnlyList<CrossModalTermGap> Measure(UniCodeModel model, IReadOnlyDictionary<Modality, Tensor> features,
        int[] train, int[] heldOut, int repeats = 4)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(features);
        var c = model.Config;
        var n = Math.Min(c.BatchSize, Math.Min(train.Length, heldOut.Length));
        if (n < 2 || model.Modalities.Count < 2 || !(c.UseCpc || c.UseCmcm || c.SegmentCorrespondence is not null)) return [];
        var wasTraining = model.training;
        model.eval();
        try
        {
            // Every full batch of n held-out clips, and as many batches of training clips as there are.
            var batches = heldOut.Length / n;
            var heldOutBatches = Enumerable.Range(0, batches).Select(b => heldOut[(b * n)..((b + 1) * n)]).ToList();
            var trainBatches = Enumerable.Range(0, Math.Min(batches, train.Length / n)).Select(b => train[(b * n)..((b + 1) * n)]).ToList();
            var seen = Mean(trainBatches.Select(b => Terms(model, features, b, null, repeats)));
            var unseen = Mean(heldOutBatches.Select(b => Terms(model, features, b, null, repeats)));
            var shuffled = Mean(heldOutBatches.Select(b => Terms(model, features, b, Partner(model), repeats)));
            return seen.Keys.Select(term => new CrossModalTermGap(term, n, seen[term], unseen[term], shuffled[term])).ToList();
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    private static Dictionary<string, double> Mean(IEnumerable<Dictionary<string, double>> parts)
    {
        var list = parts.ToList();
        return list[0].Keys.ToDictionary(k => k, k => list.Average(p => p[k]), StringComparer.Ordinal);
    }

    // The modality whose clips are re-paired for the shuffled level.
    private static Modality Partner(UniCodeModel model) => model.Modalities.Contains(Modality.Video) ? Modality.Video : model.Modalities[1];

    private static Dictionary<string, double> Terms(UniCodeModel model, IReadOnlyDictionary<Modality, Tensor> features, int[] clips,
        Modality? shuffle, int repeats)
    {
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        var device = model.parameters().First().device;
        for (var r = 0; r < repeats; r++)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var rng = new Random(1_000 + r);                  // the terms' own draws: the same for paired and shuffled batches
            var pairing = new Random(2_000 + r);              // the shuffled level's re-pairing, drawn apart from them
            using var generator = new Generator((ulong)(1_000 + r), device);   // CLUB's draws; the global stream is left alone
            Tensor Rows(Modality m)
            {
                var rows = clips;
                if (m == shuffle)
                {
                    // A derangement: every clip gets another clip's features of this modality.
                    var shift = 1 + pairing.Next(clips.Length - 1);
                    rows = clips.Select((_, i) => clips[(i + shift) % clips.Length]).ToArray();
                }
                return features[m].index_select(0, tensor(rows.Select(i => (long)i).ToArray())).to(model.DType, device);
            }
            var batch = new PretrainBatch(
                model.Modalities.Contains(Modality.Audio) ? Rows(Modality.Audio) : null,
                model.Modalities.Contains(Modality.Video) ? Rows(Modality.Video) : null,
                model.Modalities.Contains(Modality.Text) ? Rows(Modality.Text) : null);
            var losses = model.Losses(model.Encode(batch), batch, rng, generator);
            void Add(string name, Tensor? value)
            {
                if (value is not null) sums[name] = sums.GetValueOrDefault(name) + value.item<double>() / repeats;
            }
            Add("cpc", losses.Cpc?.to(ScalarType.Float64));
            Add("cmcm", losses.Cmcm?.to(ScalarType.Float64));
            Add("correspondence", losses.Correspondence?.to(ScalarType.Float64));
        }
        return sums;
    }
}
