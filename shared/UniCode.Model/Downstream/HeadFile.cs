using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using UniCode.Core;
using UniCode.Model.Config;
using UniCode.Model.Runtime;

namespace UniCode.Model.Downstream;

/// <summary>A head file as read back: the head, the pre-trained checkpoint it sits on, who wrote it, and its sha256.</summary>
/// <param name="ParentSha256">The frozen checkpoint whose codes the head reads (null when the writer did not say).</param>
/// <param name="CodeVersion">Code version that wrote the file.</param>
/// <param name="Sha256">sha256 of the whole file: its identity.</param>
public sealed record HeadFileContent(TrainedHead Head, string? ParentSha256, string CodeVersion, string Sha256);

/// <summary>
/// The file of a <see cref="TrainedHead"/>: a magic line, the metadata length (int64 LE) and metadata
/// (JSON: everything but the weights, plus the parent checkpoint, the code version and the weights'
/// sha256), the weights as float64 LE in <see cref="TrainedHead.Weights"/> order, and an end marker.
/// The bytes depend only on the head, the parent and the code version (no timestamps), so training the
/// same head twice gives the same sha256. Written to a temporary name and renamed.
/// </summary>
public static class HeadFile
{
    public const int FormatVersion = 1;
    private static readonly byte[] Magic = "UNICODE-HEAD v1\n"u8.ToArray();
    private static readonly byte[] EndMagic = "UNICODE-END\n"u8.ToArray();

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = false,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        // EpochLog.Metric is NaN when nothing was scored during training.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private sealed record Metadata(
        int FormatVersion, HeadKind Kind, string Task, Modality Source, EvaluationProtocol Protocol, int Seed,
        int CodeDim, int Outputs, IReadOnlyList<string> ClassNames, string SelectionMetric,
        ScoredSet Trained, ScoredSet? SelectedOn, IReadOnlyList<EpochLog> History,
        IReadOnlyList<WeightsLayout> Weights, string? ParentSha256, string CodeVersion, string PayloadSha256);

    private sealed record WeightsLayout(int Epoch, IReadOnlyList<IReadOnlyList<long>> Shapes);

    /// <summary>Writes <paramref name="head"/> to <paramref name="path"/> and returns the file's sha256.</summary>
    /// <param name="parentSha256">The pre-trained checkpoint the head was trained on (recorded for lineage).</param>
    public static string Save(string path, TrainedHead head, string? parentSha256)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("head files are written little-endian");
        foreach (var w in head.Weights)
            foreach (var t in w.Tensors)
                if (t.Values.LongLength != t.Shape.Aggregate(1L, (a, b) => a * b))
                    throw new ArgumentException($"head '{head.Task}' epoch {w.Epoch}: a tensor of shape [{string.Join(", ", t.Shape)}] holds {t.Values.Length} values");
        using var payloadHash = new Sha256Stream();
        foreach (var w in head.Weights)
            foreach (var t in w.Tensors)
                payloadHash.Write(MemoryMarshal.AsBytes(t.Values.AsSpan()));
        var meta = new Metadata(FormatVersion, head.Kind, head.Task, head.Source, head.Protocol, head.Seed, head.CodeDim, head.Outputs,
            head.ClassNames, head.SelectionMetric, head.Trained, head.SelectedOn, head.History,
            head.Weights.Select(w => new WeightsLayout(w.Epoch, w.Tensors.Select(t => t.Shape).ToList())).ToList(),
            parentSha256, CodeVersion.Current, payloadHash.Finish());
        var json = JsonSerializer.SerializeToUtf8Bytes(meta, Json);

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var partial = path + ".partial";
        string sha;
        using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        using (var hashed = new Sha256Stream(file))
        {
            void Write(ReadOnlySpan<byte> bytes) => hashed.Write(bytes);
            Write(Magic);
            Write(BitConverter.GetBytes((long)json.Length));
            Write(json);
            foreach (var w in head.Weights)
                foreach (var t in w.Tensors)
                    Write(MemoryMarshal.AsBytes(t.Values.AsSpan()));
            Write(EndMagic);
            file.Flush(flushToDisk: true);
            sha = hashed.Finish();
        }
        File.Move(partial, path, overwrite: true);
        return sha;
    }

    /// <summary>
    /// Reads a head file, checking its structure, the weights' hash and, when given, the whole file's
    /// sha256. Throws <see cref="InvalidDataException"/> naming the file and what is wrong.
    /// </summary>
    public static HeadFileContent Load(string path, string? expectedSha256 = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"head file '{path}': file not found", path);
        var bytes = File.ReadAllBytes(path);
        var sha = Sha256.Hex(bytes);
        if (expectedSha256 is not null && !string.Equals(sha, expectedSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"head file '{path}': sha256 is {sha}, expected {expectedSha256}: the file was changed or corrupted");
        var minimum = Magic.Length + sizeof(long) + EndMagic.Length;
        if (bytes.Length < minimum || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException($"head file '{path}': not a UniCode head file (expected the magic line '{System.Text.Encoding.ASCII.GetString(Magic).Trim()}')");
        if (!bytes.AsSpan(bytes.Length - EndMagic.Length).SequenceEqual(EndMagic))
            throw new InvalidDataException($"head file '{path}': end marker missing: the file is truncated");
        var jsonLength = BitConverter.ToInt64(bytes, Magic.Length);
        var jsonStart = Magic.Length + sizeof(long);
        if (jsonLength <= 0 || jsonLength > bytes.Length - minimum)
            throw new InvalidDataException($"head file '{path}': metadata length {jsonLength} is out of range: the file is corrupt");
        Metadata meta;
        try
        {
            meta = JsonSerializer.Deserialize<Metadata>(bytes.AsSpan(jsonStart, (int)jsonLength), Json)
                ?? throw new InvalidDataException($"head file '{path}': metadata is empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"head file '{path}': metadata is not valid JSON ({e.Message})", e);
        }
        if (meta.FormatVersion != FormatVersion)
            throw new InvalidDataException($"head file '{path}': format version {meta.FormatVersion}; this UniCode reads version {FormatVersion}");

        var payloadStart = jsonStart + (int)jsonLength;
        var payloadLength = bytes.Length - EndMagic.Length - payloadStart;
        var expectedLength = meta.Weights.Sum(w => w.Shapes.Sum(s => s.Aggregate(1L, (a, b) => a * b))) * sizeof(double);
        if (payloadLength != expectedLength)
            throw new InvalidDataException($"head file '{path}': weights are {payloadLength} bytes, the metadata's shapes need {expectedLength}: the file is corrupt");
        var payload = bytes.AsSpan(payloadStart, payloadLength);
        var payloadSha = Sha256.Hex(payload);
        if (payloadSha != meta.PayloadSha256)
            throw new InvalidDataException($"head file '{path}': weights sha256 is {payloadSha}, the metadata says {meta.PayloadSha256}: the weights are corrupt");

        var weights = new List<HeadWeights>();
        var offset = 0;
        foreach (var layout in meta.Weights)
        {
            var tensors = new List<HeadTensor>();
            foreach (var shape in layout.Shapes)
            {
                var count = (int)shape.Aggregate(1L, (a, b) => a * b);
                var values = MemoryMarshal.Cast<byte, double>(payload.Slice(offset, count * sizeof(double))).ToArray();
                offset += count * sizeof(double);
                tensors.Add(new HeadTensor(shape.ToArray(), values));
            }
            weights.Add(new HeadWeights(layout.Epoch, tensors));
        }
        var head = new TrainedHead
        {
            Kind = meta.Kind,
            Task = meta.Task,
            Source = meta.Source,
            Protocol = meta.Protocol,
            Seed = meta.Seed,
            CodeDim = meta.CodeDim,
            Outputs = meta.Outputs,
            ClassNames = meta.ClassNames,
            SelectionMetric = meta.SelectionMetric,
            Trained = meta.Trained,
            SelectedOn = meta.SelectedOn,
            History = meta.History,
            Weights = weights,
        };
        return new HeadFileContent(head, meta.ParentSha256, meta.CodeVersion, sha);
    }
}
