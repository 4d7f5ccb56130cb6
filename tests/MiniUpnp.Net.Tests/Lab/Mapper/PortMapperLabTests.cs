using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using MiniUpnp.Net.Tests.Lab.Gateway;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Lab.Mapper;

/// <summary>
/// <see cref="PortMapper"/> against the lab's miniupnpd in each profile (lab.sh <c>--profile all|upnp|natpmp</c>):
/// which protocol the race picks and why, leases over each, a lease restored after a reboot (a new epoch with
/// <c>--epoch daemon</c>; the same epoch with the default system uptime), and a lease that moves to another protocol when
/// the router's firmware stops speaking the one in use. What the router forwards is read from its nftables chain, so
/// the evidence does not depend on the protocol under test.
/// </summary>
public class PortMapperLabTests
{
    private const PortMappingProtocol Tcp = PortMappingProtocol.Tcp;
    private bool _profileChanged;

    [SetUp]
    public void RequireTheLab() => LabEnvironment.Require();

    [TearDown]
    public void RestoreTheDefaultRouter()
    {
        if (_profileChanged)
        {
            Restart("--flush --profile all --epoch system");
            _profileChanged = false;
        }
    }

    private void Restart(string arguments)
    {
        _profileChanged = true;
        var (code, output) = LabEnvironment.LabSh("restart-igd " + arguments);
        Assert.That(code, Is.EqualTo(0), output);
    }

    private static PortMapperOptions Options(params PortMappingMethod[] methods) => new()
    {
        Methods = methods.Length == 0 ? new[] { PortMappingMethod.Pcp, PortMappingMethod.Natpmp, PortMappingMethod.Upnp } : methods,
        Timeout = TimeSpan.FromSeconds(3),
        OperationTimeout = TimeSpan.FromSeconds(5),
        FailoverAfter = TimeSpan.FromSeconds(2),
    };

