using static TorchSharp.torch;

namespace UniCode.Model.Training;

/// <summary>Where pre-training reads its clips from: a dataset split wrapped as tensors.</summary>
public interface IBatchSource
{
    /// <summary>Number of clips.</summary>
    int Count { get; }

    /// <summary>sha256 of the data's content: part of every run's identity.</summary>
    string ContentHash { get; }

    /// <summary>The clips at <paramref name="clipIndices"/> as one batch of tensors on <paramref name="device"/> in <paramref name="dtype"/>.</summary>
    PretrainBatch ReadBatch(ReadOnlySpan<int> clipIndices, Device device, ScalarType dtype);
}
