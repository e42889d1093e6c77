using System.Diagnostics;
using LoomSched.Generators.Tests.Support;

namespace LoomSched.Generators.Tests;

/// <summary>
/// The whole chain in a real <c>dotnet build</c>: a project referencing LoomSched.Core and the generator fails on a YAML
/// config that names a missing function, at the value's line and column, and builds once the name is fixed.
/// </summary>
public sealed class BuildFacts : IDisposable
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(8);

    private readonly string _dir = Directory.CreateTempSubdirectory("loomsched-build-").FullName;

    [Fact]
    public async Task A_build_fails_on_an_unknown_expand_from_at_its_yaml_position_and_succeeds_once_fixed()
    {
        var root = RepoPaths.Root;
        await File.WriteAllTextAsync(Path.Combine(_dir, "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="{root}/src/LoomSched.Core/LoomSched.Core.csproj" />
                <ProjectReference Include="{root}/generators/LoomSched.Generators/LoomSched.Generators.csproj"
                                  OutputItemType="Analyzer" ReferenceOutputAssembly="false" />
              </ItemGroup>
              <ItemGroup>
                <AdditionalFiles Include="config/**/*.yaml" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(_dir, "Program.cs"), """
            using LoomSched.Expansion;

            Console.WriteLine(string.Join(",", LoomSched.Generated.ExpansionFunctionRegistry.Create().Names));

            internal static class Sessions
            {
                [ExpansionFunction("sessions.active")]
                internal static List<Dictionary<string, object?>> Active(ExpansionContext context) => [];
            }
            """);
        Directory.CreateDirectory(Path.Combine(_dir, "config"));
        var yaml = Path.Combine(_dir, "config", "x.yaml");
        const string Config = """
            name: e2e
            schedules:
              - name: poll
                interval_seconds: 30
                dispatch_type: task
                task: {worker_type: poller}
                expand_from: sesions.active
            """;
        await File.WriteAllTextAsync(yaml, Config);

        var (failedCode, failedOutput) = await Build();

        Assert.NotEqual(0, failedCode);
        Assert.Contains("x.yaml(7,18): error LSCH004: expand_from names 'sesions.active', which is not a registered expansion function; did you mean 'sessions.active'?", failedOutput, StringComparison.Ordinal);

        await File.WriteAllTextAsync(yaml, Config.Replace("sesions.active", "sessions.active"));
        var (code, output) = await Build();

        Assert.True(code == 0, output);
        var (runCode, names) = await Run("dotnet", Path.Combine(_dir, "artifacts", "bin", "App", "debug", "App.dll"));
        Assert.Equal(0, runCode);
        Assert.Equal("sessions.active", names.Trim());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A build server may still hold a file for a moment; the temp folder is cleaned by the OS eventually.
        }
    }

    private Task<(int Code, string Output)> Build() =>
        Run("dotnet", "build", Path.Combine(_dir, "App.csproj"), "-nologo", "-v:q", "-nodeReuse:false",
            $"-p:ArtifactsPath={Path.Combine(_dir, "artifacts")}");

    private async Task<(int Code, string Output)> Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = _dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        // The test host may run under MSBuild; its variables would point the child build at the wrong SDK pieces.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(BuildTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {BuildTimeout}.");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
