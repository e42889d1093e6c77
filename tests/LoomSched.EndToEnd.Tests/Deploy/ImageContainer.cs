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

    /// <summary>Starts loomsched in the container, as the image's user (chroot execs the command: this is loomsched itself).</summary>
    public Loomsched Start(IReadOnlyDictionary<string, string> env, params string[] command) => Loomsched.Start(StartInfo(env, command));

    /// <summary>Runs a command in the container to completion: exit code, stdout, stderr.</summary>
    public Task<(int Code, string Out, string Err)> ExecAsync(IReadOnlyDictionary<string, string> env, params string[] command) =>
        ChildProcess.RunAsync(StartInfo(env, command), TimeSpan.FromSeconds(30));

    public Task<(int Code, string Out, string Err)> ExecAsync(params string[] command) =>
        ExecAsync(new Dictionary<string, string>(), command);

    private ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string> env, string[] command)
    {
        var info = ChildProcess.Info("chroot", [$"--userspec={Image.User}", Root, .. _emulator is null ? [] : new[] { _emulator }, .. command]);
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
        var path = Qemu.EmulatorPath;
        Assert.True(path is not null, $"{Qemu.Emulator} is not on PATH: install qemu-user-static (./build.sh test does)");
        return path;
    }

    /// <summary>Runs a command on the host that must succeed; returns its stdout.</summary>
    internal static Task<string> RunAsync(string file, params string[] args) =>
        ChildProcess.RunCheckedAsync(ChildProcess.Info(file, args), TimeSpan.FromSeconds(60));

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
