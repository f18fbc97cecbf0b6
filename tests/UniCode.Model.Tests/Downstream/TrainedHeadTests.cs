using UniCode.Model.Config;
using UniCode.Model.Downstream;
using static TorchSharp.torch;

namespace UniCode.Model.Tests.Downstream;

/// <summary>
/// Train now, score later (the fine-tuning and evaluation services): a head from <c>Train</c>, scored by
/// <c>Score</c> (after a trip through its file), reports exactly what the combined <c>Run</c> reports.
/// </summary>
public sealed class TrainedHeadTests : IDisposable
{
    private static readonly Modality A = Modality.Audio, V = Modality.Video, Tx = Modality.Text;
    private readonly string dir = Directory.CreateTempSubdirectory("unicode-heads-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private TrainedHead RoundTrip(TrainedHead head, string name = "head.bin")
    {
        var path = Path.Combine(dir, name);
        var sha = HeadFile.Save(path, head, parentSha256: new string('a', 64));
        var loaded = HeadFile.Load(path, sha);
        Assert.Equal(sha, loaded.Sha256);
        Assert.Equal(new string('a', 64), loaded.ParentSha256);
        return loaded.Head;
    }

    [Theory]
    [InlineData(EvaluationProtocol.HeldOut)]
    [InlineData(EvaluationProtocol.Reference)]
    public void Classification_scored_later_equals_the_combined_run(EvaluationProtocol protocol)
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make(n: 120, noise: 1.2);
        var encoder = ToyClips.SharedEncoder(rot);
        var o = ToyClips.Options(epochs: 5) with { Protocol = protocol };

        var combined = EventClassification.Run(encoder, clips, V, [V, A, Tx], o);
        var logs = new List<EpochLog>();
        var head = RoundTrip(EventClassification.Train(encoder, clips, V, o, onEpoch: logs.Add));
        var later = EventClassification.Score(head, encoder, clips, [V, A, Tx], o);

        Assert.Equal(protocol == EvaluationProtocol.HeldOut ? 1 : 5, head.Weights.Count);
        Assert.Equal(5, logs.Count);
        Assert.Equal(combined.Scores.Select(s => (s.Direction, s.Accuracy, s.Epoch, s.Scored.Split)),
                     later.Scores.Select(s => (s.Direction, s.Accuracy, s.Epoch, s.Scored.Split)));
        Assert.Equal(combined.Rows(), later.Rows());
        // Held-out selects on val of the training modality; reference scores the training split itself.
        Assert.Equal(protocol == EvaluationProtocol.HeldOut ? "val" : null, head.SelectedOn?.Split);
        Assert.All(later.Scores, s => Assert.Equal(protocol == EvaluationProtocol.HeldOut ? "test" : "train", s.Scored.Split));
        Assert.Equal(combined.Run.History.Select(h => h.TrainLoss), later.Run.History.Select(h => h.TrainLoss));
    }

    [Fact]
    public void Localization_scored_later_equals_the_combined_run()
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make(n: 120, separateLabels: true);
        var encoder = ToyClips.SharedEncoder(rot);
        var o = ToyClips.Options(epochs: 4);

        var combined = EventLocalization.Run(encoder, clips, A, [A, V], o);
        var head = RoundTrip(EventLocalization.Train(encoder, clips, A, o));
        var later = EventLocalization.Score(head, encoder, clips, [A, V], o);

        Assert.Equal(HeadKind.Localization, head.Kind);
        Assert.Equal(5, head.Outputs);   // 4 classes + background
        Assert.Equal(combined.Rows(), later.Rows());
    }

    [Fact]
    public void Retrieval_scored_later_equals_the_combined_run()
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make(n: 120, identity: 1.0);
        var encoder = ToyClips.SharedEncoder(rot);
        var o = ToyClips.Options(epochs: 3) with { RetrievalEmbeddingDim = 8 };

        var combined = AudioRetrieval.Run(encoder, clips, V, [V, Tx], o);
        var head = RoundTrip(AudioRetrieval.Train(encoder, clips, V, o));
        var later = AudioRetrieval.Score(head, encoder, clips, [V, Tx], o);

        Assert.Equal(8, head.Weights[0].Tensors.Count);   // query and gallery heads: two Linear layers each, weight and bias
        Assert.Equal(combined.Rows(), later.Rows());
    }

    [Fact]
    public void The_file_is_deterministic_and_corruption_is_detected()
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make(n: 80);
        var o = ToyClips.Options(epochs: 2);
        var first = EventClassification.Train(ToyClips.SharedEncoder(rot), clips, V, o);
        var second = EventClassification.Train(ToyClips.SharedEncoder(rot), clips, V, o);
        var a = HeadFile.Save(Path.Combine(dir, "a.bin"), first, null);
        var b = HeadFile.Save(Path.Combine(dir, "b.bin"), second, null);

        Assert.Equal(a, b);   // same head → same bytes → same sha256
        Assert.Equal(a, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, "a.bin")))));
        Assert.False(File.Exists(Path.Combine(dir, "a.bin.partial")));

        var bytes = File.ReadAllBytes(Path.Combine(dir, "a.bin"));
        bytes[^40] ^= 0x01;   // inside the weights
        File.WriteAllBytes(Path.Combine(dir, "flipped.bin"), bytes);
        var e = Assert.Throws<InvalidDataException>(() => HeadFile.Load(Path.Combine(dir, "flipped.bin")));
        Assert.Contains("weights sha256", e.Message);
        var wrong = Assert.Throws<InvalidDataException>(() => HeadFile.Load(Path.Combine(dir, "a.bin"), new string('0', 64)));
        Assert.Contains("expected 0000", wrong.Message);
        File.WriteAllBytes(Path.Combine(dir, "cut.bin"), bytes[..^20]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => HeadFile.Load(Path.Combine(dir, "cut.bin"))).Message);
    }

    [Fact]
    public void Scoring_with_another_protocol_kind_or_class_list_is_refused()
    {
        using var scope = NewDisposeScope();
        var (clips, rot) = ToyClips.Make(n: 80);
        var encoder = ToyClips.SharedEncoder(rot);
        var o = ToyClips.Options(epochs: 1);
        var head = EventClassification.Train(encoder, clips, V, o);

        var protocol = Assert.Throws<ArgumentException>(() => EventClassification.Score(head, encoder, clips, [A], o with { Protocol = EvaluationProtocol.Reference }));
        Assert.Contains("held-out protocol", protocol.Message);
        Assert.Throws<ArgumentException>(() => EventLocalization.Score(head, encoder, clips, [A], o));
        var (renamed, _) = ToyClips.Make(n: 80, classNames: ["a", "b", "c", "d"]);
        var classes = Assert.Throws<ArgumentException>(() => EventClassification.Score(head, encoder, renamed, [A], o));
        Assert.Contains("expected the head's classes [class0, class1, class2, class3]", classes.Message);
    }
}
