using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Mapper;

/// <summary>
/// <see cref="PortMapper"/> and <see cref="PortMapperLease"/> against loopback routers that speak PCP and/or NAT-PMP
/// (<see cref="PmpPcpRouter"/>): the race's choice and report, the warm start, a lease's renewals, its restoration after
/// a reboot (the epoch), an address change, the move to another protocol, and disposal. UPnP is left out here (no SSDP
/// outside the lab); the lab tests race all three against miniupnpd.
/// </summary>
[NonParallelizable]
public class PortMapperTests
{
    private static readonly PortMappingMethod[] PcpAndNatpmp = { PortMappingMethod.Pcp, PortMappingMethod.Natpmp };

    private static PortMapperOptions Options(IPAddress router) => new()
    {
        Gateway = router,
        Methods = PcpAndNatpmp,
        Timeout = TimeSpan.FromSeconds(2),
        OperationTimeout = TimeSpan.FromSeconds(2),
        FailoverAfter = TimeSpan.FromSeconds(1),
    };

    private static PortMappingLeaseOptions Lease(int port) => new(PortMappingProtocol.Udp, port)
    {
        LeaseDuration = TimeSpan.FromSeconds(600),
        CheckInterval = TimeSpan.FromMilliseconds(200),
        RetryDelay = TimeSpan.FromMilliseconds(100),
        MaxRetryDelay = TimeSpan.FromMilliseconds(400),
        DisposeTimeout = TimeSpan.FromSeconds(3),
    };

