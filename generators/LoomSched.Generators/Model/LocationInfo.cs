using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace LoomSched.Generators.Model;

/// <summary>
/// A location reduced to plain values, so that it can be compared and kept without holding a syntax tree.
/// Used for places in YAML files, which have no syntax tree at all.
/// </summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);

    public static LocationInfo? From(Location location)
    {
        if (location.SourceTree is null)
        {
            return null;
        }
        return new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
    }

    /// <summary><c>file.cs:12</c>, 1-based, for messages.</summary>
    public string ToShortString() =>
        $"{System.IO.Path.GetFileName(FilePath)}:{LineSpan.Start.Line + 1}";
}
