using System.Globalization;

namespace LoomSched.Config.Yaml;

/// <summary>
/// A 128-bit FNV-1a digest of a text appended piece by piece (over its UTF-16 code units), so that a schedule's
/// fingerprint is 32 hex digits rather than its whole canonical text: that text was the largest part of a loaded
/// config (a quarter of a kilobyte a schedule), and an alias-heavy entry could make it megabytes. FNV is not a
/// cryptographic hash and need not be: fingerprints only tell whether one schedule's definition changed between
/// two loads of the operator's own file, where a false "unchanged" has odds of about 2^-128.
/// </summary>
internal sealed class CanonicalHash
{
    private static readonly UInt128 OffsetBasis = new(0x6c62272e07bb0142, 0x62b821756295c58d);

    private UInt128 _hash = OffsetBasis;

    public CanonicalHash Append(char c)
    {
        // The FNV prime is 2^88 + 2^8 + 0x3b: a shift and a small product.
        var h = _hash ^ c;
        _hash = (h << 88) + (h * 0x13B);
        return this;
    }

    public CanonicalHash Append(string text)
    {
        foreach (char c in text)
        {
            Append(c);
        }
        return this;
    }

    /// <summary>The digest so far, as 32 lowercase hex digits.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{(ulong)(_hash >> 64):x16}{(ulong)_hash:x16}");
}
