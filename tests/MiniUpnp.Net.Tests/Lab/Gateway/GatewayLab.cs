using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Lab.Gateway;

/// <summary>Helpers for the async layer's lab tests: the lab's gateway, its miniupnpd process, bounded waits.</summary>
internal static class GatewayLab
{
    /// <summary>Options for discovery in the lab: everything default but the bounds.</summary>
    internal static GatewayDiscoveryOptions Options(TimeSpan? timeout = null, TimeSpan? operationTimeout = null) => new()
    {
        Timeout = timeout ?? TimeSpan.FromSeconds(5),
        OperationTimeout = operationTimeout ?? TimeSpan.FromSeconds(10),
    };

    internal static Task<UpnpGateway> OpenAsync(TimeSpan? operationTimeout = null) =>
        UpnpGateway.OpenAsync(new Uri(LabEnvironment.RootDescUrl), Options(operationTimeout: operationTimeout));

    internal static Task<UpnpGateway> OpenIPv6Async() =>
        UpnpGateway.OpenAsync(new Uri(LabEnvironment.RootDescUrl6), Options());

    /// <summary>The lab's lab.env, read fresh (lab.sh rewrites it when it restarts miniupnpd).</summary>
    private static string EnvValue(string key)
    {
        string? file = Environment.GetEnvironmentVariable("MINIUPNPNET_LAB_ENV");
        if (string.IsNullOrEmpty(file))
        {
            file = Path.Combine(TestPaths.RepoRoot, "artifacts", "lab", LabEnvironment.Id ?? "current", "lab.env");
        }
        return File.ReadAllLines(file).Select(l => l.Split('=', 2)).Where(p => p.Length == 2 && p[0].Trim() == key)
            .Select(p => p[1].Trim()).Single();
    }

    /// <summary>Freezes the lab's miniupnpd (SIGSTOP, by its PID from lab.env): connections are accepted by the
    /// kernel but never answered, which is what a hung router looks like. Dispose resumes it (SIGCONT).</summary>
    internal static IDisposable FreezeRouter()
    {
        int pid = int.Parse(EnvValue("MINIUPNPD_PID"), System.Globalization.CultureInfo.InvariantCulture);
        Signal("STOP", pid);
        return new Resume(pid);
    }

    private static void Signal(string signal, int pid)
    {
        var (code, output) = LabEnvironment.Run("kill", $"-{signal} {pid}", TimeSpan.FromSeconds(10));
        Assert.That(code, Is.EqualTo(0), $"kill -{signal} {pid}: {output}");
    }

    private sealed class Resume(int pid) : IDisposable
    {
        public void Dispose() => Signal("CONT", pid);
    }

    /// <summary>Waits (bounded) until <paramref name="condition"/> holds; returns whether it did.</summary>
    internal static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan bound)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > bound)
            {
                return false;
            }
            await Task.Delay(50);
        }
        return true;
    }

    /// <summary>Waits (bounded) until the router has no mapping on that port any more.</summary>
    internal static async Task<bool> WaitUntilGoneAsync(UpnpGateway gateway, PortMappingProtocol protocol, int port, TimeSpan bound)
    {
        var watch = Stopwatch.StartNew();
        while (await gateway.GetMappingAsync(protocol, port) is not null)
        {
            if (watch.Elapsed > bound)
            {
                return false;
            }
            await Task.Delay(100);
        }
        return true;
    }

    /// <summary>Removes a mapping if it is there; never throws (test clean-up).</summary>
    internal static async Task TryDeleteAsync(UpnpGateway gateway, PortMappingProtocol protocol, int port)
    {
        try
        {
            await gateway.DeleteMappingAsync(protocol, port);
        }
        catch (Exception e) when (e is UpnpException or TimeoutException)
        {
        }
    }

    internal static IPAddress Lan => IPAddress.Parse(LabEnvironment.LanAddr);

    internal static IPAddress OtherLanHost => IPAddress.Parse(LabEnvironment.OtherLanHost);

    internal static void Record(string what) => TestContext.Out.WriteLine(what);
}
