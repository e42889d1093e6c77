using System.Globalization;
using System.Numerics;

namespace LoomSched.Config.Yaml;

/// <summary>
/// Python's <c>int</c>, which Loom reads from YAML and JSON and writes to JSON exactly, whatever its size; but Python
/// refuses to read or write as text an int of more than <see cref="MaxDigits"/> decimal digits (its
/// <c>sys.get_int_max_str_digits()</c>), so Loom can neither load nor send one, and loomsched refuses it.
/// </summary>
internal static class PythonInt
{
    /// <summary>The most decimal digits Python turns an int into, or reads one from.</summary>
    public const int MaxDigits = 4300;

    /// <summary>The least magnitude with more than <see cref="MaxDigits"/> digits.</summary>
    public static readonly BigInteger Limit = BigInteger.Pow(10, MaxDigits);

    /// <summary>The end of a message about a refused integer: "this value is ...".</summary>
    public static readonly string TooLong =
        $"an integer of more than {MaxDigits.ToString("N0", CultureInfo.InvariantCulture)} digits, which Python (Loom) refuses to read or write as text";

    /// <summary>True when Python writes the value as text (and so as JSON).</summary>
    public static bool HasText(BigInteger value) => BigInteger.Abs(value) < Limit;

    /// <summary>The value as <c>json.dumps</c> writes it: its decimal digits, with a minus sign when negative.</summary>
    public static string Digits(BigInteger value) => value.ToString(CultureInfo.InvariantCulture);
}
