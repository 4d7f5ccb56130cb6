using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Support;

/// <summary>A program a conformance test runs: its path and the words before the test's arguments (dotnet's dll).</summary>
internal sealed record Executable(string Path, string[] Prefix);

/// <summary>What a run printed and returned.</summary>
internal sealed record ToolOutput(int Code, string Stdout, string Stderr);

/// <summary>Runs the reference tools (upnpc, natpmpc) and upnpc-net the same way, for the tool conformance tests.</summary>
internal static class ToolProcess
{
    internal static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>upnpc-net, built with the tests, run by the dotnet host running them.</summary>
    internal static Executable UpnpcNet { get; } = new(DotnetHost(), [ToolDll()]);

    /// <summary>upnpc-net run inside network namespace <paramref name="ns"/> (ip netns exec).</summary>
    internal static Executable UpnpcNetIn(string ns) => new("ip", ["netns", "exec", ns, DotnetHost(), ToolDll()]);

    /// <summary>The dotnet host running these tests (…/dotnet/shared/Microsoft.NETCore.App/&lt;version&gt;/ → …/dotnet/dotnet).</summary>
    private static string DotnetHost()
    {
        string candidate = System.IO.Path.GetFullPath(System.IO.Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(),
            "..", "..", "..", OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet"));
        return System.IO.File.Exists(candidate) ? candidate : "dotnet";
    }

    /// <summary>The built tool (a project reference without assembly reference), same configuration as the tests when it exists.</summary>
    private static string ToolDll()
    {
        string toolBin = System.IO.Path.Combine(TestPaths.RepoRoot, "artifacts", "bin", "MiniUpnp.Net.Tool");
        string configuration = new System.IO.DirectoryInfo(AppContext.BaseDirectory.TrimEnd(System.IO.Path.DirectorySeparatorChar)).Name;
        string preferred = System.IO.Path.Combine(toolBin, configuration, "upnpc-net.dll");
        if (System.IO.File.Exists(preferred))
        {
            return preferred;
        }
        return System.IO.Directory.Exists(toolBin)
            ? System.IO.Directory.GetFiles(toolBin, "upnpc-net.dll", System.IO.SearchOption.AllDirectories).FirstOrDefault() ?? preferred
            : preferred;
    }

    /// <summary>Runs <paramref name="program"/> with <paramref name="args"/>; a run past <see cref="Timeout"/> is killed
    /// (our own child, by its handle) and fails the test.</summary>
    internal static ToolOutput Run(Executable program, IReadOnlyList<string> args)
    {
        var psi = new ProcessStartInfo(program.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in program.Prefix.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"{program.Path} {string.Join(' ', args)}: no answer within {Timeout.TotalSeconds} s");
        }
        process.WaitForExit();
        return new ToolOutput(process.ExitCode, stdout.Result, stderr.Result);
    }
}
