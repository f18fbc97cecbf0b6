using UniCode.Model.Config;
using UniCode.Model.Downstream;
using TorchSharp;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Downstream;

/// <summary>
/// Toy clips whose modalities share one latent "code space": the latent of clip i at second t is
/// the prototype of its label there (class or background) plus noise (plus, optionally, a clip
/// identity vector); each modality's raw features are that latent under a modality-specific random
/// rotation. <see cref="SharedEncoder"/> undoes the rotation (all modalities land in one space, as
/// with a shared codebook); <see cref="NoiseFor"/> replaces one modality's codes by class-free noise.
/// </summary>
internal static class ToyClips
{
    public const int T = 4;
    public const int D = 8;

    /// <param name="n">Clips; clip i has class i % classes; splits: first 60 % train, next 20 % val, last 20 % test.</param>
    /// <param name="separateLabels">Give audio and video different event seconds (AVVP-like per-modality labels).</param>
    /// <param name="identity">Weight of a per-clip identity vector shared by all modalities (for retrieval).</param>
    public static (LabeledClips Clips, Dictionary<Modality, Tensor> Rotations) Make(
        int n = 200, int classes = 4, int seed = 7, bool separateLabels = false, double identity = 0, bool withVal = true,
        string[]? classNames = null, double noise = 0.3)
    {
        var g = new Generator((ulong)seed);
        var prototypes = randn(new long[] { classes + 1, D }, generator: g) * 2;
        var ids = randn(new long[] { n, 1, D }, generator: g) * identity;
        var modalities = new[] { Modality.Audio, Modality.Video, Modality.Text };

        Tensor LabelsWithShift(int shift)
        {
            // Clip i's event covers every second except t = (i + shift) % T, which is background.
            var l = new float[n * T * (classes + 1)];
            for (var i = 0; i < n; i++)
                for (var t = 0; t < T; t++)
                    l[(i * T + t) * (classes + 1) + ((t == (i + shift) % T) ? classes : i % classes)] = 1;
            return tensor(l).reshape(n, T, classes + 1);
        }

        var segment = LabelsWithShift(0);
        var perModality = separateLabels
            ? new Dictionary<Modality, Tensor> { [Modality.Audio] = LabelsWithShift(0), [Modality.Video] = LabelsWithShift(2) }
            : null;

        var rotations = new Dictionary<Modality, Tensor>();
        var features = new Dictionary<Modality, Tensor>();
        foreach (var m in modalities)
        {
            var labels = perModality is not null && perModality.TryGetValue(m, out var own) ? own : segment;
            var latent = labels.matmul(prototypes) + randn(new long[] { n, T, D }, generator: g) * noise + ids;
            var (q, _) = linalg.qr(randn(new long[] { D, D }, generator: g));
            rotations[m] = q;
            features[m] = latent.matmul(q);
        }

        var nTrain = n * 6 / 10;
        var nVal = withVal ? n * 2 / 10 : 0;
        var splits = new Dictionary<string, int[]>
        {
            ["train"] = Enumerable.Range(0, nTrain).ToArray(),
            ["test"] = Enumerable.Range(nTrain + nVal, n - nTrain - nVal).ToArray(),
        };
        if (withVal) splits["val"] = Enumerable.Range(nTrain, nVal).ToArray();
        var names = classNames ?? Enumerable.Range(0, classes).Select(c => $"class{c}").ToArray();
        var clips = new LabeledClips(features, segment, splits, names, $"toy-{seed}-{n}", perModality);
        return (clips.Validate(), rotations);
    }

    /// <summary>All modalities into the one latent space.</summary>
    public static CodeEncoder SharedEncoder(Dictionary<Modality, Tensor> rotations) =>
        (m, raw, _) => raw.matmul(rotations[m].t().to(raw.dtype, raw.device));

    /// <summary>Like <see cref="SharedEncoder"/>, but <paramref name="noisy"/>'s codes are a hash-like function of its input: class-free noise in [−1, 1].</summary>
    public static CodeEncoder NoiseFor(Dictionary<Modality, Tensor> rotations, Modality noisy)
    {
        var shared = SharedEncoder(rotations);
        return (m, raw, training) => m == noisy ? (shared(m, raw, training) * 1000).sin() : shared(m, raw, training);
    }

    /// <summary>Fast settings for toy runs.</summary>
    public static DownstreamOptions Options(int epochs = 12) => new()
    {
        Epochs = epochs,
        MinSteps = 0,   // exactly `epochs` epochs (the minimum-steps rule has its own test)
        BatchSize = 32,
        EvalBatchSize = 16,
        LearningRate = 1e-2,
        LrMilestones = [8],
    };
}
