using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace UniCode.Core;

/// <summary>
/// The one sha256 helper: how files and streams are hashed and how a sha256 is written (64 lower-case hex
/// digits). The artifact store, checkpoint files and packed datasets name their content with it.
/// </summary>
public static partial class Sha256
{
    /// <summary>True when <paramref name="text"/> is a sha256 as this project writes it: 64 lower-case hex digits.</summary>
    public static bool IsValid(string? text) => text is not null && Pattern().IsMatch(text);

    /// <summary>Lower-case hex sha256 of <paramref name="data"/>.</summary>
    public static string Hex(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>Lower-case hex sha256 of the rest of <paramref name="content"/>.</summary>
    public static string Hex(Stream content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>Lower-case hex sha256 of a file, read as a stream.</summary>
    public static string OfFile(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Hex(f);
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Pattern();
}

/// <summary>
/// A write-only stream that hashes every byte written to it and passes it on to <c>inner</c> (or nowhere, when
/// there is none: a plain incremental hash). <see cref="Finish"/> gives the sha256 of everything written.
/// Disposing it never disposes the inner stream: that belongs to the caller.
/// </summary>
public sealed class Sha256Stream(Stream? inner = null) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>Bytes written so far.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Lower-case hex sha256 of every byte written; the hash starts over afterwards.</summary>
    public string Finish() => Convert.ToHexStringLower(_hash.GetHashAndReset());

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => inner?.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _hash.AppendData(buffer);
        inner?.Write(buffer);
        BytesWritten += buffer.Length;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _hash.Dispose();
        base.Dispose(disposing);
    }
}
