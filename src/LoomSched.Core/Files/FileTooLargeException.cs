namespace LoomSched.Files;

/// <summary>
/// A file over the limit of a <see cref="BoundedRead"/>: <see cref="Size"/> is the length the file says, or one byte
/// over the limit when it says none (a device, a pipe) and the read passed the limit. Each reader words its own message.
/// </summary>
internal sealed class FileTooLargeException(long size) : Exception($"the file has more than the limit: {size} bytes")
{
    /// <summary>The file's size as far as it is known.</summary>
    public long Size { get; } = size;
}
