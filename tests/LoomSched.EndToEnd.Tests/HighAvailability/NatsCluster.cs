using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests.HighAvailability;

/// <summary>A three-node nats-server cluster with JetStream on loopback ports, each node with its own store.</summary>
public sealed class NatsCluster : IAsyncDisposable
{
    private readonly Process?[] _nodes = new Process?[3];
    private readonly int[] _clientPorts = [NatsServer.FreePort(), NatsServer.FreePort(), NatsServer.FreePort()];
    private readonly int[] _routePorts = [NatsServer.FreePort(), NatsServer.FreePort(), NatsServer.FreePort()];
    private readonly string _dir = Directory.CreateTempSubdirectory("loomsched-cluster-").FullName;

    public string Urls => string.Join(',', _clientPorts.Select(p => $"nats://127.0.0.1:{p}"));

    public string UrlOf(int node) => $"nats://127.0.0.1:{_clientPorts[node]}";

    public static async Task<NatsCluster> StartAsync()
    {
        var cluster = new NatsCluster();
        for (int i = 0; i < 3; i++)
        {
            cluster.StartNode(i);
        }
        for (int i = 0; i < 3; i++)
        {
            await cluster.WaitListeningAsync(i);
        }
        return cluster;
    }

    private void StartNode(int i)
    {
        var routes = string.Join(", ", Enumerable.Range(0, 3).Where(j => j != i).Select(j => $"nats-route://127.0.0.1:{_routePorts[j]}"));
        var conf = Path.Combine(_dir, $"n{i}.conf");
        File.WriteAllText(conf, $$"""
            server_name: n{{i}}
            listen: 127.0.0.1:{{_clientPorts[i]}}
            jetstream { store_dir: "{{Path.Combine(_dir, $"store{i}")}}" }
            cluster {
              name: loomsched_test
              listen: 127.0.0.1:{{_routePorts[i]}}
              routes: [{{routes}}]
            }
            """);
        var info = new ProcessStartInfo("nats-server") { RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(conf);
        var p = Process.Start(info)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _nodes[i] = p;
    }

    private async Task WaitListeningAsync(int i)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, _clientPorts[i]);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(25);
            }
        }
        throw new InvalidOperationException($"cluster node {i} did not listen within 10 s");
    }

    public async Task KillAsync(int i)
    {
        if (_nodes[i] is { HasExited: false } p)
        {
            p.Kill();
            await p.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (int i = 0; i < 3; i++)
        {
            await KillAsync(i);
            _nodes[i]?.Dispose();
        }
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
