using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using LoomSched.Config.Validation;
using LoomSched.Files;

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
        // On a thread of its own: an open or a read that never returns (a FIFO without a writer, a network file system
        // that stopped answering) fails this load instead of holding the reload, every later one and the stop; the
        // next load waits for that read instead of starting one more.
        var read = FileRead.Within(path, MaxBytes, ReadWait, "config read");
        if (read.Bytes is null)
        {
            diagnostics.FileError(read.Problem switch
            {
                FileReadProblem.EmptyPath => "the path is empty; name the config file",
                FileReadProblem.Directory => "this is a directory; name the config file itself",
                FileReadProblem.TimedOut => $"the config file could not be read {FileRead.WaitText(ReadWait)}: is it a FIFO or a device waiting for input, or on a file system that does not answer?",
                FileReadProblem.TooLarge => TooLarge(read.Size),
                FileReadProblem.NotFound => "the config file does not exist; check the path",
                FileReadProblem.Denied => "the config file cannot be read: permission denied",
                // The runtime's own messages for these are bare resource keys in the published binary: said here.
                FileReadProblem.PathTooLong => "the path is too long for the file system; check the path",
                FileReadProblem.InvalidPath => "the path is not valid; check the path",
                _ => $"the config file cannot be read: {read.Detail}",
            });
            return null;
        }
        return Decode(read.Bytes, diagnostics);
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

    private static string TooLarge(long size) =>
        $"the file is {size.ToString("N0", CultureInfo.InvariantCulture)} bytes, over the limit of {MaxBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes (8 MiB); a scheduler config should be far smaller";
}
