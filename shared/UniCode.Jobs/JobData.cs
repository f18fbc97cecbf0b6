using System.Text.Json;
using UniCode.Data;
using UniCode.Experiments;
using UniCode.Model.Config;
using UniCode.Persistence.Artifacts;

namespace UniCode.Jobs;

/// <summary>Opening a job's dataset, checked against the content hash its run identity names.</summary>
public static class JobData
{
    /// <summary>
    /// Opens <paramref name="dataset"/> ("KIND:PATH") and loads <paramref name="modalities"/> into memory.
    /// When <paramref name="expectedHash"/> is a sha256 the data must have that content hash: results are
    /// stored under the run's dataset hash, so other data would be recorded as the wrong dataset.
    /// </summary>
    /// <param name="field">The message field that named the dataset, for error messages.</param>
    /// <exception cref="JobRejectedException">The name is malformed, the data are missing or unreadable, a modality is absent, or the hash differs.</exception>
    public static DatasetTensors Load(string dataset, string field, ModalitySet modalities, string? expectedHash, Action<int, int>? progress = null)
    {
        ClipDataset opened;
        try
        {
            opened = DatasetOpener.Open(dataset);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or IOException or DatasetFormatException or UnauthorizedAccessException)
        {
            throw new JobRejectedException($"{field} '{dataset}' cannot be opened: {e.Message}");
        }
        DatasetTensors data;
        try
        {
            data = DatasetTensors.Load(opened, modalities, progress);
        }
        catch (Exception e) when (e is ArgumentException or IOException or DatasetFormatException)
        {
            opened.Dispose();
            throw new JobRejectedException($"{field} '{dataset}': {e.Message}");
        }
        if (expectedHash is not null && ArtifactStore.IsSha256(expectedHash) && data.ContentHash != expectedHash)
        {
            var actual = data.ContentHash;
            data.Dispose();
            opened.Dispose();
            throw new JobRejectedException($"{field} '{dataset}' has content hash {actual}, but Run.DatasetHash is {expectedHash}: the data changed since the step was planned");
        }
        return data;
    }
}

/// <summary>
/// A finished job's completion event, kept as JSON in its work directory (<c>completed.json</c>), so a
/// re-delivered message can publish it again without redoing the work.
/// </summary>
public static class CompletionRecord
{
    public const string FileName = "completed.json";

    public static void Write<T>(string directory, T completion)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        var temp = path + ".partial";
        File.WriteAllText(temp, JsonSerializer.Serialize(completion, JsonSerializerOptions.Web));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The record, or null when there is none (or it cannot be read).</summary>
    public static T? TryRead<T>(string directory) where T : class
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<T>(File.ReadAllText(path), JsonSerializerOptions.Web); }
        catch (JsonException) { return null; }
    }
}
