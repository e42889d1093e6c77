using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;
using Xunit.Abstractions;

namespace LoomSched.EndToEnd.Tests.Deploy;

/// <summary>
/// The arm64 image, proven without Docker: artifacts/rootfs-arm64 (packaging/rootfs.sh --arch arm64, cross-built) is
/// the image's file system, and the binary runs inside it with chroot, as the image's user, under qemu. The same file
/// list as the x64 image's but for the architecture's libraries; then a subset chosen for emulation: the zones, the
/// default command publishing to NATS on loopback and its health check, and TLS through the OpenSSL linked in.
/// </summary>
[Collection("nats")]
public sealed class Arm64ImageFacts(ITestOutputHelper output)
{
    // The binary's budget (20 MB) plus glibc and the zones and certificates, as for the x64 image.
    private const long MaxImageBytes = 24_000_000;

    [Fact]
    public async Task Arm64_image_holds_the_x64_images_files_with_arm64_libraries_and_stays_under_24_MB()
    {
        var arm64 = await EntriesAsync(ImageContainer.Arm64Rootfs);
        var x64 = await EntriesAsync(ImageContainer.Rootfs);
        static bool IsLibrary(string path) => path.StartsWith("/lib", StringComparison.Ordinal);

        // The same tree apart from the libraries: binary, users, certificates, OpenSSL's default paths, every zone.
        Assert.Equal(x64.Where(e => !IsLibrary(e.Path)).Select(e => (e.Type, e.Path, e.Target)).Order(),
            arm64.Where(e => !IsLibrary(e.Path)).Select(e => (e.Type, e.Path, e.Target)).Order());
        Assert.Equal(
            ["/lib/aarch64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libm.so.6", "/lib/ld-linux-aarch64.so.1"],
            arm64.Where(e => e.Type == "f" && IsLibrary(e.Path)).Select(e => e.Path).Order(StringComparer.Ordinal));
        foreach (var elf in arm64.Where(e => e.Type == "f" && (IsLibrary(e.Path) || e.Path == "/loomsched")))
        {
            Assert.True(ElfMachine(ImageContainer.Arm64Rootfs + elf.Path) == 183, $"{elf.Path} in the arm64 image is not an AArch64 file");
        }
        Assert.DoesNotContain("libssl.so.3", File.ReadAllText(Path.Combine(ImageContainer.Arm64Rootfs, "loomsched"), System.Text.Encoding.Latin1));

        long total = arm64.Where(e => e.Type == "f").DistinctBy(e => e.Inode).Sum(e => e.Size);
        long binary = new FileInfo(Path.Combine(ImageContainer.Arm64Rootfs, "loomsched")).Length;
        output.WriteLine($"arm64 image file system: {total:N0} bytes ({total / 1e6:F2} MB), binary {binary / 1e6:F2} MB; " +
            $"x64: {x64.Where(e => e.Type == "f").DistinctBy(e => e.Inode).Sum(e => e.Size) / 1e6:F2} MB");
        Assert.True(total < MaxImageBytes, $"the arm64 image is {total:N0} bytes, over the {MaxImageBytes:N0} bytes allowed");
    }

    [Fact]
    public async Task Daemon_in_the_arm64_image_reads_its_zones_publishes_to_NATS_on_loopback_and_passes_the_healthcheck()
    {
        await using var server = await NatsServer.StartAsync();
        await using var client = new NatsConnection(NatsOpts.Default with { Url = server.Url });
        await client.ConnectAsync();
        await using var seen = await Captured.StartAsync(client, "loom.goals.incoming");
        using var container = await ImageContainer.CreateAsync(arm64: true);
        var name = TempConfig.UniqueName("image_arm64");
        var config = container.AddFile(container.Image.Env["LOOMSCHED_CONFIG"], $$"""
            name: {{name}}
            schedules:
              - name: berlin_every_second
                cron: "* * * * * *"
                time_zone: Europe/Berlin
                goal: {instruction: tick from the arm64 image}
              - name: berlin_summer
                cron: "0 9 1 7 *"
                time_zone: Europe/Berlin
                goal: {instruction: summer}
            """);
        var (code, stdout, stderr) = await container.ExecAsync("/loomsched", "next", config, "--count", "1", "--schedule", "berlin_summer");
        Assert.True(code == 0, $"next in the arm64 image exited {code}: {stdout}{stderr}");
        Assert.Matches(@"berlin_summer.*\n\s+\d{4}-07-01T09:00:00\+02:00\s+\d{4}-07-01T07:00:00Z", stdout);

        var env = new Dictionary<string, string> { ["NATS_URL"] = server.Url, ["LOOMSCHED_NAME"] = name };
        await using var daemon = container.Start(env, [.. container.Image.Entrypoint, .. container.Image.Cmd]);
        await daemon.WaitForLogAsync("nats connected", TimeSpan.FromSeconds(30));
        var goal = (await seen.WaitForAsync(1, TimeSpan.FromSeconds(15))).First();
        Assert.Equal("tick from the arm64 image", goal.Body.GetProperty("instruction").GetString());
        (code, stdout, stderr) = await container.ExecAsync(env, [.. container.Image.Healthcheck]);
        Assert.True(code == 0, $"the HEALTHCHECK command in the arm64 image exited {code}: {stdout}{stderr}");
        Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(15))).Code);
        Assert.Contains("stopped: published=", daemon.Log);
    }

    [Fact]
    public async Task Daemon_in_the_arm64_image_speaks_TLS_through_the_OpenSSL_linked_into_it()
    {
        var tls = Directory.CreateTempSubdirectory("loomsched-tls-").FullName;
        try
        {
            await TestCertificates.CreateAsync(tls);
            await using var server = await NatsServer.StartAsync(
                "--tls", "--tlscert", Path.Combine(tls, "server.pem"), "--tlskey", Path.Combine(tls, "server.key"));
            using var container = await ImageContainer.CreateAsync(arm64: true);
            var config = container.AddFile("/etc/loomsched/scheduler.yaml", $$"""
                name: {{TempConfig.UniqueName("tls_arm64")}}
                schedules:
                  - name: hourly
                    cron: "0 * * * *"
                    goal: {instruction: hourly}
                """);
            var ca = container.AddFile("/run/secrets/ca.pem", File.ReadAllText(Path.Combine(tls, "ca.pem")));
            await using var daemon = container.Start(new Dictionary<string, string>(),
                "/loomsched", "run", "--config", config, "--nats-url", $"tls://127.0.0.1:{server.Port}", "--tls-ca", ca);
            await daemon.WaitForLogAsync("nats connected", TimeSpan.FromSeconds(30));
            Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(15))).Code);
        }
        finally
        {
            Directory.Delete(tls, recursive: true);
        }
    }

    private static async Task<List<(string Type, string Inode, long Size, string Path, string Target)>> EntriesAsync(string root) =>
        (await ImageContainer.RunAsync("find", root, "-mindepth", "1", "-printf", "%y\t%i\t%s\t/%P\t%l\n"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t'))
            .Select(f => (Type: f[0], Inode: f[1], Size: long.Parse(f[2]), Path: f[3], Target: f[4]))
            .ToList();

    private static ushort ElfMachine(string path)
    {
        var header = new byte[20];
        using (var file = File.OpenRead(path))
        {
            file.ReadExactly(header);
        }
        return BitConverter.ToUInt16(header, 18);
    }
}
