using System.Diagnostics;
using System.Globalization;
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
/// A subscriber in a process of its own (this program, run with <c>--wire-receiver URL SUBJECT</c>) that speaks the
/// NATS protocol on a plain socket: it stamps the messages of each socket read with the moment that read returned,
/// and keeps only that stamp and the <c>Loom-Scheduled-For</c> header, in arrays made before the first message. So it
/// measures when a message reaches a subscriber's process, with almost none of its own cost on the two cores the
/// daemon and the server share, and no garbage collection of the benchmark's own process (which pauses every thread
/// of it) can delay a stamp. (A <see cref="Receiver"/>, on NATS.Client.Core in this process, stamps after the client
/// has parsed the message, built its header dictionary and handed it through a channel: several microseconds a
/// message, which in a burst of a thousand add up to milliseconds of the instrument's own.)
/// </summary>
internal sealed class WireReceiver : IArrivals
{
    public const string Flag = "--wire-receiver";

    private readonly Process _child;

    private WireReceiver(Process child) => _child = child;

    public static async Task<WireReceiver> StartAsync(string url, string subject)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("no path to this program");
        var start = new ProcessStartInfo(self)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // Its parse loop compiled fully optimised from the start: no tier-up compiling (seen in the first measured slot
        // of a run, on the cores the burst needs) while stamps are taken.
        start.Environment["DOTNET_TieredCompilation"] = "0";
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(WireReceiver).Assembly.Location);
        }
        foreach (var arg in new[] { Flag, url, subject })
        {
            start.ArgumentList.Add(arg);
        }
        var child = Process.Start(start) ?? throw new InvalidOperationException("the wire receiver did not start");
        var ready = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
        if (ready != "ready")
        {
            child.Kill();
            throw new InvalidOperationException($"the wire receiver said \"{ready}\" instead of ready");
        }
        return new WireReceiver(child);
    }

    public List<Arrival> Take()
    {
        _child.StandardInput.WriteLine("take");
        _child.StandardInput.Flush();
        var arrivals = new List<Arrival>(1 << 16);
        var slots = new Dictionary<string, string>(StringComparer.Ordinal);
        while (_child.StandardOutput.ReadLine() is { } line && line != "end")
        {
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            long ticks = long.Parse(line.AsSpan(0, space), CultureInfo.InvariantCulture);
            string text = line[(space + 1)..];
            if (!slots.TryGetValue(text, out var slot))
            {
                slots[text] = slot = text;
            }
            arrivals.Add(new Arrival(new DateTime(ticks, DateTimeKind.Utc), slot.Length == 0 ? null : slot, null, null, null));
        }
        return arrivals;
    }

    /// <summary>
    /// Takes the arrivals since the last take as a span only: how many, the first and last stamps and the first's
    /// slot. A fan-out's hundred thousand stamps are not sent over, parsed and kept by this process.
    /// </summary>
    public (int Count, DateTime First, DateTime Last, string? FirstSlot) TakeSpan()
    {
        _child.StandardInput.WriteLine("span");
        _child.StandardInput.Flush();
        var line = _child.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the wire receiver ended");
        var parts = line.Split(' ', 4);
        DateTime At(string ticks) => new(long.Parse(ticks, CultureInfo.InvariantCulture), DateTimeKind.Utc);
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), At(parts[1]), At(parts[2]), parts[3].Length == 0 ? null : parts[3]);
    }

    /// <summary>
    /// Waits, in the child, until <paramref name="count"/> messages have arrived since the last <see cref="Take"/>:
    /// one request and one answer, so the wait costs the two cores nothing while the messages come.
    /// </summary>
    /// <returns>True when they all came within <paramref name="timeout"/>; otherwise false, with how many did.</returns>
    public async Task<(bool Complete, int Arrived)> WaitForCountAsync(int count, TimeSpan timeout)
    {
        await _child.StandardInput.WriteLineAsync(
            $"wait {count.ToString(CultureInfo.InvariantCulture)} {((long)timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)}");
        await _child.StandardInput.FlushAsync();
        var answer = await _child.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the wire receiver ended");
        int space = answer.IndexOf(' ', StringComparison.Ordinal);
        return (answer.StartsWith("ok ", StringComparison.Ordinal), int.Parse(answer.AsSpan(space + 1), CultureInfo.InvariantCulture));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _child.StandardInput.WriteLineAsync("quit");
            await _child.StandardInput.FlushAsync();
            await _child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is IOException or TimeoutException)
        {
            _child.Kill();
        }
        _child.Dispose();
    }

    /// <summary>
    /// The child process: subscribes, then answers <c>take</c> (the arrivals since the last), <c>span</c> (their count,
    /// first and last stamps and first slot), <c>wait N MS</c>
    /// (<c>ok C</c> once N have arrived since the last take, <c>short C</c> when MS milliseconds passed first) and
    /// <c>quit</c>.
    /// </summary>
    public static int RunChild(string url, string subject)
    {
        using var subscriber = WireSubscriber.Connect(url, subject);
        // Buffered: Console.Out writes each line with a system call of its own, a hundred thousand for a fan-out.
        using var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        output.WriteLine("ready");
        output.Flush();
        while (Console.In.ReadLine() is { } command && command != "quit")
        {
            if (command == "take")
            {
                subscriber.WriteTaken(output);
                output.WriteLine("end");
                output.Flush();
            }
            else if (command == "span")
            {
                output.WriteLine(subscriber.TakeSpan());
                output.Flush();
            }
            else if (command.Split(' ') is ["wait", var count, var ms])
            {
                bool complete = subscriber.WaitForCount(
                    int.Parse(count, CultureInfo.InvariantCulture), TimeSpan.FromMilliseconds(long.Parse(ms, CultureInfo.InvariantCulture)), out int arrived);
                output.WriteLine($"{(complete ? "ok" : "short")} {arrived.ToString(CultureInfo.InvariantCulture)}");
                output.Flush();
            }
        }
        return 0;
    }
}