    [Test]
    public async Task ARouterThatSpeaksBothGetsPcpAndTheReportSaysWhy()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.89.0.1"));
        var mapper = await PortMapper.DiscoverAsync(Options(router.Address));
        TestContext.Out.WriteLine(mapper.Report);
        Assert.That(mapper.Method, Is.EqualTo(PortMappingMethod.Pcp));
        Assert.That(mapper.Gateway, Is.EqualTo(router.Address));
        Assert.That(mapper.Report.Chosen, Is.EqualTo(PortMappingMethod.Pcp));
        Assert.That(mapper.Report.UsedRemembered, Is.False);
        Assert.That(mapper.Report.Probes.Select(p => p.Method), Is.EqualTo(PcpAndNatpmp));
        Assert.That(mapper.Report.Probes[0].Outcome, Is.EqualTo(PortMapperProbeOutcome.Answered));
        Assert.That(mapper.Report.Probes[0].Detail, Does.Contain("epoch"));
        Assert.That(mapper.Report.Probes[1].Outcome, Is.AnyOf(PortMapperProbeOutcome.Answered, PortMapperProbeOutcome.Stopped));
        Assert.That(mapper.Report.Reason, Does.StartWith("PCP chosen").And.Contain("the most preferred protocol"));
        Assert.That(mapper.Remembered, Is.EqualTo("pcp 127.89.0.1"));
    }

    [Test]
    public async Task ANatpmpOnlyRouterGetsNatpmpWithoutWaitingOutThePcpProbe()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.89.0.2"), pcp: false);
        var mapper = await PortMapper.DiscoverAsync(Options(router.Address) with { ProbeWindow = TimeSpan.FromSeconds(5) });
        TestContext.Out.WriteLine(mapper.Report);
        Assert.That(mapper.Method, Is.EqualTo(PortMappingMethod.Natpmp));
        var pcp = mapper.Report.Probes[0];
        Assert.That(pcp.Outcome, Is.EqualTo(PortMapperProbeOutcome.Refused));
        Assert.That(pcp.Detail, Does.Contain("speaks NAT-PMP, not PCP"));
        // PCP's refusal decided, not the end of the 5 s window (which would read "was still pending").
        Assert.That(mapper.Report.Reason, Does.Contain("PCP refused").And.Not.Contain("still pending"));
    }

    [Test]
    public void NoRouterThrowsWithEveryProbesOutcome()
    {
        // Nothing listens on 127.89.0.3:5351: the kernel answers ICMP port unreachable.
        var e = Assert.ThrowsAsync<PortMapperException>(() => PortMapper.DiscoverAsync(Options(IPAddress.Parse("127.89.0.3"))));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Report.Chosen, Is.Null);
        Assert.That(e.Report.Probes.Select(p => p.Outcome), Is.All.EqualTo(PortMapperProbeOutcome.Refused));
        Assert.That(e.Report.Probes[0].Detail, Does.Contain("closed (ICMP port unreachable"));
        Assert.That(e.Report.Probes[1].Detail, Does.Contain("does not support nat-pmp"));
        Assert.That(e.Message, Does.StartWith("No protocol answered").And.Contain("127.89.0.3"));
    }

    [Test]
    public void ASilentRouterEndsAtTheTimeout()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.89.0.4")) { Silent = true };
        var e = Assert.ThrowsAsync<PortMapperException>(() =>
            PortMapper.DiscoverAsync(Options(router.Address) with { Timeout = TimeSpan.FromMilliseconds(600) }));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Report.Probes.Select(p => p.Outcome), Is.All.EqualTo(PortMapperProbeOutcome.NoAnswer));
        Assert.That(router.Requests, Is.GreaterThanOrEqualTo(4), "both protocols retransmitted within the timeout");
    }

    [Test]
    public async Task AWarmStartAsksTheRememberedProtocolAloneAndRacesWhenItIsStale()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.89.0.5"));
        var first = await PortMapper.DiscoverAsync(Options(router.Address) with { Methods = new[] { PortMappingMethod.Natpmp, PortMappingMethod.Pcp } });
        Assert.That(first.Method, Is.EqualTo(PortMappingMethod.Natpmp));
        await Task.Delay(300); // the stopped PCP probe's request may still be on its way to the router
        int before = router.Requests;
        var warm = await PortMapper.DiscoverAsync(Options(router.Address) with { Remembered = first.Remembered });
        TestContext.Out.WriteLine(warm.Report);
        Assert.That(warm.Report.UsedRemembered, Is.True);
        Assert.That(warm.Method, Is.EqualTo(PortMappingMethod.Natpmp), "remembered, although PCP is preferred");
        Assert.That(router.Requests - before, Is.EqualTo(1), "one request");
        Assert.That(warm.Report.Probes.Single(p => p.Method == PortMappingMethod.Pcp).Outcome, Is.EqualTo(PortMapperProbeOutcome.NotTried));

        // Remembered from another network: not asked, the race runs.
        var moved = await PortMapper.DiscoverAsync(Options(router.Address) with { Remembered = "natpmp 127.89.9.9" });
        Assert.That(moved.Report.UsedRemembered, Is.False);
        Assert.That(moved.Method, Is.EqualTo(PortMappingMethod.Pcp));
        // Garbage: the race runs.
        Assert.That((await PortMapper.DiscoverAsync(Options(router.Address) with { Remembered = "nonsense" })).Report.UsedRemembered, Is.False);
    }

    [TestCase(true, TestName = "A PCP lease renews, is restored after a reboot, follows the address and is removed")]
    [TestCase(false, TestName = "A NAT-PMP lease renews, is restored after a reboot, follows the address and is removed")]
    public async Task ALeaseRenewsRestoresFollowsAndIsRemoved(bool pcp)
    {
        using var router = new PmpPcpRouter(IPAddress.Parse(pcp ? "127.89.0.6" : "127.89.0.7"), pcp: pcp);
        var mapper = await PortMapper.DiscoverAsync(Options(router.Address));
        var events = new ConcurrentQueue<string>();
        var lease = await mapper.LeaseAsync(Lease(4800) with { ExternalPort = 48000 });
        lease.Lost += (_, e) => events.Enqueue("Lost: " + e.Reason);
        lease.Restored += (_, e) => events.Enqueue("Restored: " + e.Reason);
        lease.Changed += (_, e) => events.Enqueue("Changed: " + e.Reason);
        try
        {
            Assert.That(lease.Method, Is.EqualTo(pcp ? PortMappingMethod.Pcp : PortMappingMethod.Natpmp));
            Assert.That(lease.ExternalEndPoint, Is.EqualTo(new IPEndPoint(router.PublicAddress, 48000)));
            Assert.That(lease.GrantedLease, Is.EqualTo(TimeSpan.FromSeconds(600)));
            Assert.That(router.Mappings[(17, 4800)], Is.EqualTo(48000));
            Assert.That(await Eventually(() => lease.RenewalCount >= 2), Is.True, "renewed at the check interval");

            router.Restart(); // the mappings are gone, the epoch starts again
            Assert.That(await Eventually(() => lease.RestoreCount == 1), Is.True, string.Join("\n", events));
            Assert.That(router.Mappings[(17, 4800)], Is.EqualTo(48000), "created again on the same port");
            Assert.That(events.First(), Does.StartWith("Lost: the router lost its mappings"));
            Assert.That(lease.Status, Is.EqualTo(GatewayLeaseStatus.Active));

            router.PublicAddress = IPAddress.Parse("203.0.113.99");
            Assert.That(await Eventually(() => lease.ExternalEndPoint!.Address.Equals(router.PublicAddress)), Is.True);
            Assert.That(await Eventually(() => events.Any(e => e.StartsWith("Changed:", StringComparison.Ordinal) && e.Contains("203.0.113.99"))), Is.True);
        }
        finally
        {
            await lease.DisposeAsync();
        }
        TestContext.Out.WriteLine(string.Join("\n", events));
        Assert.That(lease.Status, Is.EqualTo(GatewayLeaseStatus.Disposed));
        Assert.That(lease.LastError, Is.Null);
        Assert.That(router.Mappings, Is.Empty, "removed on dispose");
    }

    [Test]
    public async Task ALeaseMovesToNatpmpWhenPcpStopsAnswering()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.89.0.8"));
        var mapper = await PortMapper.DiscoverAsync(Options(router.Address));
        var moved = new TaskCompletionSource<GatewayLeaseEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lease = await mapper.LeaseAsync(Lease(4801));
        lease.Moved += (_, e) => moved.TrySetResult(e);
        try
        {
            Assert.That(lease.Method, Is.EqualTo(PortMappingMethod.Pcp));
            router.Pcp = false; // a firmware update: NAT-PMP only from now on
            var e = await moved.Task.WaitAsync(TimeSpan.FromSeconds(15));
            TestContext.Out.WriteLine(e.Reason);
            Assert.That(e.Reason, Does.StartWith("moved from PCP to NAT-PMP"));
            Assert.That(lease.Method, Is.EqualTo(PortMappingMethod.Natpmp));
            Assert.That(lease.MoveCount, Is.EqualTo(1));
            Assert.That(lease.Status, Is.EqualTo(GatewayLeaseStatus.Active));
            Assert.That(lease.Mapper.Method, Is.EqualTo(PortMappingMethod.Natpmp));
            Assert.That(await Eventually(() => lease.RenewalCount >= 1 && lease.ConsecutiveFailures == 0), Is.True, "renewed through NAT-PMP");
        }
        finally
        {
            await lease.DisposeAsync();
        }
        Assert.That(router.Mappings, Is.Empty);
    }

    [Test]
    public async Task BadLeaseOptionsThrowBeforeAnyIo()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.89.0.9"));
        var mapper = await PortMapper.DiscoverAsync(Options(router.Address));
        await Task.Delay(300); // the stopped NAT-PMP probe's request may still be on its way to the router
        int before = router.Requests;
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => mapper.LeaseAsync(new PortMappingLeaseOptions(PortMappingProtocol.Tcp, 0)));
        Assert.ThrowsAsync<ArgumentException>(() => mapper.LeaseAsync(new PortMappingLeaseOptions(PortMappingProtocol.Tcp, 80)
        {
            InternalClient = IPAddress.Parse("10.9.9.9"),
        }));
        Assert.ThrowsAsync<ArgumentNullException>(() => mapper.LeaseAsync(null!));
        Assert.That(router.Requests, Is.EqualTo(before));
        Assert.Throws<ArgumentException>(() => _ = new PortMapperOptions { Methods = Array.Empty<PortMappingMethod>() });
        Assert.Throws<ArgumentException>(() => _ = new PortMapperOptions { Methods = new[] { PortMappingMethod.Pcp, PortMappingMethod.Pcp } });
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => PortMapper.DiscoverAsync(new PortMapperOptions { ProbeWindow = TimeSpan.Zero }));
        Assert.ThrowsAsync<ArgumentException>(() => PortMapper.DiscoverAsync(new PortMapperOptions { Gateway = IPAddress.IPv6Loopback }));
    }

    /// <summary>Polls <paramref name="condition"/> every 20 ms for at most 10 s.</summary>
    private static async Task<bool> Eventually(Func<bool> condition)
    {
        for (int i = 0; i < 500; i++)
        {
            if (condition())
            {
                return true;
            }
            await Task.Delay(20);
        }
        return condition();
    }
}
