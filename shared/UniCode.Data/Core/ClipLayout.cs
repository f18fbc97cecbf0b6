namespace UniCode.Data;

/// <summary>
/// Per-clip tensor shapes of a <see cref="ClipDataset"/>: audio [T,Da], video [T,G,G,Dv], text [T,Dt]
/// (TextDim 0 = no text), labels [T,C+1] with the background column last (as AVE).
/// </summary>
public sealed record ClipLayout(int Segments, int AudioDim, int VideoGrid, int VideoDim, int TextDim, int Classes)
{
    public bool HasText => TextDim > 0;
    /// <summary>C+1: the classes plus the background column (last).</summary>
    public int LabelDim => Classes + 1;
    public int AudioPerClip => Segments * AudioDim;
    public int VideoPerClip => Segments * VideoGrid * VideoGrid * VideoDim;
    public int TextPerClip => Segments * TextDim;
    public int LabelsPerClip => Segments * LabelDim;

    /// <summary>Shapes of one clip, e.g. "audio [10,128], video [10,7,7,512], labels [10,29]".</summary>
    public override string ToString() =>
        $"audio [{Segments},{AudioDim}], video [{Segments},{VideoGrid},{VideoGrid},{VideoDim}]"
        + (HasText ? $", text [{Segments},{TextDim}]" : "") + $", labels [{Segments},{LabelDim}]";

    internal void Validate(string datasetName)
    {
        if (Segments <= 0 || AudioDim <= 0 || VideoGrid <= 0 || VideoDim <= 0 || TextDim < 0 || Classes <= 0)
            throw new DatasetFormatException(datasetName, $"has an invalid layout ({this}); expected positive sizes");
    }
}

/// <summary>Which per-segment labels to read.</summary>
public enum LabelTrack
{
    /// <summary>The clip's labels. For AVVP: per second the OR of the audio and visual events.</summary>
    Clip,
    /// <summary>Events audible in the clip (AVVP audio annotation); equals <see cref="Clip"/> elsewhere.</summary>
    Audio,
    /// <summary>Events visible in the clip (AVVP visual annotation); equals <see cref="Clip"/> elsewhere.</summary>
    Visual,
}

/// <summary>A per-clip field, for error messages.</summary>
public enum ClipField
{
    Audio,
    Video,
    Text,
    Labels,
}
