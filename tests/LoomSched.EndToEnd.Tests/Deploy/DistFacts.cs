using System.Security.Cryptography;
using LoomSched.EndToEnd.Tests.Support;
using Xunit.Abstractions;

namespace LoomSched.EndToEnd.Tests.Deploy;

/// <summary>
/// The release archives <c>./build.sh dist</c> writes (and <c>./build.sh test</c> before the tests): one per
/// architecture, each with the binary, the example config, the systemd units and the README's install section, and
/// SHA256SUMS over both.
/// </summary>
public sealed class DistFacts(ITestOutputHelper output)
{
    private static string Dist
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("LOOMSCHED_DIST") is { Length: > 0 } env ? env : Path.Combine(Repo.Root, "artifacts", "dist");
            Assert.True(File.Exists(Path.Combine(path, "SHA256SUMS")), $"the release archives are missing at {path}: run ./build.sh dist (./build.sh test does it first)");
            return path;
        }
    }

    [Fact]
    public async Task Dist_holds_an_archive_per_architecture_with_the_published_binaries_and_their_checksums()
    {
        var dist = Dist;
        var version = (await Loomsched.ExecAsync("--version")).Out.Trim()["loomsched ".Length..];
        string[] names = [$"loomsched-{version}-linux-arm64", $"loomsched-{version}-linux-x64"];
        Assert.Equal(names.Select(n => n + ".tar.gz").Append("SHA256SUMS").Order(StringComparer.Ordinal),
            Directory.GetFiles(dist).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        // SHA256SUMS, as sha256sum -c reads it, names both archives and matches them.
        var sums = File.ReadAllLines(Path.Combine(dist, "SHA256SUMS"));
        Assert.Equal(names.Select(n => n + ".tar.gz"), sums.Select(l => l.Split("  ", 2)[1]));
        foreach (var line in sums)
        {
            var (hash, file) = (line.Split("  ", 2)[0], line.Split("  ", 2)[1]);
            Assert.Equal(hash, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(dist, file)))));
        }

        foreach (var name in names)
        {
            var unpacked = Directory.CreateTempSubdirectory("loomsched-dist-").FullName;
            try
            {
                var listing = await ImageContainer.RunAsync("tar", "-tvzf", Path.Combine(dist, name + ".tar.gz"));
                output.WriteLine(listing);
                var entries = listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
                Assert.Equal(
                    new[] { "", "README.md", "loomsched", "scheduler.example.yaml", "systemd/", "systemd/before-253/", "systemd/before-253/loomsched.service", "systemd/loomsched-health.service", "systemd/loomsched-health.timer", "systemd/loomsched.service" }
                        .Select(e => $"{name}/{e}"),
                    entries.Select(e => e[^1]));
                Assert.All(entries, e => Assert.Equal("0/0", e[1]));
                Assert.StartsWith("-rwxr-xr-x", entries.Single(e => e[^1] == $"{name}/loomsched")[0]);

                await ImageContainer.RunAsync("tar", "-xzf", Path.Combine(dist, name + ".tar.gz"), "-C", unpacked);
                var root = Path.Combine(unpacked, name);
                string published = name.EndsWith("-arm64", StringComparison.Ordinal) ? Qemu.Arm64Binary : Repo.Binary;
                Assert.True(File.ReadAllBytes(published).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(root, "loomsched"))),
                    $"{name}/loomsched is not the published {published}");
                Assert.Equal(File.ReadAllText(Repo.Config("scheduler.example.yaml")), File.ReadAllText(Path.Combine(root, "scheduler.example.yaml")));
                var unit = File.ReadAllText(Path.Combine(root, "systemd", "loomsched.service"));
                Assert.Contains("\nExecStart=/usr/local/bin/loomsched run\n", unit);
                Assert.DoesNotMatch("@(BINDIR|CONFDIR)@", unit);
                Assert.Contains("\nType=notify-reload\n", unit);
                var older = File.ReadAllText(Path.Combine(root, "systemd", "before-253", "loomsched.service"));
                Assert.Contains("\nType=notify\n", older);
                Assert.Contains("\nExecReload=/usr/local/bin/loomsched validate ${LOOMSCHED_CONFIG}\nExecReload=/bin/kill -HUP $MAINPID\n", older);
                var readme = File.ReadAllText(Path.Combine(root, "README.md"));
                Assert.StartsWith($"# loomsched {version} for linux-{name.Split('-')[^1]}\n", readme);
                Assert.Contains("## Host requirements", readme);
                Assert.Contains("ldd --version", readme);
                Assert.Contains($"tar -xzf {name.Replace(version, "VERSION").Replace("-linux-x64", "-linux-ARCH").Replace("-linux-arm64", "-linux-ARCH")}.tar.gz", readme);
            }
            finally
            {
                Directory.Delete(unpacked, recursive: true);
            }
        }
    }
}
