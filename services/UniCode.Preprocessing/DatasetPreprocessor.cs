using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using UniCode.Data;
using UniCode.Data.Npy;
using UniCode.Persistence;
using UniCode.Persistence.Artifacts;
using UniCode.Persistence.Entities;
using UniCode.Persistence.Writers;
using UniCode.Settings;

namespace UniCode.Preprocessing;

/// <summary>Settings of the preprocessing service.</summary>
/// <param name="VerifyPack">
/// Re-open every new pack with the npy reader and require its content hash to equal the source's before
/// publishing it (one more read of the data; UNICODE_PREPROCESS_VERIFY, default true). The host reads it from its
/// configuration (<see cref="ISettings{TSelf}"/>, the one binding path) as options validated on start.
/// </param>
public sealed record PreprocessingOptions(bool VerifyPack = true) : ISettings<PreprocessingOptions>
{
    public const string VerifyVariable = "UNICODE_PREPROCESS_VERIFY";

    public static PreprocessingOptions FromEnvironment(Func<string, string?>? lookup = null)
    {
        var value = (lookup ?? Environment.GetEnvironmentVariable)(VerifyVariable)?.Trim().ToLowerInvariant();
        return value switch
        {
            null or "" or "1" or "true" or "yes" => new PreprocessingOptions(true),
            "0" or "false" or "no" => new PreprocessingOptions(false),
            _ => throw new InvalidOperationException($"{VerifyVariable} is '{value}'; expected true or false"),
        };
    }
}

/// <summary>What became of a preprocessing request.</summary>
public abstract record PreprocessOutcome
{
    /// <summary>
    /// The dataset is registered. <paramref name="Dataset"/> is what later steps open: <c>npy:&lt;pack directory&gt;</c>,
    /// or the source name itself for datasets the pack cannot hold (<see cref="DatasetPacker.CanPack"/>).
    /// <paramref name="Reused"/>: the same content was registered before (nothing was written).
    /// </summary>
    public sealed record Preprocessed(Guid DatasetId, string Dataset, string ContentHash, int ClipCount, bool Reused) : PreprocessOutcome;

    /// <summary>The dataset cannot be used; <paramref name="Reason"/> is the reader's message (file, field, expected).</summary>
    public sealed record Rejected(string Reason) : PreprocessOutcome;
}

