using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests.Deploy;

/// <summary>
/// A container made by hand, without Docker: a private copy of the image's file system (artifacts/rootfs) plus
/// what every container runtime adds (the /dev nodes null, zero, full, random, urandom, and /etc/hosts), with
/// processes started in it by chroot as the Dockerfile's USER, their environment only the Dockerfile's ENV,
/// the PATH and HOME Docker sets, and what the test passes (as <c>docker run -e</c> would). The chrooted
/// process shares the host's network namespace, so a nats-server on 127.0.0.1 is reachable.
/// </summary>
public sealed partial class ImageContainer : IDisposable
{
    private ImageContainer(string root, Dockerfile dockerfile, string? emulator)
    {
        Root = root;
        Image = dockerfile;
        _emulator = emulator;
    }

    // For the arm64 image: qemu's static user-mode emulator, copied into the container, runs every command
    // (what binfmt_misc does for a container runtime on an x86-64 host).
    private readonly string? _emulator;

    /// <summary>The container's root directory on the host.</summary>
    public string Root { get; }

    public Dockerfile Image { get; }

    /// <summary>The image's file system as ./build.sh image-rootfs assembled it.</summary>
    public static string Rootfs
    {
        get
        {
            var path = Path.Combine(Repo.Root, "artifacts", "rootfs");
            Assert.True(File.Exists(Path.Combine(path, "loomsched")),
                $"the image's file system is missing at {path}: run ./build.sh image-rootfs (./build.sh test does it first)");
            return path;
        }
    }

    /// <summary>The arm64 image's file system as ./build.sh image-rootfs arm64 assembled it.</summary>
    public static string Arm64Rootfs
    {
        get
        {
            var path = Path.Combine(Repo.Root, "artifacts", "rootfs-arm64");
            Assert.True(File.Exists(Path.Combine(path, "loomsched")),
                $"the arm64 image's file system is missing at {path}: run ./build.sh image-rootfs arm64 (./build.sh test does it first)");
            return path;
        }
    }

    /// <summary>A container of the image (of the arm64 image with <paramref name="arm64"/>, its commands run by qemu).</summary>
    public static async Task<ImageContainer> CreateAsync(bool arm64 = false)
    {
        RequireRoot();
        var source = arm64 ? Arm64Rootfs : Rootfs;
        var emulator = arm64 ? WhichEmulator() : null;
        var root = Directory.CreateTempSubdirectory("loomsched-image-").FullName;
        var container = new ImageContainer(root, Dockerfile.Load(), emulator is null ? null : "/" + Qemu.Emulator);
        try
        {
            await RunAsync("cp", "-a", source + "/.", root);
            if (emulator is not null)
            {
                await RunAsync("cp", emulator, Path.Combine(root, Qemu.Emulator));
            }
            await RunAsync("chmod", "0755", root); // the image's user must be able to enter "/"
            Directory.CreateDirectory(Path.Combine(root, "dev"));
            foreach (var (name, minor) in new[] { ("null", 3), ("zero", 5), ("full", 7), ("random", 8), ("urandom", 9) })
            {
                await RunAsync("mknod", "-m", "666", Path.Combine(root, "dev", name), "c", "1", minor.ToString());
            }
            File.WriteAllText(Path.Combine(root, "etc", "hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n");
            return container;
        }
        catch
        {
            container.Dispose();
            throw;
        }
    }

    /// <summary>chroot needs root; CI runs as root. Not being root fails the test: it must never pass silently.</summary>
    public static void RequireRoot() =>
        Assert.True(geteuid() == 0,
            $"the image tests run the binary inside artifacts/rootfs with chroot, which needs root (CI runs as root); " +
            $"this process runs as uid {geteuid()}: run the tests as root, e.g. sudo ./build.sh test");

    /// <summary>Writes a file into the container (world-readable, as a read-only volume would be) and returns its path inside.</summary>
    public string AddFile(string pathInside, string content)
    {
        var host = HostPath(pathInside);
        Directory.CreateDirectory(Path.GetDirectoryName(host)!);
        File.WriteAllText(host, content);
        return pathInside;
    }

    public string HostPath(string pathInside) => Path.Combine(Root, pathInside.TrimStart('/'));

    /// <summary>Starts a command in the container, as the image's user.</summary>
    public ContainerProcess Start(IReadOnlyDictionary<string, string> env, params string[] command) =>
        new(Process.Start(StartInfo(env, command))!);

    /// <summary>Runs a command in the container to completion: exit code, stdout, stderr.</summary>
    public async Task<(int Code, string Out, string Err)> ExecAsync(IReadOnlyDictionary<string, string> env, params string[] command)
    {
        using var p = Process.Start(StartInfo(env, command))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (p.ExitCode, await stdout, await stderr);
    }

    public Task<(int Code, string Out, string Err)> ExecAsync(params string[] command) =>
        ExecAsync(new Dictionary<string, string>(), command);

    private ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string> env, string[] command)
    {
        var info = new ProcessStartInfo("chroot")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
        };
        foreach (var a in new[] { $"--userspec={Image.User}", Root }.Concat(_emulator is null ? [] : [_emulator]).Concat(command))
        {
            info.ArgumentList.Add(a);
        }
        info.Environment.Clear();
        info.Environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        info.Environment["HOME"] = "/";
        foreach (var (key, value) in Image.Env.Concat(env))
        {
            info.Environment[key] = value;
        }
        return info;
    }

    private static string WhichEmulator()
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Where(dir => dir.Length > 0)
            .Select(dir => Path.Combine(dir, Qemu.Emulator)).FirstOrDefault(File.Exists);
        Assert.True(path is not null, $"{Qemu.Emulator} is not on PATH: install qemu-user-static (./build.sh test does)");
        return path;
    }

    internal static async Task<string> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {p.ExitCode}: {await stderr}{await stdout}");
        return await stdout;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [LibraryImport("libc")]
    private static partial uint geteuid();
}

/// <summary>A process running in an <see cref="ImageContainer"/>; chroot execs the command, so this is loomsched itself.</summary>
public sealed partial class ContainerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stderr = new();

    internal ContainerProcess(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _stderr.Enqueue(e.Data); };
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    public string Log => string.Join('\n', _stderr);

    public async Task WaitForLogAsync(string fragment, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!_stderr.Any(l => l.Contains(fragment, StringComparison.Ordinal)))
        {
            Assert.False(_process.HasExited, $"loomsched exited ({(_process.HasExited ? _process.ExitCode : 0)}) before logging \"{fragment}\"; its log:\n{Log}");
            Assert.True(deadline.Elapsed < timeout, $"loomsched did not log \"{fragment}\" within {timeout.TotalSeconds} s; its log:\n{Log}");
            await Task.Delay(20);
        }
    }

    /// <summary>Sends SIGTERM (what docker stop sends) and returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        Assert.Equal(0, kill(_process.Id, Signals.SIGTERM));
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
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

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
