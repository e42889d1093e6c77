using System.Net;
using System.Net.Sockets;
using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests.Reliability.Support;

/// <summary>
/// A TCP link between the daemon and a nats-server that the test can cut and heal. Cutting resets every
/// connection through it at once (whatever the link had read but not forwarded is lost, as on a network
/// failure) and refuses new ones until <see cref="Heal"/>; the server, and the test's subscriber on it, stay up.
/// It can also be slow: a bandwidth limit towards the server makes a burst last long enough to be cut in the middle.
/// </summary>
public sealed class Link : IAsyncDisposable
{
    private readonly int _target;
    private readonly long _bytesPerSecond;
    private readonly Lock _gate = new();
    private readonly List<(Socket A, Socket B)> _pairs = [];
    private TcpListener? _listener;
    private CancellationTokenSource _accepting = new();

    private Link(int target, long bytesPerSecond)
    {
        _target = target;
        _bytesPerSecond = bytesPerSecond;
        Port = NatsServer.FreePort();
    }

    public int Port { get; }
    public string Url => $"nats://127.0.0.1:{Port}";

    /// <param name="targetPort">The server's port.</param>
    /// <param name="bytesPerSecond">A bandwidth limit towards the server; 0 for none.</param>
    public static Link Open(int targetPort, long bytesPerSecond = 0)
    {
        var link = new Link(targetPort, bytesPerSecond);
        link.Heal();
        return link;
    }

    /// <summary>Resets every connection through the link and refuses new ones.</summary>
    public void Cut()
    {
        lock (_gate)
        {
            _accepting.Cancel();
            _listener?.Stop();
            _listener = null;
            foreach (var (a, b) in _pairs)
            {
                Reset(a);
                Reset(b);
            }
            _pairs.Clear();
        }
    }

    /// <summary>Accepts connections again, on the same port.</summary>
    public void Heal()
    {
        lock (_gate)
        {
            _accepting = new CancellationTokenSource();
            var listener = new TcpListener(IPAddress.Loopback, Port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            _listener = listener;
            var token = _accepting.Token;
            _ = Task.Run(() => AcceptAsync(listener, token));
        }
    }

    private async Task AcceptAsync(TcpListener listener, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            client.NoDelay = true;
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _target, token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
                Reset(client);
                server.Dispose();
                continue;
            }
            lock (_gate)
            {
                if (token.IsCancellationRequested)
                {
                    Reset(client);
                    Reset(server);
                    return;
                }
                _pairs.Add((client, server));
            }
            _ = Task.Run(() => PumpAsync(client, server, _bytesPerSecond));
            _ = Task.Run(() => PumpAsync(server, client, 0));
        }
    }

    private static async Task PumpAsync(Socket from, Socket to, long bytesPerSecond)
    {
        var buffer = new byte[bytesPerSecond > 0 ? 8 * 1024 : 64 * 1024];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long total = 0;
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0)
                {
                    break;
                }
                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
                total += n;
                if (bytesPerSecond > 0)
                {
                    var due = TimeSpan.FromSeconds(total / (double)bytesPerSecond) - clock.Elapsed;
                    if (due > TimeSpan.FromMilliseconds(1))
                    {
                        await Task.Delay(due);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
        Reset(from);
        Reset(to);
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0); // RST, not FIN: the peer learns at once
            socket.Close();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        Cut();
        return ValueTask.CompletedTask;
    }
}