/// <summary>The child's subscriber: a socket, a reading thread, and arrival stamps in arrays made up front.</summary>
internal sealed class WireSubscriber : IDisposable
{
    private const int Sid = 1;
    private readonly Socket _socket;
    private readonly Thread _thread;
    private readonly Lock _gate = new();
    private readonly ManualResetEventSlim _pong = new();
    private readonly List<string> _slotTexts = [""]; // index 0: no header
    private long[] _ticks = new long[1 << 20];
    private int[] _slots = new int[1 << 20];
    private int _count;
    private int _taken;
    private int _waitingFor = int.MaxValue; // the count a WaitForCount waits for, against _count
    private readonly ManualResetEventSlim _reached = new();
    private byte[] _lastSlotBytes = [];
    private int _lastSlot;
    private volatile bool _stopping;

    private WireSubscriber(Socket socket)
    {
        _socket = socket;
        _thread = new Thread(ReadLoop) { IsBackground = true, Name = "wire receiver" };
    }

    public static WireSubscriber Connect(string url, string subject)
    {
        var uri = new Uri(url);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(uri.Host, uri.Port);
        var subscriber = new WireSubscriber(socket);
        subscriber._thread.Start();
        // The server sends INFO first and takes CONNECT at once; the PONG says the subscription is in place.
        subscriber.Send($"CONNECT {{\"verbose\":false,\"pedantic\":false,\"headers\":true,\"name\":\"bench-wire-receiver\",\"lang\":\"raw\",\"version\":\"1\",\"protocol\":1}}\r\nSUB {subject} {Sid}\r\nPING\r\n");
        if (!subscriber._pong.Wait(TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException("nats-server did not answer the wire receiver's PING");
        }
        return subscriber;
    }

    /// <summary>Blocks until <paramref name="count"/> messages arrived since the last take, or the time is up.</summary>
    public bool WaitForCount(int count, TimeSpan timeout, out int arrived)
    {
        lock (_gate)
        {
            _reached.Reset();
            _waitingFor = _taken + count;
            if (_count >= _waitingFor)
            {
                _reached.Set();
            }
        }
        bool complete = _reached.Wait(timeout);
        lock (_gate)
        {
            _waitingFor = int.MaxValue;
            arrived = _count - _taken;
        }
        return complete;
    }

    /// <summary>"count firstTicks lastTicks firstSlot" of the arrivals since the last take, which it takes.</summary>
    public string TakeSpan()
    {
        lock (_gate)
        {
            int from = _taken, to = _count;
            _taken = _count;
            return from == to
                ? "0 0 0 "
                : string.Create(CultureInfo.InvariantCulture, $"{to - from} {_ticks[from]} {_ticks[to - 1]} {_slotTexts[_slots[from]]}");
        }
    }

    /// <summary>Writes "ticks slot" lines for the arrivals since the last call.</summary>
    public void WriteTaken(TextWriter output)
    {
        int from, to;
        long[] ticks;
        int[] slots;
        string[] texts;
        lock (_gate)
        {
            (from, to, ticks, slots, texts) = (_taken, _count, _ticks, _slots, [.. _slotTexts]);
            _taken = _count;
        }
        var line = new StringBuilder(64);
        for (int i = from; i < to; i++)
        {
            line.Clear().Append(ticks[i]).Append(' ').Append(texts[slots[i]]);
            output.WriteLine(line);
        }
    }

    public void Dispose()
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
        _pong.Dispose();
        _reached.Dispose();
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
        try
        {
            while (!_stopping)
            {
                if (filled == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }
                int read = _socket.Receive(buffer, filled, buffer.Length - filled, SocketFlags.None);
                long at = DateTime.UtcNow.Ticks;
                if (read == 0)
                {
                    return;
                }
                filled += read;
                int used = Parse(buffer.AsSpan(0, filled), at);
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
    private int Parse(ReadOnlySpan<byte> data, long at)
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
                Record(at, SlotIndex(Header(rest.Slice(lineEnd, headerLength), "Loom-Scheduled-For"u8)));
                pos += lineEnd + total + 2;
                continue;
            }
            if (line.SequenceEqual("PING"u8))
            {
                Send("PONG\r\n");
            }
            else if (line.SequenceEqual("PONG"u8))
            {
                _pong.Set();
            }
            else if (line.StartsWith("-ERR"u8))
            {
                Console.Error.WriteLine($"wire receiver: nats-server said {Encoding.ASCII.GetString(line)}");
            }
            pos += lineEnd; // INFO, +OK
        }
    }

    private void Record(long at, int slot)
    {
        lock (_gate)
        {
            if (_count == _ticks.Length)
            {
                Array.Resize(ref _ticks, _ticks.Length * 2);
                Array.Resize(ref _slots, _slots.Length * 2);
            }
            _ticks[_count] = at;
            _slots[_count] = slot;
            if (++_count == _waitingFor)
            {
                _reached.Set();
            }
        }
    }

    // A thousand messages share each slot: its text is made once.
    private int SlotIndex(ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty)
        {
            return 0;
        }
        if (_lastSlot == 0 || !value.SequenceEqual(_lastSlotBytes))
        {
            _lastSlotBytes = value.ToArray();
            lock (_gate)
            {
                _slotTexts.Add(Encoding.ASCII.GetString(value));
                _lastSlot = _slotTexts.Count - 1;
            }
        }
        return _lastSlot;
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
}
