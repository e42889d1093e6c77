using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LoomSched.BuiltIns.Tests.Support;

/// <summary>A real <c>nats-server -js</c> on a free loopback port with a temp store, for the tests of one class.</summary>
public sealed class NatsServerFixture : IAsyncLifetime
{
    private Process? _server;
    private readonly string _storeDir = Directory.CreateTempSubdirectory("loomsched-nats-").FullName;

    public string Url { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var port = FreePort();
        var binary = File.Exists("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server";
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "-js", "-a", "127.0.0.1", "-p", port.ToString(), "-sd", _storeDir })
        {
            start.ArgumentList.Add(arg);
        }
        _server = Process.Start(start) ?? throw new InvalidOperationException($"could not start {binary}");
        _server.OutputDataReceived += static (_, _) => { };
        _server.ErrorDataReceived += static (_, _) => { };
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();
        Url = $"nats://127.0.0.1:{port}";

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_server.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (_server is { HasExited: false })
        {
            _server.Kill(entireProcessTree: true);
            await _server.WaitForExitAsync();
        }
        _server?.Dispose();
        Directory.Delete(_storeDir, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
