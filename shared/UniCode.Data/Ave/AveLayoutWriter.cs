using PureHDF;
using PureHDF.Selections;

namespace UniCode.Data.Ave;

/// <summary>
/// Writes any <see cref="ClipDataset"/> in the AVE layout (see <see cref="AveDataset"/>): float32 features and
/// labels, int64 order files, plus <c>text_feature.h5</c> when the dataset has text and <c>categories.txt</c>.
/// Streams a block of clips at a time, so the source is never held in memory whole.
/// The dataset must have the splits train, val and test (other splits are not written).
/// </summary>
public static class AveLayoutWriter
{
    public static void Write(ClipDataset source, string directory)
    {
        ArgumentNullException.ThrowIfNull(source);
        foreach (var split in AveDataset.SplitNames)
            if (!source.Splits.ContainsKey(split))
                throw new ArgumentException($"{source.Name}: has no split '{split}'; the AVE layout needs {string.Join(", ", AveDataset.SplitNames)}", nameof(source));
        System.IO.Directory.CreateDirectory(directory);
        var l = source.Layout;
        var n = (ulong)source.Count;
        var t = (ulong)l.Segments;

        var audio = new Target(Path.Combine(directory, AveDataset.AudioFile), [n, t, (ulong)l.AudioDim]);
        var video = new Target(Path.Combine(directory, AveDataset.VideoFile), [n, t, (ulong)l.VideoGrid, (ulong)l.VideoGrid, (ulong)l.VideoDim]);
        var labels = new Target(Path.Combine(directory, AveDataset.LabelsFile), [n, t, (ulong)l.LabelDim]);
        var text = l.HasText ? new Target(Path.Combine(directory, AveDataset.TextFile), [n, t, (ulong)l.TextDim]) : null;
        try
        {
            var block = Math.Clamp(4_000_000 / l.VideoPerClip, 1, 256);
            var ids = new int[block];
            for (var start = 0; start < source.Count; start += block)
            {
                var count = Math.Min(block, source.Count - start);
                for (var i = 0; i < count; i++) ids[i] = start + i;
                var span = ids.AsSpan(0, count);
                audio.Put(start, count, (c, d) => source.ReadAudio(c, d), span);
                video.Put(start, count, (c, d) => source.ReadVideo(c, d), span);
                labels.Put(start, count, (c, d) => source.ReadLabels(c, d), span);
                text?.Put(start, count, (c, d) => source.ReadText(c, d), span);
            }
        }
        finally
        {
            audio.Dispose();
            video.Dispose();
            labels.Dispose();
            text?.Dispose();
        }

        foreach (var split in AveDataset.SplitNames)
        {
            var order = source.Splits[split].Select(i => (long)i).ToArray();
            new H5File { [AveDataset.OrderKey] = order }.Write(Path.Combine(directory, $"{split}_order.h5"));
        }
        File.WriteAllLines(Path.Combine(directory, AveDataset.CategoriesFile), source.ClassNames);
    }

    private delegate void Reader(ReadOnlySpan<int> clips, Span<float> destination);

    /// <summary>One [N,…] float32 dataset 'avadataset' being written row block by row block.</summary>
    private sealed class Target : IDisposable
    {
        private readonly H5Dataset<float[]> _dataset;
        private readonly H5NativeWriter _writer;
        private readonly ulong[] _dims;
        private readonly int _rowLength;

        public Target(string path, ulong[] dims)
        {
            _dims = dims;
            _rowLength = (int)dims.Skip(1).Aggregate(1UL, (a, b) => a * b);
            _dataset = new H5Dataset<float[]>(fileDims: dims);
            var file = new H5File { [AveDataset.FeatureKey] = _dataset };
            _writer = file.BeginWrite(path);
        }

        public void Put(int start, int count, Reader read, ReadOnlySpan<int> clips)
        {
            var buffer = new float[count * _rowLength];
            read(clips, buffer);
            var starts = new ulong[_dims.Length];
            starts[0] = (ulong)start;
            var blocks = (ulong[])_dims.Clone();
            blocks[0] = (ulong)count;
            _writer.Write(_dataset, buffer, fileSelection: new HyperslabSelection(_dims.Length, starts, blocks));
        }

        public void Dispose() => _writer.Dispose();
    }
}
