using System.Security.Cryptography;
using System.Text;
using UniCode.Core;

namespace UniCode.Messaging;

/// <summary>
/// The step key and job id of a job message. A step key names a unit of work by everything that
/// determines its result, so the same work submitted twice has the same key (and the same job id),
/// and any change to config, inputs or code gives a new one.
/// </summary>
public static class StepKeys
{
    /// <summary>
    /// sha256 (lower-case hex) of the netstrings ("LEN:UTF8-BYTES,") of "unicode-step/1", the kind,
    /// the config, each input hash, and the code version, concatenated. Length prefixes keep the
    /// fields apart (no separator inside a field can shift them); input order is significant.
    /// </summary>
    /// <param name="stepKind">"preprocess", "pretrain", "finetune" or "evaluate".</param>
    /// <param name="canonicalConfigJson">The step's config as canonical JSON (the caller canonicalises).</param>
    /// <param name="inputHashes">Hashes of the inputs (dataset, checkpoints) in the step's fixed order.</param>
    /// <param name="codeVersion">git commit of the code that will run the step.</param>
    public static string Compute(string stepKind, string canonicalConfigJson, IReadOnlyList<string> inputHashes, string codeVersion)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(stepKind);
        ArgumentNullException.ThrowIfNull(canonicalConfigJson);
        ArgumentNullException.ThrowIfNull(inputHashes);
        ArgumentException.ThrowIfNullOrWhiteSpace(codeVersion);
        string[] parts = ["unicode-step/1", stepKind, canonicalConfigJson, .. inputHashes, codeVersion];
        using var buffer = new MemoryStream();
        foreach (var part in parts)
        {
            var bytes = Encoding.UTF8.GetBytes(part);
            buffer.Write(Encoding.ASCII.GetBytes($"{bytes.Length}:"));
            buffer.Write(bytes);
            buffer.WriteByte((byte)',');
        }
        return Sha256Hex(buffer.ToArray());
    }

    /// <summary>
    /// The job id of a step: the first 16 bytes of sha256("unicode-job/1:" + stepKey) as an RFC 9562
    /// version-8 (custom) UUID.
    /// </summary>
    public static Guid JobId(string stepKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(stepKey);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes("unicode-job/1:" + stepKey), hash);
        var bytes = hash[..16];
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80);   // version 8
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);   // variant 10
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>Lower-case hex sha256 of <paramref name="data"/>.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> data) => Sha256.Hex(data);
}
