using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LoomSched.EndToEnd.Tests.Support;

/// <summary>A real nats-server on a free loopback port, started for the tests and stopped after them.</summary>
public sealed class NatsServer : IAsyncDisposable
{
    private Process? _process;
    private readonly string _storeDir;
    private readonly bool _storeDirInConfig;

    private NatsServer(int port, string[] extraArgs, string? storeDirInConfig = null)
    {
        Port = port;
        ExtraArgs = extraArgs;
        _storeDir = storeDirInConfig ?? Directory.CreateTempSubdirectory("loomsched-nats-").FullName;
        _storeDirInConfig = storeDirInConfig is not null;
    }

    public int Port { get; }
    public string[] ExtraArgs { get; }
    public string Url => $"nats://127.0.0.1:{Port}";

    public static async Task<NatsServer> StartAsync(params string[] extraArgs)
    {
        var server = new NatsServer(FreePort(), extraArgs);
        await server.RestartAsync();
        return server;
    }

    /// <summary>A server started with a config file of <paramref name="config"/>'s text (users, limits), written to a temp dir.</summary>
    public static async Task<NatsServer> StartWithConfigTextAsync(string config)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("loomsched-nats-conf-").FullName, "nats.conf");
        await File.WriteAllTextAsync(path, config);
        return await StartAsync("-c", path);
    }

    /// <summary>
    /// A server that reads all but its address from the config file <paramref name="configPath"/>, which
    /// <see cref="Reload"/> reads again. The file's <c>jetstream</c> block names <paramref name="storeDir"/> itself:
    /// a reload keeps no command-line flag, and refuses a store directory that changed.
    /// </summary>
    public static async Task<NatsServer> StartFromConfigAsync(string configPath, string storeDir)
    {
        var server = new NatsServer(FreePort(), ["-c", configPath], storeDir);
        await server.RestartAsync();
        return server;
    }

    /// <summary>Starts the server (again, on the same port, after <see cref="StopAsync"/>).</summary>
    public async Task RestartAsync()
    {
        var info = new ProcessStartInfo("nats-server")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        string[] store = _storeDirInConfig ? [] : ["-sd", _storeDir];
        foreach (var a in new[] { "-a", "127.0.0.1", "-p", Port.ToString() }.Concat(store).Concat(ExtraArgs))
        {
            info.ArgumentList.Add(a);
        }
        _process = Process.Start(info) ?? throw new InvalidOperationException("nats-server did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(25);
            }
        }
        throw new InvalidOperationException($"nats-server did not listen on {Port} within 10 s");
    }

    /// <summary>Makes the server read its config file again (SIGHUP); changed permissions apply to connected clients too.</summary>
    public void Reload() => Signals.Send(_process?.Id ?? throw new InvalidOperationException("nats-server is not running"), Signals.SIGHUP);

    public async Task StopAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_storeDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
