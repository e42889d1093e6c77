using System.Runtime.InteropServices;

namespace LoomSched.Files;

/// <summary>
/// The file a path names, by device and inode: a read held by a file that the path no longer names (a FIFO replaced by
/// a regular file) must not hold the reads of the file that it names now. By the path alone when that is not known.
/// </summary>
internal readonly partial record struct FileKey(ulong Device, ulong Inode, string? Path)
{
    private const int CurrentDirectory = -100; // AT_FDCWD
    private const uint WantInode = 0x100; // STATX_INO

    private static bool _unavailable;

    /// <summary>The file <paramref name="path"/> names now. Can block as long as the file system does not answer.</summary>
    public static FileKey Of(string path)
    {
        // A NUL would end the path early for the C library: the open refuses it anyway.
        if (!_unavailable && !path.Contains('\0', StringComparison.Ordinal))
        {
            // struct statx: the same 256 bytes on every architecture, unlike struct stat.
            Span<byte> status = stackalloc byte[256];
            try
            {
                if (Statx(CurrentDirectory, path, 0, WantInode, status) == 0 && (MemoryMarshal.Read<uint>(status) & WantInode) != 0)
                {
                    // stx_mask at 0, stx_ino at 32, stx_dev_major and stx_dev_minor at 136 and 140.
                    ulong device = (ulong)MemoryMarshal.Read<uint>(status[136..]) << 32 | MemoryMarshal.Read<uint>(status[140..]);
                    return new FileKey(device, MemoryMarshal.Read<ulong>(status[32..]), null);
                }
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                // A C library older than statx (glibc 2.28): the reads of a path wait for each other, whatever it names.
                _unavailable = true;
            }
        }
        // A path that names nothing (yet) fails its open at once.
        return new FileKey(0, 0, path);
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directory, string path, int flags, uint mask, Span<byte> status);
}