    private static PortMappingLeaseOptions Lease(int internalPort, int externalPort) => new(Tcp, internalPort)
    {
        ExternalPort = externalPort,
        LeaseDuration = TimeSpan.FromSeconds(600),
        CheckInterval = TimeSpan.FromMilliseconds(500),
        RetryDelay = TimeSpan.FromMilliseconds(200),
        MaxRetryDelay = TimeSpan.FromSeconds(1),
        DisposeTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>Whether the router's nftables forward <paramref name="externalPort"/> to our LAN address.</summary>
    private static bool RouterForwards(int externalPort)
    {
        var (code, output) = LabEnvironment.InNamespace(LabEnvironment.IgdNamespace, "nft", "list chain inet filter prerouting_miniupnpd");
        Assert.That(code, Is.EqualTo(0), output);
        return output.Split('\n').Any(l => l.Contains($"dport {externalPort} ", StringComparison.Ordinal) && l.Contains(LabEnvironment.LanAddr, StringComparison.Ordinal));
    }

    private static Task<bool> EventuallyAsync(Func<bool> condition, int seconds = 20) =>
        GatewayLab.WaitUntilAsync(condition, TimeSpan.FromSeconds(seconds));

    [Test]
    public async Task TheAllThreeRouterGetsPcpAndALeaseThatTheRouterForwardsAndRemoves()
    {
        var mapper = await PortMapper.DiscoverAsync(Options());
        GatewayLab.Record(mapper.Report.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(mapper.Method, Is.EqualTo(PortMappingMethod.Pcp));
            Assert.That(mapper.Gateway, Is.EqualTo(IPAddress.Parse(LabEnvironment.IgdLanAddr)), "the default gateway of the lan namespace");
            Assert.That(mapper.Report.Probes[0].Outcome, Is.EqualTo(PortMapperProbeOutcome.Answered));
            Assert.That(mapper.Report.Reason, Does.StartWith("PCP chosen"));
            Assert.That(mapper.Remembered, Is.EqualTo("pcp " + LabEnvironment.IgdLanAddr));
        });
        Assert.That(await mapper.GetExternalAddressAsync(), Is.EqualTo(IPAddress.Parse(LabEnvironment.IgdWanAddr)));

        var lease = await mapper.LeaseAsync(Lease(4901, 49001));
        try
        {
            Assert.That(lease.ExternalEndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Parse(LabEnvironment.IgdWanAddr), 49001)));
            Assert.That(lease.GrantedLease, Is.EqualTo(TimeSpan.FromSeconds(600)));
            Assert.That(RouterForwards(49001), Is.True);
            var upnp = await GatewayLab.OpenAsync();
            var entry = await upnp.GetMappingAsync(Tcp, 49001);
            Assert.That((entry?.InternalClient, entry?.InternalPort), Is.EqualTo((GatewayLab.Lan, 4901)), "seen through UPnP too");
            Assert.That(await EventuallyAsync(() => lease.RenewalCount >= 1), Is.True, "renewed at the check interval");
        }
        finally
        {
            await lease.DisposeAsync();
        }
        Assert.That(lease.LastError, Is.Null);
        Assert.That(RouterForwards(49001), Is.False, "removed on dispose");
    }

    [Test]
    public async Task AWarmStartFromTheRememberedWinnerAsksOneProtocol()
    {
        var first = await PortMapper.DiscoverAsync(Options());
        var warm = await PortMapper.DiscoverAsync(Options() with { Remembered = first.Remembered });
        GatewayLab.Record(warm.Report.ToString());
        Assert.That(warm.Report.UsedRemembered, Is.True);
        Assert.That(warm.Method, Is.EqualTo(first.Method));
        Assert.That(warm.Report.Probes.Count(p => p.Outcome == PortMapperProbeOutcome.NotTried), Is.EqualTo(2));

        var upnpFirst = await PortMapper.DiscoverAsync(Options(PortMappingMethod.Upnp, PortMappingMethod.Pcp));
        Assert.That(upnpFirst.Method, Is.EqualTo(PortMappingMethod.Upnp));
        Assert.That(upnpFirst.Remembered, Is.EqualTo("upnp " + LabEnvironment.RootDescUrl));
        var warmUpnp = await PortMapper.DiscoverAsync(Options(PortMappingMethod.Upnp, PortMappingMethod.Pcp) with { Remembered = upnpFirst.Remembered });
        Assert.That((warmUpnp.Report.UsedRemembered, warmUpnp.Method), Is.EqualTo((true, PortMappingMethod.Upnp)));
    }

    [Test]
    public async Task AUpnpOnlyRouterGetsUpnpAndPcpAndNatpmpAreNotAnswered()
    {
        Restart("--flush --profile upnp");
        var mapper = await PortMapper.DiscoverAsync(Options());
        GatewayLab.Record(mapper.Report.ToString());
        Assert.That(mapper.Method, Is.EqualTo(PortMappingMethod.Upnp));
        Assert.That(mapper.Upnp, Is.Not.Null);
        // Nothing listens on UDP 5351: the router answers ICMP port unreachable, which refuses both at once, unless the
        // kernel's ICMP rate limit (1/s per host after a burst of 6) dropped it after earlier tests; then they are
        // still pending when UPnP answers after the probe window, and stopped. Either way, never answered.
        foreach (var probe in mapper.Report.Probes.Where(p => p.Method != PortMappingMethod.Upnp))
        {
            Assert.That(probe.Outcome, Is.AnyOf(PortMapperProbeOutcome.Refused, PortMapperProbeOutcome.Stopped), probe.ToString());
            if (probe.Outcome == PortMapperProbeOutcome.Refused)
            {
                Assert.That(probe.Detail, Does.Contain("ICMP port unreachable").Or.Contain("does not support nat-pmp"));
            }
        }

        var lease = await mapper.LeaseAsync(Lease(4902, 49002));
        try
        {
            Assert.That(lease.Method, Is.EqualTo(PortMappingMethod.Upnp));
            Assert.That(lease.ExternalEndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Parse(LabEnvironment.IgdWanAddr), 49002)));
            Assert.That(RouterForwards(49002), Is.True);
        }
        finally
        {
            await lease.DisposeAsync();
        }
        Assert.That(RouterForwards(49002), Is.False, "removed on dispose");
    }

    [Test]
    public async Task ANatpmpOnlyRouterGetsPcpOrNatpmpAsPreferredAndUpnpNoAnswer()
    {
        Restart("--flush --profile natpmp");
        var mapper = await PortMapper.DiscoverAsync(Options());
        GatewayLab.Record(mapper.Report.ToString());
        Assert.That(mapper.Method, Is.EqualTo(PortMappingMethod.Pcp));

        var natpmpFirst = await PortMapper.DiscoverAsync(Options(PortMappingMethod.Natpmp, PortMappingMethod.Upnp, PortMappingMethod.Pcp) with
        {
            ProbeWindow = TimeSpan.FromSeconds(3), // long enough for SSDP to have answered, had UPnP been on
        });
        GatewayLab.Record(natpmpFirst.Report.ToString());
        Assert.That(natpmpFirst.Method, Is.EqualTo(PortMappingMethod.Natpmp));
        var upnpProbe = natpmpFirst.Report.Probes.Single(p => p.Method == PortMappingMethod.Upnp);
        Assert.That(upnpProbe.Outcome, Is.AnyOf(PortMapperProbeOutcome.NoAnswer, PortMapperProbeOutcome.Stopped));

        var lease = await natpmpFirst.LeaseAsync(Lease(4903, 49003));
        try
        {
            Assert.That(lease.Method, Is.EqualTo(PortMappingMethod.Natpmp));
            Assert.That(lease.ExternalEndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Parse(LabEnvironment.IgdWanAddr), 49003)));
            Assert.That(RouterForwards(49003), Is.True);
        }
        finally
        {
            await lease.DisposeAsync();
        }
        Assert.That(RouterForwards(49003), Is.False, "removed on dispose");
    }

    [TestCase("daemon", TestName = "A PCP lease is restored after a reboot that starts a new epoch (Lost, Restored)")]
    [TestCase("system", TestName = "A PCP lease is recreated by its next renewal after a reboot that keeps the epoch")]
    public async Task APcpLeaseSurvivesARouterReboot(string epoch)
    {
        Restart($"--flush --profile all --epoch {epoch}");
        var mapper = await PortMapper.DiscoverAsync(Options(PortMappingMethod.Pcp, PortMappingMethod.Natpmp));
        var events = new ConcurrentQueue<string>();
        var lease = await mapper.LeaseAsync(Lease(4904, 49004));
        lease.Lost += (_, e) => events.Enqueue("Lost: " + e.Reason);
        lease.Restored += (_, e) => events.Enqueue("Restored: " + e.Reason);
        try
        {
            Assert.That(RouterForwards(49004), Is.True);
            // The epoch counts whole seconds, and a client allows it one second of going back (RFC 6887 §8.5): let it
            // reach 4 or more, so that the reboot's 0 or 1 is clearly a loss.
            await Task.Delay(TimeSpan.FromSeconds(5));
            int renewals = lease.RenewalCount;
            Restart($"--flush --epoch {epoch}"); // --flush: the reboot loses every mapping (the renewal may already be back)
            Assert.That(await EventuallyAsync(() => RouterForwards(49004)), Is.True,
                $"mapped again (events: {string.Join("; ", events)}; last error {lease.LastError?.Message})");
            GatewayLab.Record($"epoch {epoch}: {string.Join("; ", events)}; renewals {renewals} → {lease.RenewalCount}");
            if (epoch == "daemon")
            {
                Assert.That(await EventuallyAsync(() => lease.RestoreCount == 1), Is.True, string.Join("; ", events));
                Assert.That(events.First(), Does.StartWith("Lost: the router lost its mappings"));
            }
            else
            {
                Assert.That(lease.RenewalCount, Is.GreaterThan(renewals), "the renewal recreated it");
            }
            Assert.That(lease.Status, Is.EqualTo(GatewayLeaseStatus.Active));
            Assert.That(lease.ExternalPort, Is.EqualTo(49004));
        }
        finally
        {
            await lease.DisposeAsync();
        }
        Assert.That(RouterForwards(49004), Is.False, "removed on dispose");
    }

    [Test]
    public async Task APcpLeaseMovesToUpnpWhenTheRouterStopsSpeakingPcp()
    {
        var mapper = await PortMapper.DiscoverAsync(Options());
        var moved = new TaskCompletionSource<GatewayLeaseEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lease = await mapper.LeaseAsync(Lease(4905, 49005));
        lease.Moved += (_, e) => moved.TrySetResult(e);
        try
        {
            Assert.That(lease.Method, Is.EqualTo(PortMappingMethod.Pcp));
            Restart("--flush --profile upnp"); // a firmware update turned NAT-PMP and PCP off
            var e = await moved.Task.WaitAsync(TimeSpan.FromSeconds(30));
            GatewayLab.Record(e.Reason);
            Assert.That(e.Reason, Does.StartWith("moved from PCP to UPnP"));
            Assert.That(lease.Method, Is.EqualTo(PortMappingMethod.Upnp));
            Assert.That(lease.MoveCount, Is.EqualTo(1));
            Assert.That(lease.ExternalPort, Is.EqualTo(49005), "the same port, free after the reboot");
            Assert.That(RouterForwards(49005), Is.True, "mapped through UPnP");
        }
        finally
        {
            await lease.DisposeAsync();
        }
        Assert.That(RouterForwards(49005), Is.False, "removed through UPnP on dispose");
    }

    [Test]
    public async Task AUpnpLeaseMovesToPcpWhenTheRouterStopsSpeakingUpnp()
    {
        var mapper = await PortMapper.DiscoverAsync(Options(PortMappingMethod.Upnp, PortMappingMethod.Pcp));
        var moved = new TaskCompletionSource<GatewayLeaseEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lease = await mapper.LeaseAsync(Lease(4906, 49006));
        lease.Moved += (_, e) => moved.TrySetResult(e);
        try
        {
            Assert.That(lease.Method, Is.EqualTo(PortMappingMethod.Upnp));
            Restart("--flush --profile natpmp"); // UPnP turned off in the router's settings
            var e = await moved.Task.WaitAsync(TimeSpan.FromSeconds(30));
            GatewayLab.Record(e.Reason);
            Assert.That(e.Reason, Does.StartWith("moved from UPnP to PCP"));
            Assert.That(lease.Method, Is.EqualTo(PortMappingMethod.Pcp));
            Assert.That(lease.ExternalPort, Is.EqualTo(49006));
            Assert.That(RouterForwards(49006), Is.True, "mapped through PCP");
        }
        finally
        {
            await lease.DisposeAsync();
        }
        Assert.That(RouterForwards(49006), Is.False, "removed through PCP on dispose");
    }
}
