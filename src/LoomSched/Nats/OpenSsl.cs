using System.Runtime.InteropServices;

namespace LoomSched.Daemon.Nats;

/// <summary>
/// Whether this host has the OpenSSL that TLS needs. The daemon uses the host's libssl (its security updates apply)
/// for TLS only: without TLS it runs on a host that has none (Native/openssl_optional.c). With TLS configured and no
/// libssl, it stops before connecting, with one line that names the package to install.
/// </summary>
internal static class OpenSsl
{
    /// <summary>The sonames .NET's crypto shim accepts, newest first (the same list as Native/openssl_optional.c).</summary>
    private static readonly string[] LibSslNames = ["libssl.so.3", "libssl.so.1.1", "libssl.so.1.0.2", "libssl.so.1.0.0", "libssl.so.10", "libssl.so.1.0"];

    private static bool? s_available;

    /// <summary>
    /// True when TLS can work: OpenSSL is linked into this build (the image's), or one of the accepted libssl versions
    /// loads. Asked once; the library is unloaded again (the shim loads it itself when TLS first needs it).
    /// </summary>
    public static bool Available => s_available ??= Probe();

    /// <summary>What to install: the one line of a TLS setting without OpenSSL, and the log of a server requiring TLS.</summary>
    public const string Missing =
        "TLS needs OpenSSL 3 or 1.1 (libssl.so.3 or libssl.so.1.1), and this host has neither: " +
        "install libssl3 (Debian, Ubuntu) or openssl-libs (RHEL, Fedora)";

    private static bool Probe()
    {
        if (AppContext.TryGetSwitch("LoomSched.OpenSslLinkedIn", out bool linkedIn) && linkedIn)
        {
            return true;
        }
        foreach (var name in LibSslNames)
        {
            if (NativeLibrary.TryLoad(name, out var handle))
            {
                NativeLibrary.Free(handle);
                return true;
            }
        }
        return false;
    }
}
