using System.Text;
using System.Text.Json;
using TorchSharp;
using UniCode.Core;
using UniCode.Model.Config;
using UniCode.Model.Runtime;
using UniCode.Model.Training;
using static TorchSharp.torch;

namespace UniCode.Model.Checkpoints;

/// <summary>Who and what a checkpoint is: a run is a function of (config, dataset hash, seed, code version).</summary>
public sealed record CheckpointMetadata
{
    public int FormatVersion { get; init; } = CheckpointFile.FormatVersion;
    public required string ConfigJson { get; init; }
    public required string ConfigHash { get; init; }
    public required long Seed { get; init; }
    public required string CodeVersion { get; init; }
    public required string DatasetHash { get; init; }
    public required long Step { get; init; }
    public required int Epoch { get; init; }
    /// <summary>sha256 of the checkpoint this one continues from (lineage); null for the first.</summary>
    public string? ParentSha256 { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>The payload's sections in file order, with their lengths, and the payload's sha256.</summary>
    public required IReadOnlyList<CheckpointSection> Sections { get; init; }
    public required string PayloadSha256 { get; init; }

    public UniCodeConfig Config() => UniCodeConfig.FromJson(ConfigJson, "checkpoint config");
}

public sealed record CheckpointSection(string Name, long Offset, long Length);

/// <summary>A checkpoint on disk: its path, the sha256 of the whole file, its size and metadata.</summary>
public sealed record CheckpointInfo(string Path, string Sha256, long SizeBytes, CheckpointMetadata Metadata);

/// <summary>A checkpoint file that cannot be used: corrupt, truncated, of another format, or not matching what was asked for.</summary>
public class CheckpointException(string path, string problem) : IOException($"checkpoint '{path}': {problem}")
{
    public string CheckpointPath { get; } = path;
}

/// <summary>A sound checkpoint that belongs to another run (other config or dataset) than the one asked for.</summary>
public sealed class CheckpointMismatchException(string path, string problem) : CheckpointException(path, problem);

/// <summary>
/// The checkpoint file format: a magic line, the payload (model weights and codebook buffers,
/// optimiser states, random-generator states, each a section), a JSON trailer
/// (<see cref="CheckpointMetadata"/>, including the payload's sha256), the trailer's length and an
/// end marker. Written in one pass to a temporary file and renamed, so a crash never leaves a
/// half-written checkpoint under the final name. The whole file's sha256 is returned and written
/// beside it as <c>FILE.sha256</c>; loading verifies the payload hash always and the file hash
/// when one is expected.
/// </summary>
public static class CheckpointFile
{
    public const int FormatVersion = 1;
    private static readonly byte[] Magic = "UNICODE-CHECKPOINT v1\n"u8.ToArray();
    private static readonly byte[] EndMagic = "UNICODE-END\n"u8.ToArray();
    private const string ModelSection = "model";
    private const string TorchRngSection = "rng:torch";
    private const string QuantizerRngSection = "rng:quantizer";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Writes the trainer's full state. The metadata's config, seed and step come from the trainer.</summary>
    public static CheckpointInfo Save(string path, Pretrainer trainer, string datasetHash, int epoch, string? parentSha256 = null)
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var partial = path + ".partial";
        var sections = new List<CheckpointSection>();
        string payloadSha;
        string sha;
        using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            using var whole = new Sha256Stream(file);
            using var payload = new Sha256Stream(whole);
            whole.Write(Magic);
            void Section(string name, Action<BinaryWriter> write)
            {
                var start = file.Position;
                using (var w = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
                {
                    write(w);
                    w.Flush();
                }
                sections.Add(new CheckpointSection(name, start, file.Position - start));
            }
            Section(ModelSection, w => trainer.Model.save(w));
            foreach (var (name, opt) in trainer.Optimizers()) Section("optim:" + name, w => opt.save_state_dict(w));
            Section(TorchRngSection, w => WriteTensorBytes(w, random.get_rng_state()));
            Section(QuantizerRngSection, w => WriteTensorBytes(w, trainer.Model.Quantizer.GetRandomState()));
            payloadSha = payload.Finish();

            var meta = new CheckpointMetadata
            {
                ConfigJson = trainer.Config.ToCanonicalJson(),
                ConfigHash = trainer.Config.Hash(),
                Seed = trainer.Config.Seed,
                CodeVersion = CodeVersion.Current,
                DatasetHash = datasetHash,
                Step = trainer.Step,
                Epoch = epoch,
                ParentSha256 = parentSha256,
                CreatedAt = DateTimeOffset.UtcNow,
                Sections = sections,
                PayloadSha256 = payloadSha,
            };
            var trailer = JsonSerializer.SerializeToUtf8Bytes(meta, Json);
            whole.Write(trailer);
            whole.Write(BitConverter.GetBytes((long)trailer.Length));
            whole.Write(EndMagic);
            file.Flush(flushToDisk: true);
            sha = whole.Finish();
        }
        File.Move(partial, path, overwrite: true);
        File.WriteAllText(path + ".sha256", $"{sha}  {System.IO.Path.GetFileName(path)}\n");
        var metadata = ReadMetadata(path);
        return new CheckpointInfo(path, sha, new FileInfo(path).Length, metadata);
    }

