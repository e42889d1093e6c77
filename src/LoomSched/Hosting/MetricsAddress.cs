using System.Globalization;
using System.Net;

namespace LoomSched.Daemon.Hosting;

/// <summary>
/// Where <c>--metrics-address</c> serves: <c>HOST:PORT</c> (an IPv4 address or a name), or <c>:PORT</c> for every
/// IPv4 interface, as <c>0.0.0.0:PORT</c>.
/// </summary>
internal sealed record MetricsAddress(string Host, int Port)
{
    /// <summary>True when every interface is meant.</summary>
    public bool AnyInterface => Host.Length == 0;

    /// <summary>True when the host is a name, which HttpListener resolves as it starts.</summary>
    public bool IsName => !AnyInterface && !IPAddress.TryParse(Host, out _);

    /// <summary>The address as the log says it: <c>127.0.0.1:9464</c>, <c>0.0.0.0:9464</c>.</summary>
    public override string ToString() => (AnyInterface ? "0.0.0.0" : Host) + ":" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>The HttpListener prefixes: a loopback address also answers to the name localhost (a scrape's Host header).</summary>
    public IEnumerable<string> Prefixes()
    {
        string port = Port.ToString(CultureInfo.InvariantCulture);
        yield return $"http://{(AnyInterface ? "+" : Host)}:{port}/";
        if (IPAddress.TryParse(Host, out var ip) && IPAddress.IsLoopback(ip))
        {
            yield return $"http://localhost:{port}/";
        }
    }

    /// <summary>Reads <c>HOST:PORT</c>; null with the reason when it is not one.</summary>
    public static MetricsAddress? Parse(string text, out string? problem)
    {
        problem = $"--metrics-address must be HOST:PORT, such as 127.0.0.1:9464 or :9464 (every interface), got \"{text}\"";
        int colon = text.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port)
            || port is < 1 or > 65535)
        {
            return null;
        }
        string host = text[..colon];
        if (host.Contains(':', StringComparison.Ordinal) || host.Contains('[', StringComparison.Ordinal))
        {
            // .NET's HttpListener on Linux reads no IPv6 literal in its prefixes.
            problem = $"--metrics-address takes an IPv4 address or a host name (HttpListener reads no IPv6 address), got \"{text}\"";
            return null;
        }
        if (host.Contains('/', StringComparison.Ordinal) || host.Any(char.IsWhiteSpace))
        {
            return null;
        }
        if (host.Length > 0 && host.All(c => char.IsAsciiDigit(c) || c == '.')
            && !(host.Count(c => c == '.') == 3 && IPAddress.TryParse(host, out _)))
        {
            problem = $"--metrics-address: \"{host}\" is not an IPv4 address (four numbers from 0 to 255, such as 127.0.0.1), got \"{text}\"";
            return null;
        }
        problem = null;
        return new MetricsAddress(host is "0.0.0.0" or "*" or "+" ? "" : host, port);
    }
}
