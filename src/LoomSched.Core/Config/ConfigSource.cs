using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using LoomSched.Config.Validation;

namespace LoomSched.Config;

/// <summary>Reads config bytes into text: bounded size, strict UTF-8, only characters YAML (and PyYAML) allow.</summary>
internal static class ConfigSource
{
    /// <summary>The largest config accepted; far above any real schedule file, small enough to bound a load.</summary>
    public const int MaxBytes = 8 * 1024 * 1024;

    /// <summary>How long opening and reading the file may take (a sane disk reads 8 MiB in well under a second).</summary>
    public static readonly TimeSpan ReadWait = TimeSpan.FromSeconds(10);

    public static string? ReadFile(string path, Diagnostics diagnostics)
    {
        if (path.Length == 0)
        {
            diagnostics.FileError("the path is empty; name the config file");
            return null;
        }
        if (Directory.Exists(path))
        {
            diagnostics.FileError("this is a directory; name the config file itself");
            return null;
        }
        // On a thread of its own: an open or a read that never returns (a FIFO without a writer, a network file system
        // that stopped answering) fails this load instead of holding the reload, every later one and the stop.
        (byte[]? Bytes, string? Error) read = default;
        var reader = new Thread(() => read = ReadBytes(path)) { IsBackground = true, Name = "config read" };
        reader.Start();
        if (!reader.Join(ReadWait))
        {
            diagnostics.FileError($"the config file could not be read within {ReadWait.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s: is it a FIFO or a device waiting for input, or on a file system that does not answer?");
            return null;
        }
        if (read.Error is not null)
        {
            diagnostics.FileError(read.Error);
            return null;
        }
        var bytes = read.Bytes!;
        if (bytes.Length > MaxBytes)
        {
            diagnostics.FileError(TooLarge(bytes.Length));
            return null;
        }
        return Decode(bytes, diagnostics);
    }

    /// <summary>Checks text handed over in memory as a file would be checked.</summary>
    public static bool CheckText(string text, Diagnostics diagnostics)
    {
        int length = Encoding.UTF8.GetByteCount(text);
        if (length > MaxBytes)
        {
            diagnostics.FileError(TooLarge(length));
            return false;
        }
        return CheckCharacters(text, diagnostics);
    }

    public static string? Decode(ReadOnlySpan<byte> bytes, Diagnostics diagnostics)
    {
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]) || bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]))
        {
            diagnostics.FileError("the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8");
            return null;
        }
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            bytes = bytes[3..];
        }

        char[] buffer = ArrayPool<char>.Shared.Rent(Math.Max(bytes.Length, 1));
        try
        {
            var status = Utf8.ToUtf16(bytes, buffer, out int read, out int written, replaceInvalidSequences: false);
            if (status != OperationStatus.Done)
            {
                ReportInvalidUtf8(bytes, read, diagnostics);
                return null;
            }
            string text = new(buffer, 0, written);
            return CheckCharacters(text, diagnostics) ? text : null;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    private static void ReportInvalidUtf8(ReadOnlySpan<byte> bytes, int offset, Diagnostics diagnostics)
    {
        var before = bytes[..offset];
        int lineStart = before.LastIndexOf((byte)'\n') + 1;
        int line = before.Count((byte)'\n') + 1;
        // The line's prefix is valid UTF-8 (the decoder stopped after it), so its length in characters is exact.
        int column = Encoding.UTF8.GetCharCount(before[lineStart..]) + 1;
        diagnostics.Error(new Yaml.TextPosition(line, column), "",
            $"the file is not valid UTF-8: byte 0x{bytes[offset]:X2} at offset {offset.ToString(CultureInfo.InvariantCulture)} cannot start or continue a character; save the file as UTF-8");
    }

    // PyYAML's Reader.check_printable: Loom refuses any other character, so loomsched does too.
    private static bool CheckCharacters(string text, Diagnostics diagnostics)
    {
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\n')
            {
                line++;
                lineStart = i + 1;
                continue;
            }
            bool allowed = c is '\t' or '\r' or '\u0085' or (>= ' ' and <= '~') or (>= '\u00A0' and <= '\uD7FF') or (>= '\uE000' and <= '\uFFFD')
                || (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[++i]));
            if (!allowed && !(i == 0 && c == '\uFEFF'))
            {
                diagnostics.Error(new Yaml.TextPosition(line, i - lineStart + 1), "",
                    $"the character U+{(int)c:X4} is not allowed in a YAML file (control characters must be written as escapes inside double quotes)");
                return false;
            }
        }
        return true;
    }

    /// <summary>The file's bytes (up to one over <see cref="MaxBytes"/>), or why it cannot be read.</summary>
    private static (byte[]? Bytes, string? Error) ReadBytes(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
            // Checked before reading so that a huge file is refused at once; the bounded read below covers a
            // file that grows meanwhile (or a device without a length).
            return stream.CanSeek && stream.Length > MaxBytes
                ? (null, TooLarge(stream.Length))
                : (ReadAtMost(stream, MaxBytes + 1), null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return (null, ex switch
            {
                FileNotFoundException or DirectoryNotFoundException => "the config file does not exist; check the path",
                UnauthorizedAccessException => "the config file cannot be read: permission denied",
                // The runtime's own messages for these are bare resource keys in the published binary: said here.
                PathTooLongException => "the path is too long for the file system; check the path",
                ArgumentException or NotSupportedException => "the path is not valid; check the path",
                _ => $"the config file cannot be read: {ex.Message}",
            });
        }
    }

    private static byte[] ReadAtMost(Stream stream, int limit)
    {
        using var memory = new MemoryStream();
        // A regular file says its length: a chunk of that size (and one byte to see it end) reads it in one go.
        // A device, a pipe or /proc says 0, however much it holds: those get the full chunk.
        byte[] chunk = new byte[stream.CanSeek && stream.Length > 0 ? (int)Math.Min(stream.Length + 1, 81920) : 81920];
        int n;
        while (memory.Length < limit && (n = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, limit - memory.Length))) > 0)
        {
            memory.Write(chunk, 0, n);
        }
        return memory.ToArray();
    }

    private static string TooLarge(long size) =>
        $"the file is {size.ToString("N0", CultureInfo.InvariantCulture)} bytes, over the limit of {MaxBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes (8 MiB); a scheduler config should be far smaller";
}