    /// <summary>
    /// Copies a verified checkpoint to <paramref name="destination"/> with another lineage parent: the same
    /// payload (weights, optimiser and random states: <see cref="CheckpointMetadata.PayloadSha256"/> is
    /// unchanged) and metadata, but <see cref="CheckpointMetadata.ParentSha256"/> = <paramref name="parentSha256"/>.
    /// A run publishes its final checkpoint this way: its parent inside the run is a scratch checkpoint
    /// that no registry knows, the lineage that matters is the checkpoint the run started from (or none).
    /// Written to a temporary name and renamed, with the <c>FILE.sha256</c> sidecar.
    /// </summary>
    public static CheckpointInfo CopyWithParent(string source, string destination, string? parentSha256, string? expectedSha256 = null)
    {
        var (meta, _) = Verify(source, expectedSha256);
        var relinked = meta with { ParentSha256 = parentSha256 };
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(destination))!;
        Directory.CreateDirectory(dir);
        var partial = destination + ".partial";
        string sha;
        using (var input = File.OpenRead(source))
        using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        using (var whole = new Sha256Stream(file))
        {
            // Magic line and payload, byte for byte.
            var remaining = Magic.Length + meta.Sections.Sum(x => x.Length);
            var buffer = new byte[1 << 20];
            while (remaining > 0)
            {
                var n = input.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
                if (n == 0) throw new CheckpointException(source, "ended inside its payload while copying");
                whole.Write(buffer, 0, n);
                remaining -= n;
            }
            var trailer = JsonSerializer.SerializeToUtf8Bytes(relinked, Json);
            whole.Write(trailer);
            whole.Write(BitConverter.GetBytes((long)trailer.Length));
            whole.Write(EndMagic);
            file.Flush(flushToDisk: true);
            sha = whole.Finish();
        }
        File.Move(partial, destination, overwrite: true);
        File.WriteAllText(destination + ".sha256", $"{sha}  {System.IO.Path.GetFileName(destination)}\n");
        return new CheckpointInfo(destination, sha, new FileInfo(destination).Length, ReadMetadata(destination));
    }

    /// <summary>Reads and checks the trailer (format, end marker, lengths) without reading the payload.</summary>
    public static CheckpointMetadata ReadMetadata(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException(path, "file not found");
        using var f = File.OpenRead(path);
        var minimum = Magic.Length + EndMagic.Length + sizeof(long);
        if (f.Length < minimum) throw new CheckpointException(path, $"{f.Length} bytes is too short for a UniCode checkpoint (truncated?)");
        var head = new byte[Magic.Length];
        f.ReadExactly(head);
        if (!head.AsSpan().SequenceEqual(Magic)) throw new CheckpointException(path, "not a UniCode checkpoint (bad magic line)");
        f.Seek(-(EndMagic.Length + sizeof(long)), SeekOrigin.End);
        var tail = new byte[sizeof(long) + EndMagic.Length];
        f.ReadExactly(tail);
        if (!tail.AsSpan(sizeof(long)).SequenceEqual(EndMagic)) throw new CheckpointException(path, "end marker missing: the file is truncated or was not completely written");
        var trailerLength = BitConverter.ToInt64(tail, 0);
        if (trailerLength <= 0 || trailerLength > f.Length - minimum) throw new CheckpointException(path, $"trailer length {trailerLength} is out of range: the file is corrupt");
        f.Seek(-(EndMagic.Length + sizeof(long) + trailerLength), SeekOrigin.End);
        var trailer = new byte[trailerLength];
        f.ReadExactly(trailer);
        CheckpointMetadata? meta;
        try { meta = JsonSerializer.Deserialize<CheckpointMetadata>(trailer, Json); }
        catch (JsonException e) { throw new CheckpointException(path, $"metadata is not valid JSON ({e.Message})"); }
        if (meta is null) throw new CheckpointException(path, "metadata is empty");
        if (meta.FormatVersion != FormatVersion) throw new CheckpointException(path, $"format version {meta.FormatVersion}; this UniCode reads version {FormatVersion}");
        var payloadEnd = f.Length - EndMagic.Length - sizeof(long) - trailerLength;
        var expectedStart = (long)Magic.Length;
        foreach (var s in meta.Sections)
        {
            if (s.Offset != expectedStart || s.Length < 0) throw new CheckpointException(path, $"section '{s.Name}' at {s.Offset}+{s.Length} does not follow the previous one: corrupt");
            expectedStart += s.Length;
        }
        if (expectedStart != payloadEnd) throw new CheckpointException(path, $"payload is {payloadEnd - Magic.Length} bytes but its sections add up to {expectedStart - Magic.Length}: corrupt");
        return meta;
    }

    /// <summary>
    /// Verifies a checkpoint in one read of the file: trailer, payload hash, and the whole file's
    /// hash against <paramref name="expectedSha256"/> (or the <c>FILE.sha256</c> beside it when present).
    /// Returns the metadata and the file's sha256.
    /// </summary>
    public static (CheckpointMetadata Metadata, string Sha256) Verify(string path, string? expectedSha256 = null)
    {
        var meta = ReadMetadata(path);
        expectedSha256 ??= ReadSidecar(path);
        using var f = File.OpenRead(path);
        using var fileHash = new Sha256Stream();
        using var payloadHash = new Sha256Stream();
        var payloadStart = (long)Magic.Length;
        var payloadEnd = payloadStart + meta.Sections.Sum(s => s.Length);
        var buffer = new byte[1 << 20];
        long position = 0;
        int n;
        while ((n = f.Read(buffer, 0, buffer.Length)) > 0)
        {
            fileHash.Write(buffer, 0, n);
            var from = Math.Max(position, payloadStart);
            var to = Math.Min(position + n, payloadEnd);
            if (to > from) payloadHash.Write(buffer, (int)(from - position), (int)(to - from));
            position += n;
        }
        var sha = fileHash.Finish();
        if (expectedSha256 is not null && !string.Equals(sha, expectedSha256, StringComparison.OrdinalIgnoreCase))
            throw new CheckpointException(path, $"sha256 is {sha}, expected {expectedSha256}: the file was changed or corrupted");
        var payload = payloadHash.Finish();
        if (payload != meta.PayloadSha256)
            throw new CheckpointException(path, $"payload sha256 is {payload}, the trailer says {meta.PayloadSha256}: the weights are corrupt");
        return (meta, sha);
    }

    private static string? ReadSidecar(string path)
    {
        var side = path + ".sha256";
        if (!File.Exists(side)) return null;
        var text = File.ReadAllText(side).Trim();
        var sha = text.Split(' ', 2)[0];
        return sha.Length == 64 ? sha : throw new CheckpointException(path, $"{side} does not start with a sha256");
    }

    /// <summary>Builds the model a checkpoint was trained with and loads its weights and codebook (verified first).</summary>
    public static (UniCodeModel Model, CheckpointMetadata Metadata) LoadModel(string path, Device? device = null, string? expectedSha256 = null)
    {
        var (meta, _) = Verify(path, expectedSha256);
        var model = new UniCodeModel(meta.Config());
        using (var f = OpenSection(path, meta, ModelSection))
        using (var r = new BinaryReader(f))
        {
            LoadModule(path, model, r);
        }
        if (device is not null) model.to(device);
        return (model, meta);
    }

    /// <summary>
    /// Restores a trainer's full state (weights, codebook, optimisers, step, random state) to resume a run.
    /// The checkpoint's config must be the trainer's (same config hash).
    /// </summary>
    public static CheckpointMetadata Restore(string path, Pretrainer trainer, string? expectedSha256 = null) =>
        RestoreVerified(path, Verify(path, expectedSha256).Metadata, trainer);

    /// <summary><see cref="Restore"/> for a checkpoint whose <see cref="Verify"/> just passed.</summary>
    internal static CheckpointMetadata RestoreVerified(string path, CheckpointMetadata meta, Pretrainer trainer)
    {
        var want = trainer.Config.Hash();
        if (meta.ConfigHash != want)
            throw new CheckpointMismatchException(path, $"was trained with config {Short(meta.ConfigHash)}, this run's config is {Short(want)}; resume only with the same config");
        var device = trainer.Device;
        using (var f = OpenSection(path, meta, ModelSection))
        using (var r = new BinaryReader(f))
        {
            trainer.Model.to(CPU);
            LoadModule(path, trainer.Model, r);
            trainer.Model.to(device);
        }
        foreach (var (name, opt) in trainer.Optimizers())
        {
            using var f = OpenSection(path, meta, "optim:" + name);
            using var r = new BinaryReader(f);
            opt.load_state_dict(r);
        }
        using (var f = OpenSection(path, meta, TorchRngSection))
        using (var r = new BinaryReader(f))
        {
            random.set_rng_state(ReadTensorBytes(r));
        }
        using (var f = OpenSection(path, meta, QuantizerRngSection))
        using (var r = new BinaryReader(f))
        {
            trainer.Model.Quantizer.SetRandomState(ReadTensorBytes(r));
        }
        trainer.Step = meta.Step;
        return meta;
    }

    /// <summary>The first 12 characters of a hash, for messages.</summary>
    public static string Short(string hash) => hash.Length > 12 ? hash[..12] + "…" : hash;

    private static void LoadModule(string path, nn.Module model, BinaryReader r)
    {
        try { model.load(r, strict: true); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or EndOfStreamException)
        {
            throw new CheckpointException(path, $"weights do not fit the model of its own config ({e.Message})");
        }
    }

    private static Stream OpenSection(string path, CheckpointMetadata meta, string name)
    {
        var s = meta.Sections.FirstOrDefault(x => x.Name == name)
            ?? throw new CheckpointException(path, $"has no section '{name}' (sections: {string.Join(", ", meta.Sections.Select(x => x.Name))})");
        var f = File.OpenRead(path);
        f.Seek(s.Offset, SeekOrigin.Begin);
        return new BufferedStream(f, 1 << 20);
    }

    private static void WriteTensorBytes(BinaryWriter w, Tensor t)
    {
        var bytes = t.to(ScalarType.Byte).data<byte>().ToArray();
        w.Write(bytes.Length);
        w.Write(bytes);
    }

    private static Tensor ReadTensorBytes(BinaryReader r)
    {
        var n = r.ReadInt32();
        return tensor(r.ReadBytes(n), ScalarType.Byte);
    }
}
