namespace UniCode.Data;

/// <summary>
/// Bad dataset input: a missing file or key, a wrong shape or dtype, a non-finite value, a truncated file,
/// a rejected pickle, a malformed label row, an index out of range. The message always starts with the
/// file, then names the field and what was expected, e.g.
/// "/data/AVE/audio_feature.h5: dataset 'avadataset' has shape [4143,10,127]; expected [N,10,128]".
/// </summary>
public sealed class DatasetFormatException : Exception
{
    public DatasetFormatException(string file, string detail, Exception? inner = null)
        : base($"{file}: {detail}", inner)
    {
        File = file;
        Detail = detail;
    }

    /// <summary>The file (or dataset name, for in-memory datasets) the problem was found in.</summary>
    public string File { get; }

    /// <summary>The message without the file prefix.</summary>
    public string Detail { get; }
}
