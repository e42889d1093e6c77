namespace LoomSched.Expansion;

/// <summary>
/// Throw it for a failure whose message is written for the operator: a missing file, a bucket that does not exist,
/// an argument that is wrong. The fire fails and the log and <c>status</c>'s <c>last_error</c> read
/// <c>expansion "NAME" failed: MESSAGE</c>, without the exception's type; a message that starts with the function's
/// name and a colon (<c>lines_file: cannot read …</c>) is shown without that prefix. Any other exception fails the
/// fire as <c>expansion "NAME" threw TYPE: MESSAGE</c>, which is meant for the function's developer. Thrown from inside
/// a <c>yield</c> iterator, while the engine reads the maps, it reads <c>expansion "NAME" failed while its maps were
/// read: MESSAGE</c>.
/// </summary>
public class ExpansionException : Exception
{
    /// <summary>Creates the exception with a generic message.</summary>
    public ExpansionException()
        : base("the expansion function failed")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong, in the operator's words, e.g. <c>cannot read '/x': no such file or directory</c>.</param>
    public ExpansionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the failure that caused it (kept for debugging, never shown).</summary>
    /// <param name="message">What went wrong, in the operator's words.</param>
    /// <param name="innerException">The failure underneath, e.g. the <see cref="IOException"/> of a read.</param>
    public ExpansionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
