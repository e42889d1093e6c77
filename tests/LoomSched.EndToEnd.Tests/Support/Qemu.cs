using System.Diagnostics;

namespace LoomSched.EndToEnd.Tests.Support;

/// <summary>
/// The linux-arm64 binary, run on this x64 machine under qemu's user-mode emulation (<c>qemu-aarch64-static -L /</c>:
/// the arm64 loader, glibc and libssl come from Debian's multiarch packages, as on an arm64 host).
/// </summary>
internal static class Qemu
{
    public const string Emulator = "qemu-aarch64-static";

    /// <summary>
    /// The published arm64 binary (<c>./build.sh dist</c> and <c>./build.sh test</c> put it in artifacts/linux-arm64/;
    /// LOOMSCHED_ARM64_BINARY overrides). A missing binary or emulator fails the test: it must never pass silently.
    /// </summary>
    public static string Arm64Binary
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("LOOMSCHED_ARM64_BINARY") is { Length: > 0 } env
                ? env
                : Path.Combine(Repo.Root, "artifacts", "linux-arm64", "loomsched");
            Assert.True(File.Exists(path), $"the linux-arm64 binary is missing at {path}: run ./build.sh dist (./build.sh test does it first)");
            Assert.True(EmulatorPath is not null, $"{Emulator} is not on PATH: install qemu-user-static and libssl3:arm64 (./build.sh test does)");
            return path;
        }
    }

    /// <summary>Where the emulator is on PATH, or null.</summary>
    public static string? EmulatorPath =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Where(dir => dir.Length > 0)
            .Select(dir => Path.Combine(dir, Emulator)).FirstOrDefault(File.Exists);

    private static ProcessStartInfo StartInfo(string[] args) => ChildProcess.Info(Emulator, ["-L", "/", Arm64Binary, .. args]);

    /// <summary>Runs the arm64 binary to completion: exit code, stdout, stderr.</summary>
    public static Task<(int Code, string Out, string Err)> ExecAsync(params string[] args) =>
        ChildProcess.RunAsync(StartInfo(args), TimeSpan.FromSeconds(120));

    /// <summary>Starts the arm64 daemon; qemu hands the signals sent to it to the daemon.</summary>
    public static Loomsched Start(params string[] args) => Loomsched.Start(StartInfo(args));
}
