using System.Net.Sockets;
using System.Text;

namespace LoomSched.Benchmarks.Support;

/// <summary>What the lateness suite asks of a subscriber: the arrivals so far, taken as one list.</summary>
internal interface IArrivals : IAsyncDisposable
{
    /// <summary>Takes what has arrived so far and starts a new list.</summary>
    List<Arrival> Take();
}

/// <summary>
/// A subscriber that speaks the NATS protocol on a plain socket, on a thread of its own: it stamps the messages of
/// each socket read with the moment that read returned, then parses them (<c>MSG</c>, <c>HMSG</c>, <c>PING</c>). It
/// measures when a message reaches the subscriber's process, with almost none of its own cost on the two cores the
/// daemon and the server share. (A <see cref="Receiver"/>, on NATS.Client.Core, stamps after the client has parsed
/// the message, built its header dictionary and handed it through a channel: several microseconds a message, which
/// in a burst of a thousand add up to milliseconds of the instrument's own time.)
/// </summary>
internal sealed class WireReceiver : IArrivals
{
    private const int Sid = 1;
    private readonly Socket _socket;
    private readonly Thread _thread;
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _pong = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private List<Arrival> _arrivals = new(1 << 16);
    private volatile bool _stopping;
    private string? _lastSlot;
    private byte[] _lastSlotBytes = [];

    private WireReceiver(Socket socket)
    {
        _socket = socket;
        _thread = new Thread(ReadLoop) { IsBackground = true, Name = "bench wire receiver" };
    }

    /// <summary>The server's complaint, if it sent one (<c>-ERR</c>).</summary>
    public string? Error { get; private set; }

    public static async Task<WireReceiver> StartAsync(string url, string subject)
    {
        var uri = new Uri(url);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(uri.Host, uri.Port);
        var receiver = new WireReceiver(socket);
        receiver._thread.Start();
        // The server sends INFO first and takes CONNECT at once; the PONG says the subscription is in place.
        receiver.Send($"CONNECT {{\"verbose\":false,\"pedantic\":false,\"headers\":true,\"name\":\"bench-wire-receiver\",\"lang\":\"raw\",\"version\":\"1\",\"protocol\":1}}\r\nSUB {subject} {Sid}\r\nPING\r\n");
        await receiver._pong.Task.WaitAsync(TimeSpan.FromSeconds(10));
        return receiver;
    }

    public List<Arrival> Take()
    {
        lock (_gate)
        {
            var taken = _arrivals;
            _arrivals = new List<Arrival>(1 << 16);
            return taken;
        }
    }

    public ValueTask DisposeAsync()
    {
        _stopping = true;
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        _thread.Join(TimeSpan.FromSeconds(5));
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Send(string text)
    {
        lock (_socket)
        {
            _socket.Send(Encoding.ASCII.GetBytes(text));
        }
    }

    private void ReadLoop()
    {
        var buffer = new byte[1 << 20];
        int filled = 0;
        var batch = new List<Arrival>(1024);
        try
        {
            while (!_stopping)
            {
                if (filled == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }
                int read = _socket.Receive(buffer, filled, buffer.Length - filled, SocketFlags.None);
                var at = DateTime.UtcNow;
                if (read == 0)
                {
                    return;
                }
                filled += read;
                int used = Parse(buffer.AsSpan(0, filled), at, batch);
                if (batch.Count > 0)
                {
                    lock (_gate)
                    {
                        _arrivals.AddRange(batch);
                    }
                    batch.Clear();
                }
                Buffer.BlockCopy(buffer, used, buffer, 0, filled - used);
                filled -= used;
            }
        }
        catch (SocketException) when (_stopping)
        {
        }
        catch (ObjectDisposedException) when (_stopping)
        {
        }
    }

    /// <summary>Parses the whole frames at the start of <paramref name="data"/>; returns how many bytes they took.</summary>
    private int Parse(ReadOnlySpan<byte> data, DateTime at, List<Arrival> batch)
    {
        int pos = 0;
        while (true)
        {
            var rest = data[pos..];
            int eol = rest.IndexOf("\r\n"u8);
            if (eol < 0)
            {
                return pos;
            }
            var line = rest[..eol];
            int lineEnd = eol + 2;
            if (line.StartsWith("HMSG "u8) || line.StartsWith("MSG "u8))
            {
                bool withHeaders = line[0] == (byte)'H';
                int total = LastNumber(ref line);
                int headerLength = withHeaders ? LastNumber(ref line) : 0;
                if (rest.Length < lineEnd + total + 2)
                {
                    return pos; // the payload is still coming
                }
                var headers = rest.Slice(lineEnd, headerLength);
                batch.Add(new Arrival(at, Slot(Header(headers, "Loom-Scheduled-For"u8)),
                    Text(Header(headers, "Loom-Schedule"u8)), null, null));
                pos += lineEnd + total + 2;
                continue;
            }
            if (line.SequenceEqual("PING"u8))
            {
                Send("PONG\r\n");
            }
            else if (line.SequenceEqual("PONG"u8))
            {
                _pong.TrySetResult();
            }
            else if (line.StartsWith("-ERR"u8))
            {
                Error = Encoding.ASCII.GetString(line);
                _pong.TrySetException(new InvalidOperationException($"nats-server refused the wire receiver: {Error}"));
            }
            pos += lineEnd; // INFO, +OK
        }
    }

    /// <summary>The number at the end of <paramref name="line"/>, which is cut before it.</summary>
    private static int LastNumber(ref ReadOnlySpan<byte> line)
    {
        line = line.TrimEnd((byte)' ');
        int start = line.LastIndexOf((byte)' ') + 1;
        int value = 0;
        foreach (byte digit in line[start..])
        {
            value = (value * 10) + (digit - '0');
        }
        line = line[..start];
        return value;
    }

    /// <summary>The value of header <paramref name="name"/> in a <c>NATS/1.0</c> block, or empty.</summary>
    private static ReadOnlySpan<byte> Header(ReadOnlySpan<byte> block, ReadOnlySpan<byte> name)
    {
        while (block.Length > 0)
        {
            int eol = block.IndexOf("\r\n"u8);
            var line = eol < 0 ? block : block[..eol];
            block = eol < 0 ? [] : block[(eol + 2)..];
            if (line.Length > name.Length + 1 && line.StartsWith(name) && line[name.Length] == (byte)':')
            {
                return line[(name.Length + 1)..].Trim((byte)' ');
            }
        }
        return [];
    }

    // A thousand messages share each slot: its text is made once.
    private string? Slot(ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty)
        {
            return null;
        }
        if (_lastSlot is null || !value.SequenceEqual(_lastSlotBytes))
        {
            _lastSlotBytes = value.ToArray();
            _lastSlot = Encoding.ASCII.GetString(value);
        }
        return _lastSlot;
    }

    private static string? Text(ReadOnlySpan<byte> value) => value.IsEmpty ? null : Encoding.UTF8.GetString(value);
}