/// <summary>
/// Preprocesses a <c>KIND:PATH</c> dataset: opens it with <see cref="DatasetOpener"/> (shapes checked), computes
/// its content hash (every value read and checked), packs it into the artifact store under
/// <c>datasets/&lt;content hash&gt;/</c> (<see cref="DatasetPacker"/>), verifies the pack, and records one
/// datasets row per content hash. The same content again, from any source name, reuses the row and the pack.
/// </summary>
public sealed class DatasetPreprocessor(
    IDbContextFactory<ResultsDbContext> contexts, ArtifactStore store, PreprocessingOptions options, ILogger<DatasetPreprocessor> logger)
{
    /// <summary>The store directory that holds packs: <c>ROOT/datasets/&lt;content hash&gt;</c>.</summary>
    public const string Collection = "datasets";

    public ArtifactStore Store => store;

    public async Task<PreprocessOutcome> RunAsync(string datasetName, CancellationToken cancellationToken)
    {
        DatasetName name;
        ClipDataset source;
        try
        {
            name = Normalise(DatasetName.Parse(datasetName));
            source = await Task.Run(() => DatasetOpener.Open(name), cancellationToken);
        }
        catch (Exception e) when (e is DatasetFormatException or FormatException or ArgumentException)
        {
            return Reject(datasetName, e.Message);
        }

        using (source)
        {
            logger.LogInformation("Opened {Dataset}: {ClipCount} clips, {Layout}; splits {Splits}",
                source.Name, source.Count, source.Layout.ToString(), string.Join(", ", source.Splits.Select(s => $"{s.Key} {s.Value.Count}")));
            string hash;
            var watch = Stopwatch.StartNew();
            logger.LogInformation("Hashing {Dataset}: reading and checking every value of {ClipCount} clips", source.Name, source.Count);
            try
            {
                hash = await Task.Run(source.ContentHash, cancellationToken);
            }
            catch (DatasetFormatException e)
            {
                return Reject(datasetName, e.Message);
            }
            logger.LogInformation("Content hash of {Dataset} is {ContentHash} ({Seconds:0.0} s)", source.Name, hash, watch.Elapsed.TotalSeconds);

            string published;
            bool packedNow = false;
            if (DatasetPacker.CanPack(source))
            {
                try
                {
                    (published, packedNow) = await Task.Run(() => EnsurePack(source, hash, cancellationToken), cancellationToken);
                }
                catch (DatasetFormatException e)
                {
                    // Every value was checked while hashing: the source changed while it was being packed.
                    return Reject(datasetName, e.Message);
                }
            }
            else
            {
                // The npy layout holds one single-label track; AVVP has audio and visual tracks with multi-hot
                // rows. It is validated, hashed and registered where it is, and read with its own reader.
                published = source.Name;
                logger.LogInformation("{Dataset} has audio/visual label tracks, which the npy pack cannot hold: registered in place", source.Name);
            }

            var (id, inserted) = await RecordAsync(name, source, hash, published, DatasetPacker.CanPack(source), cancellationToken);
            logger.LogInformation("{Dataset} is dataset {DatasetId} ({ContentHash}), opened as {Published}; {What}",
                source.Name, id, hash, published, inserted ? "new row" : packedNow ? "existing row, pack re-written" : "already registered");
            return new PreprocessOutcome.Preprocessed(id, published, hash, source.Count, !inserted && !packedNow);
        }
    }

    /// <summary>The <c>npy:</c> name of the pack of <paramref name="hash"/>, writing the pack unless a sound one exists.</summary>
    private (string Name, bool Written) EnsurePack(ClipDataset source, string hash, CancellationToken cancellationToken)
    {
        var final = store.DirectoryOf(Collection, hash);
        if (Directory.Exists(final))
        {
            var problem = DatasetPacker.Check(final, hash, rehash: false);
            if (problem is null)
            {
                logger.LogInformation("Pack {Directory} exists; not written again", final);
                return (Npy(final), false);
            }
            // A pack that lost a file cannot be repaired in place (readers may have it open): move it aside.
            var aside = store.CreateStagingDirectory("broken-pack");
            Directory.Delete(aside);
            Directory.Move(final, aside);
            logger.LogWarning("Pack {Directory} is incomplete ({Problem}); moved to {Aside} and written again", final, problem, aside);
        }

        var staging = store.CreateStagingDirectory("pack");
        try
        {
            var watch = Stopwatch.StartNew();
            var nextReport = 0.1;
            var lastReport = TimeSpan.Zero;
            DatasetPacker.Pack(source, staging, hash, done =>
            {
                var fraction = (double)done / source.Count;
                if (fraction >= nextReport || watch.Elapsed - lastReport > TimeSpan.FromSeconds(30) || done == source.Count)
                {
                    logger.LogInformation("Packing {Dataset}: {Done}/{Total} clips ({Percent:0}%, {Seconds:0.0} s)",
                        source.Name, done, source.Count, 100 * fraction, watch.Elapsed.TotalSeconds);
                    while (nextReport <= fraction) nextReport += 0.1;
                    lastReport = watch.Elapsed;
                }
            }, cancellationToken);

            if (options.VerifyPack)
            {
                using var packed = NpyDataset.Open(staging);
                var packedHash = packed.ContentHash();
                if (packedHash != hash)
                    throw new InvalidOperationException(
                        $"{staging}: the pack of {source.Name} reads back with content hash {packedHash}; expected {hash} (the packer or a reader is wrong; nothing was published)");
                logger.LogInformation("Verified the pack of {Dataset}: the npy reader sees content hash {ContentHash}", source.Name, hash);
            }
            var path = store.CommitDirectory(staging, Collection, hash, out var existed);
            if (existed) logger.LogInformation("Pack {Directory} was written by another worker meanwhile; using it", path);
            return (Npy(path), !existed);
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Inserts the datasets row (named by the reader's canonical name, e.g. every key of a synth spec) unless one with
    /// this content hash exists; returns the row's id and whether it is new.
    /// </summary>
    private async Task<(Guid Id, bool Inserted)> RecordAsync(DatasetName name, ClipDataset source, string hash, string published, bool packed, CancellationToken cancellationToken)
    {
        var l = source.Layout;
        var description = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["source"] = source.Name,
            ["packed"] = packed ? published : null,
            ["pack_format"] = packed ? PackManifest.CurrentFormat : null,
            ["layout"] = new { segments = l.Segments, audio_dim = l.AudioDim, video_grid = l.VideoGrid, video_dim = l.VideoDim, text_dim = l.TextDim, classes = l.Classes },
            ["class_names"] = source.ClassNames,
            ["splits"] = source.Splits.ToDictionary(s => s.Key, s => s.Value.Count),
            ["track_labels"] = source.HasTrackLabels,
        });
        var kind = DatasetName.KindKeywords[(int)name.Kind];
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return await DatasetsWriter.InsertAsync(context, new Dataset
        {
            Id = Guid.NewGuid(), Name = source.Name, Kind = kind, ContentHash = hash, ClipCount = source.Count, CreatedAt = DateTimeOffset.UtcNow,
            Description = description,
        }, cancellationToken);
    }

    /// <summary>Directories become absolute, so the name means the same thing to every later step.</summary>
    private static DatasetName Normalise(DatasetName name) =>
        name.Kind == DatasetKind.Synth ? name : name with { Path = Path.GetFullPath(name.Path) };

    private static string Npy(string directory) => $"npy:{directory}";

    private PreprocessOutcome.Rejected Reject(string dataset, string reason)
    {
        logger.LogWarning("Rejected dataset {Dataset}: {Reason}", dataset, reason);
        return new PreprocessOutcome.Rejected(reason);
    }
}
