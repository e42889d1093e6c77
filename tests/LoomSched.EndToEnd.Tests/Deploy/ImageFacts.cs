using System.Text.Json;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;
using Xunit.Abstractions;

namespace LoomSched.EndToEnd.Tests.Deploy;

/// <summary>
/// The FROM-scratch image, proven without Docker: artifacts/rootfs is the image's file system (packaging/rootfs.sh,
/// which the Dockerfile runs too), and the binary runs inside it with chroot, as the image's user.
/// In the "nats" collection so that its processes never compete with the timing tests for the CPU.
/// </summary>
[Collection("nats")]
public sealed class ImageFacts(ITestOutputHelper output)
{
    // The binary's budget (20 MB) plus glibc (3 MB) and the zones and certificates (0.5 MB).
    private const long MaxImageBytes = 24_000_000;

    [Fact]
    public async Task Image_holds_only_the_binary_its_libraries_CA_certificates_zones_and_users_and_stays_under_24_MB()
    {
        var root = ImageContainer.Rootfs;
        // find does not follow links (the image's absolute links would lead into the host).
        var entries = (await ImageContainer.RunAsync("find", root, "-mindepth", "1", "-printf", "%y\t%i\t%s\t/%P\t%l\n"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t'))
            .Select(f => (Type: f[0], Inode: f[1], Size: long.Parse(f[2]), Path: f[3], Target: f[4]))
            .ToList();
        bool InZoneinfo(string path) => path.StartsWith("/usr/share/zoneinfo/", StringComparison.Ordinal);

        // Every shared library ldd resolves for the image's binary is in the image, at the same path.
        var ldd = await ImageContainer.RunAsync("ldd", Path.Combine(root, "loomsched"));
        var libraries = ldd.Split('\n')
            .Select(l => l.Trim().Split(' '))
            .Select(w => w.Length >= 3 && w[1] == "=>" ? w[2] : w[0])
            .Where(p => p.StartsWith('/'))
            .ToHashSet();
        Assert.Contains(libraries, l => l.EndsWith("/libc.so.6", StringComparison.Ordinal));
        Assert.All(libraries, l => Assert.True(File.Exists(root + l), $"{l} (ldd) is missing from the image"));

        // And nothing else: outside the zone database, exactly these regular files and OpenSSL's two default paths.
        var expected = libraries.Concat(["/loomsched", "/etc/passwd", "/etc/group", "/etc/ssl/certs/ca-certificates.crt"]).Order().ToList();
        var regular = entries.Where(e => e.Type == "f" && !InZoneinfo(e.Path)).Select(e => e.Path).Order().ToList();
        Assert.Equal(expected, regular);
        var links = entries.Where(e => e.Type == "l" && !InZoneinfo(e.Path)).ToDictionary(e => e.Path, e => e.Target);
        Assert.Equal(new Dictionary<string, string>
        {
            ["/usr/lib/ssl/cert.pem"] = "/etc/ssl/certs/ca-certificates.crt",
            ["/usr/lib/ssl/certs"] = "/etc/ssl/certs",
        }, links);
        Assert.Empty(entries.Where(e => e.Type is not ("f" or "l" or "d")).Select(e => e.Path));
        Assert.False(File.Exists(Path.Combine(root, "bin", "sh")), "a scratch image has no shell");

        // Every link resolves inside the image (absolute targets from the image's root).
        foreach (var link in entries.Where(e => e.Type == "l"))
        {
            var target = link.Target.StartsWith('/') ? root + link.Target : Path.Combine(root + Path.GetDirectoryName(link.Path), link.Target);
            Assert.True(File.Exists(target) || Directory.Exists(target), $"{link.Path} -> {link.Target} dangles in the image");
        }

        // tzdata without the right/ and posix/ copies; zone.tab, from which .NET lists the zones.
        var zoneinfo = Path.Combine(root, "usr", "share", "zoneinfo");
        Assert.True(File.Exists(Path.Combine(zoneinfo, "Europe", "Berlin")), "tzdata: Europe/Berlin is missing");
        Assert.True(File.Exists(Path.Combine(zoneinfo, "zone.tab")), "tzdata: zone.tab is missing");
        Assert.False(Directory.Exists(Path.Combine(zoneinfo, "right")), "tzdata: right/ should have been dropped");
        Assert.False(Directory.Exists(Path.Combine(zoneinfo, "posix")), "tzdata: posix/ should have been dropped");

        // The CA bundle is a real one.
        var bundle = File.ReadAllText(Path.Combine(root, "etc", "ssl", "certs", "ca-certificates.crt"));
        Assert.True(bundle.Split("-----BEGIN CERTIFICATE-----").Length > 50, "the CA bundle holds fewer than 50 certificates");

        // Size as an image layer counts it: each regular file once (hard links share their inode).
        var sizes = entries.Where(e => e.Type == "f").DistinctBy(e => e.Inode).Select(e => e.Size).ToList();
        long total = sizes.Sum();
        long binary = new FileInfo(Path.Combine(root, "loomsched")).Length;
        long libs = libraries.Sum(l => new FileInfo(root + l).Length);
        output.WriteLine($"image file system: {sizes.Count} files, {total:N0} bytes ({total / 1e6:F2} MB): " +
            $"binary {binary / 1e6:F2} MB, libraries {libs / 1e6:F2} MB ({string.Join(", ", libraries.Select(Path.GetFileName))}), " +
            $"zoneinfo and certificates {(total - binary - libs) / 1e6:F2} MB");
        Assert.True(total < MaxImageBytes, $"the image is {total:N0} bytes, over the {MaxImageBytes:N0} bytes allowed");
    }

    [Fact]
    public void Dockerfile_builds_the_same_file_system_FROM_scratch_and_runs_it_as_the_unprivileged_user()
    {
        var image = Dockerfile.Load();
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.0", image.Froms[0]);
        Assert.Equal("scratch", image.Froms[^1]);

        // One source of truth: the build stage and ./build.sh image-rootfs both run packaging/rootfs.sh, and the
        // final stage is exactly its output.
        var dockerfile = File.ReadAllText(Dockerfile.PathInRepo);
        // For each platform BuildKit builds for, rootfs.sh is told its architecture (TARGETARCH: amd64, arm64).
        Assert.Contains("ARG TARGETARCH\n", dockerfile);
        Assert.Contains("RUN packaging/rootfs.sh ${TARGETARCH:+--arch \"$TARGETARCH\"} /rootfs\n", dockerfile);
        var buildSh = File.ReadAllText(Path.Combine(Repo.Root, "build.sh"));
        Assert.Contains("packaging/rootfs.sh \"$ART/rootfs\"", buildSh);
        Assert.Contains("packaging/rootfs.sh --arch arm64 \"$ART/rootfs-arm64\"", buildSh);
        Assert.Equal([("COPY", "--from=build /rootfs/ /")], image.FinalStage.Where(i => i.Instruction is "COPY" or "ADD" or "RUN"));

        var (uid, gid) = image.UserIds;
        Assert.NotEqual(0, uid);
        Assert.NotEqual(0, gid);
        var passwd = File.ReadAllLines(Path.Combine(ImageContainer.Rootfs, "etc", "passwd"));
        var group = File.ReadAllLines(Path.Combine(ImageContainer.Rootfs, "etc", "group"));
        Assert.Contains(passwd, l => l.Split(':') is [var name, _, var u, var g, ..] && name == "loomsched" && u == $"{uid}" && g == $"{gid}");
        Assert.Contains(group, l => l.Split(':') is [var name, _, var g, ..] && name == "loomsched" && g == $"{gid}");

        Assert.Equal(["/loomsched"], image.Entrypoint);
        Assert.Equal(["run"], image.Cmd);
        Assert.Equal(["/loomsched", "status"], image.Healthcheck);
        Assert.Equal("/etc/loomsched/scheduler.yaml", image.Env["LOOMSCHED_CONFIG"]);
    }

    [Fact]
    public async Task Binary_in_the_image_reports_its_version_and_reads_time_zones_from_the_images_tzdata()
    {
        using var container = await ImageContainer.CreateAsync();
        var (code, stdout, stderr) = await container.ExecAsync("/loomsched", "--version");
        Assert.True(code == 0, $"--version exited {code}: {stderr}");
        Assert.StartsWith("loomsched ", stdout);

        // At the path the image's ENV names, as a volume would put it.
        var config = container.AddFile(container.Image.Env["LOOMSCHED_CONFIG"], """
            name: image_zones
            schedules:
              - name: berlin_summer
                cron: "0 9 1 7 *"
                time_zone: Europe/Berlin
                goal: {instruction: summer}
              - name: berlin_winter
                cron: "0 9 1 1 *"
                time_zone: Europe/Berlin
                goal: {instruction: winter}
            """);
        (code, stdout, stderr) = await container.ExecAsync("/loomsched", "validate", config);
        Assert.True(code == 0, $"validate exited {code}: {stdout}{stderr}");
        Assert.Contains($"{config}: valid, 2 schedule(s)", stdout);

        // Daylight saving time comes from the zone data: 09:00 in Berlin is 07:00Z in July and 08:00Z in January.
        (code, stdout, stderr) = await container.ExecAsync("/loomsched", "next", config, "--count", "1");
        Assert.True(code == 0, $"next exited {code}: {stdout}{stderr}");
        Assert.Matches(@"berlin_summer.*\n\s+\d{4}-07-01T09:00:00\+02:00\s+\d{4}-07-01T07:00:00Z", stdout);
        Assert.Matches(@"berlin_winter.*\n\s+\d{4}-01-01T09:00:00\+01:00\s+\d{4}-01-01T08:00:00Z", stdout);

        // The zones are the image's own: moved away, Europe/Berlin is unknown; TZDIR finds them elsewhere.
        Directory.Move(container.HostPath("/usr/share/zoneinfo"), container.HostPath("/zones"));
        (code, stdout, _) = await container.ExecAsync("/loomsched", "validate", config);
        Assert.Equal(2, code);
        Assert.Contains("unknown time zone \"Europe/Berlin\"", stdout);
        (code, stdout, stderr) = await container.ExecAsync(new Dictionary<string, string> { ["TZDIR"] = "/zones" }, "/loomsched", "validate", config);
        Assert.True(code == 0, $"validate with TZDIR=/zones exited {code}: {stdout}{stderr}");
    }

    [Fact]
    public async Task Daemon_in_the_image_publishes_a_Berlin_time_schedule_to_NATS_on_loopback_and_passes_the_healthcheck()
    {
        await using var server = await NatsServer.StartAsync();
        await using var client = new NatsConnection(NatsOpts.Default with { Url = server.Url });
        await client.ConnectAsync();
        await using var seen = await Captured.StartAsync(client, "loom.goals.incoming");
        using var container = await ImageContainer.CreateAsync();
        var name = TempConfig.UniqueName("image");
        container.AddFile(container.Image.Env["LOOMSCHED_CONFIG"], $$"""
            name: {{name}}
            schedules:
              - name: berlin_every_second
                cron: "* * * * * *"
                time_zone: Europe/Berlin
                goal:
                  instruction: tick from the image
                  context: {zone: Europe/Berlin}
            """);
        var env = new Dictionary<string, string> { ["NATS_URL"] = server.Url, ["LOOMSCHED_NAME"] = name };

        // What the image runs by default: ENTRYPOINT + CMD, the config found through the image's ENV.
        await using var daemon = container.Start(env, [.. container.Image.Entrypoint, .. container.Image.Cmd]);
        await daemon.WaitForLogAsync("nats connected", TimeSpan.FromSeconds(10));
        var goal = (await seen.WaitForAsync(1, TimeSpan.FromSeconds(10))).First();
        Assert.Equal("berlin_every_second", goal.Header("Loom-Schedule"));
        Assert.Equal("tick from the image", goal.Body.GetProperty("instruction").GetString());
        Assert.Equal("""{"zone":"Europe/Berlin"}""", goal.Body.GetProperty("context").GetRawText());

        // status, explicitly...
        var (code, stdout, stderr) = await container.ExecAsync(env, "/loomsched", "status", "--name", name, "--nats-url", server.Url);
        Assert.True(code == 0, $"status exited {code}: {stdout}{stderr}");
        using (var reply = JsonDocument.Parse(stdout))
        {
            Assert.Equal(name, reply.RootElement.GetProperty("scheduler").GetString());
            Assert.Equal("berlin_every_second", reply.RootElement.GetProperty("schedules")[0].GetProperty("name").GetString());
        }
        // ...and the Dockerfile's HEALTHCHECK as Docker runs it: the container's environment, no arguments added.
        (code, stdout, stderr) = await container.ExecAsync(env, [.. container.Image.Healthcheck]);
        Assert.True(code == 0, $"the HEALTHCHECK command exited {code}: {stdout}{stderr}");
        // Without a name it is unhealthy, and says why.
        (code, _, stderr) = await container.ExecAsync(new Dictionary<string, string> { ["NATS_URL"] = server.Url }, [.. container.Image.Healthcheck]);
        Assert.Equal(2, code);
        Assert.Contains("LOOMSCHED_NAME", stderr);

        // docker stop: SIGTERM, a clean exit.
        Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
        Assert.Contains("stopped: published=", daemon.Log);
    }

    [Fact]
    public async Task Daemon_in_the_image_speaks_TLS_trusting_its_CA_option_and_the_images_certificate_bundle()
    {
        var tls = Directory.CreateTempSubdirectory("loomsched-tls-").FullName;
        try
        {
            await TestCertificates.CreateAsync(tls);
            await using var server = await NatsServer.StartAsync(
                "--tls", "--tlscert", Path.Combine(tls, "server.pem"), "--tlskey", Path.Combine(tls, "server.key"));
            var url = $"tls://127.0.0.1:{server.Port}";
            using var container = await ImageContainer.CreateAsync();
            var name = TempConfig.UniqueName("tls");
            var config = container.AddFile("/etc/loomsched/scheduler.yaml", $$"""
                name: {{name}}
                schedules:
                  - name: hourly
                    cron: "0 * * * *"
                    goal: {instruction: hourly}
                """);
            var ca = container.AddFile("/run/secrets/ca.pem", File.ReadAllText(Path.Combine(tls, "ca.pem")));

            await using var daemon = container.Start(new Dictionary<string, string>(),
                "/loomsched", "run", "--config", config, "--nats-url", url, "--tls-ca", ca);
            await daemon.WaitForLogAsync("nats connected", TimeSpan.FromSeconds(10));

            // Without --tls-ca the image's CA bundle decides: the test CA is not in it, so no answer...
            var env = new Dictionary<string, string> { ["LOOMSCHED_NAME"] = name, ["NATS_URL"] = url };
            var (code, stdout, stderr) = await container.ExecAsync(env, "/loomsched", "status", "--timeout", "1");
            Assert.True(code == 1, $"status trusted a CA missing from the bundle (exit {code}): {stdout}{stderr}");
            output.WriteLine($"status without the test CA in the bundle: {stderr.Trim()}");
            // ...until it is added to the bundle, at the path where the image keeps it.
            File.AppendAllText(container.HostPath("/etc/ssl/certs/ca-certificates.crt"), File.ReadAllText(Path.Combine(tls, "ca.pem")));
            (code, stdout, stderr) = await container.ExecAsync(env, "/loomsched", "status");
            Assert.True(code == 0, $"status over TLS exited {code}: {stdout}{stderr}");
            Assert.Contains($"\"scheduler\": \"{name}\"", stdout);
        }
        finally
        {
            Directory.Delete(tls, recursive: true);
        }
    }
}
