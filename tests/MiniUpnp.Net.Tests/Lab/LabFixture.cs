using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Lab;

/// <summary>
/// Starts the IGD lab (tests/lab/lab.sh: miniupnpd in network namespaces) once for every test in this namespace
/// (unless <c>HostileLabFixture</c> started it already), and tears it down afterwards even when tests fail. ./build.sh test runs the test process inside the lab's
/// (pre-created, empty) lan namespace and passes its id in MINIUPNPNET_LAB_ID; lab.sh builds the igd and wan
/// namespaces around it. Without that (an IDE run, a non-root user), lab tests are skipped with the reason,
/// except under CI=true, where they must run: a lab that cannot start fails them.
/// </summary>
[SetUpFixture]
public sealed class LabFixture
{
    [OneTimeSetUp]
    public void StartLab() => LabEnvironment.Start();

    [OneTimeTearDown]
    public void StopLab() => LabEnvironment.Stop();
}

/// <summary>The running lab: its addresses (from lab.env) and helpers to run commands in its namespaces.</summary>
internal static class LabEnvironment
{
    private static Dictionary<string, string>? s_env;
    private static string? s_unavailable;
    private static bool s_owned;

    internal static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    internal static string LabScript => Path.Combine(TestPaths.RepoRoot, "tests", "lab", "lab.sh");

    internal static string? Id => Environment.GetEnvironmentVariable("MINIUPNPNET_LAB_ID");

    /// <summary>Starts the lab once: later calls (another namespace's fixture) find it running, or its reason.</summary>
    internal static void Start()
    {
        if (s_env is not null || s_unavailable is not null)
        {
            return;
        }
        // A lab someone already started (./build.sh lab up): use it as it is, leave it running.
        string? existing = Environment.GetEnvironmentVariable("MINIUPNPNET_LAB_ENV");
        if (!string.IsNullOrEmpty(existing))
        {
            s_env = ReadEnv(existing);
            s_owned = false;
            return;
        }
        if (string.IsNullOrEmpty(Id))
        {
            s_unavailable = "lab: not started (run the lab tests with ./build.sh test, as root on Linux with network namespaces)";
            return;
        }
        var (code, output) = Run(LabScript, $"up --id {Id}", TimeSpan.FromSeconds(60));
        if (code != 0)
        {
            s_unavailable = $"lab: lab.sh up failed ({code}):\n{output}";
            return;
        }
        string envFile = output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.EndsWith("lab.env", StringComparison.Ordinal))
                         ?? Path.Combine(TestPaths.RepoRoot, "artifacts", "lab", Id, "lab.env");
        s_env = ReadEnv(envFile);
        s_owned = true;
    }

    private static Dictionary<string, string> ReadEnv(string envFile) =>
        File.ReadAllLines(envFile)
            .Where(l => l.Contains('=', StringComparison.Ordinal) && !l.TrimStart().StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim().Trim('"', '\''));

    internal static void Stop()
    {
        if (s_env is not null && s_owned && Id is not null)
        {
            Run(LabScript, $"down --id {Id}", TimeSpan.FromSeconds(60));
            s_env = null;
        }
    }

    /// <summary>Skips the calling test when the lab is not running, or fails it under CI.</summary>
    internal static void Require()
    {
        if (s_env is not null)
        {
            return;
        }
        string reason = s_unavailable ?? "lab: not started";
        if (InCi)
        {
            Assert.Fail("CI=true requires the IGD lab, which is not running. " + reason);
        }
        Assert.Ignore(reason);
    }

    private static string Get(string key)
    {
        Require();
        return s_env!.TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"lab.env has no {key}");
    }

    internal static string LabId => Get("LAB_ID");
    internal static IPEndPoint BehaviourStun => IPEndPoint.Parse(Get("BEHAVIOUR_STUN"));
    internal static string LanNamespace => Get("LAN_NS");
    internal static string IgdNamespace => Get("IGD_NS");
    internal static string WanNamespace => Get("WAN_NS");
    internal static string LanAddr => Get("LAN_ADDR");
    internal static string LanAddr6 => Get("LAN_ADDR6");
    internal static string IgdLanAddr => Get("IGD_LAN_ADDR");
    internal static string IgdLanAddr6 => Get("IGD_LAN_ADDR6");
    internal static string IgdWanAddr => Get("IGD_WAN_ADDR");
    internal static string WanAddr => Get("WAN_ADDR");
    internal static string WanAddr6 => Get("WAN_ADDR6");
    internal static string RootDescUrl => Get("ROOTDESC_URL");
    internal static string RootDescUrl6 => $"http://[{IgdLanAddr6}]:{Get("HTTP_PORT")}/rootDesc.xml";

    /// <summary>Another LAN address that is not ours (conflicts: "another host holds the port").</summary>
    internal static string OtherLanHost
    {
        get
        {
            var parts = LanAddr.Split('.');
            return $"{parts[0]}.{parts[1]}.{parts[2]}.99";
        }
    }

    /// <summary>Runs lab.sh with arguments (restart-igd, stop-igd, …).</summary>
    internal static (int Code, string Output) LabSh(string arguments, int timeoutSeconds = 60)
    {
        Require();
        return Run(LabScript, $"{arguments} --id {Get("LAB_ID")}", TimeSpan.FromSeconds(timeoutSeconds));
    }

    /// <summary>Runs a command inside one of the lab's namespaces (ip netns exec).</summary>
    internal static (int Code, string Output) InNamespace(string ns, string command, string arguments, int timeoutSeconds = 30)
    {
        Require();
        return Run("ip", $"netns exec {ns} {command} {arguments}", TimeSpan.FromSeconds(timeoutSeconds));
    }

    /// <summary>Runs a process to completion (bounded), returning its exit code and combined output.</summary>
    internal static (int Code, string Output) Run(string file, string arguments, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                psi.Environment[k] = v;
            }
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit((int)timeout.TotalMilliseconds))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, $"{file} {arguments}: timed out after {timeout.TotalSeconds} s\n{stdout.Result}{stderr.Result}");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
