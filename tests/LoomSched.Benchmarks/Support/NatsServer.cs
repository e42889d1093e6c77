using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LoomSched.Benchmarks.Support;

/// <summary>A nats-server on a free loopback port for the whole run (the same helper as the end-to-end tests').</summary>
internal sealed class NatsServer : IAsyncDisposable
{
    private readonly Process _process;

    private NatsServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }
    public string Url => $"nats://127.0.0.1:{Port}";
    public int Pid => _process.Id;

    /// <summary>Starts a server; with <paramref name="jetStreamDir"/>, one with JetStream storing there.</summary>
    public static async Task<NatsServer> StartAsync(string executable, string? jetStreamDir = null)
    {
        int port = FreePort();
        var info = new ProcessStartInfo(executable) { RedirectStandardError = true, RedirectStandardOutput = true };
        string[] jetStream = jetStreamDir is null ? [] : ["-js", "-sd", jetStreamDir];
        foreach (var a in (string[])["-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. jetStream])
        {
            info.ArgumentList.Add(a);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException($"{executable} did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return new NatsServer(process, port);
            }
            catch (SocketException)
            {
                await Task.Delay(25);
            }
        }
        process.Kill();
        throw new InvalidOperationException($"nats-server did not listen on {port} within 10 s");
    }

    public string Version()
    {
        var info = new ProcessStartInfo(_process.StartInfo.FileName, "--version") { RedirectStandardOutput = true };
        using var p = Process.Start(info)!;
        string text = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return text;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
