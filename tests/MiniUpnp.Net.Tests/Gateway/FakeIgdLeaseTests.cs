using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Gateway;

/// <summary>
/// PortMappingLease and PinholeLease against <see cref="FakeRouter"/> on loopback: what the lab's miniupnpd cannot
/// show (725, IGDv1 retries, an external address that changes, a router gone at dispose), and the loop's rules.
/// </summary>
public class FakeIgdLeaseTests
{
    private const PortMappingProtocol Tcp = PortMappingProtocol.Tcp;

    private static PortMappingLeaseOptions Fast(int internalPort, int externalPort = 0) => new(Tcp, internalPort)
    {
        ExternalPort = externalPort,
        LeaseDuration = TimeSpan.FromSeconds(2),
        CheckInterval = TimeSpan.FromMilliseconds(200),
        RetryDelay = TimeSpan.FromMilliseconds(100),
        MaxRetryDelay = TimeSpan.FromMilliseconds(400),
        DisposeTimeout = TimeSpan.FromSeconds(3),
        Description = "fake lease",
    };

    // Loopback only: a lease that searches for its router again (RediscoverWhenUnreachable) searches nothing else.
    private static GatewayDiscoveryOptions LoopbackOptions(params FakeRouter[] igds)
    {
        var options = FakeIgdDiscoveryTests.LoopbackOnly(TimeSpan.FromMilliseconds(500), igds);
        options.OperationTimeout = TimeSpan.FromSeconds(2);
        return options;
    }

    private static async Task<UpnpGateway> OpenAsync(FakeRouter igd) => await UpnpGateway.OpenAsync(igd.RootUrl, LoopbackOptions());

    /// <summary>Polls <paramref name="condition"/>. The bounds given are generous (30 s for what takes a second or two):
    /// they only end a wait that would otherwise never end. Two are short on purpose: a window in which something must
    /// NOT happen (another device is not followed), and the renewal rate (two renewals of a 2 s lease within 5 s).</summary>
    private static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan bound)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > bound)
            {
                return false;
            }
            await Task.Delay(20);
        }
        return true;
    }

    [Test]
    public async Task ALeaseMapsReadsBackRenewsAndDeletesOnDispose()
    {
        using var igd = new FakeRouter();
        var lease = await (await OpenAsync(igd)).LeaseMappingAsync(Fast(8000, 9000));
        Assert.Multiple(() =>
        {
            Assert.That(lease.ExternalPort, Is.EqualTo(9000));
            Assert.That(lease.ExternalEndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Parse("1.2.3.4"), 9000)));
            Assert.That(lease.ExternalAddress, Is.EqualTo(IPAddress.Parse("1.2.3.4")));
            Assert.That(lease.InternalClient, Is.EqualTo(IPAddress.Loopback));
            Assert.That(lease.GrantedLease, Is.EqualTo(TimeSpan.FromSeconds(2)));
            Assert.That(igd.Actions.Take(4), Is.EqualTo(new[] { "GET", "AddAnyPortMapping", "GetSpecificPortMappingEntry", "GetExternalIPAddress" }));
        });
        Assert.That(await WaitUntilAsync(() => lease.RenewalCount >= 2, TimeSpan.FromSeconds(5)), Is.True, "renews at half the lease");
        await lease.DisposeAsync();
        Assert.Multiple(() =>
        {
            Assert.That(igd.Mappings, Is.Empty);
            Assert.That(lease.Status, Is.EqualTo(GatewayLeaseStatus.Disposed));
            Assert.That(lease.LastError, Is.Null);
        });
    }

    [Test]
    public async Task ARouterThatOnlyTakesPermanentLeasesGetsAPermanentMappingThatIsDeletedOnDispose()
    {
        using var igd = new FakeRouter { OnlyPermanentLeases = true };
        await using (var lease = await (await OpenAsync(igd)).LeaseMappingAsync(Fast(8001)))
        {
            Assert.Multiple(() =>
            {
                Assert.That(lease.IsPermanent, Is.True);
                Assert.That(lease.GrantedLease, Is.EqualTo(TimeSpan.Zero));
                Assert.That(igd.Mappings[("TCP", 8001)].Lease, Is.Zero);
            });
            await Task.Delay(1500);
            Assert.That(lease.RenewalCount, Is.Zero, "nothing to renew");
        }
        Assert.That(igd.Mappings, Is.Empty);
    }

    [Test]
    public async Task OnIgdV1AConflictIsRetriedOnOtherPorts()
    {
        using var igd = new FakeRouter { IgdV2 = false };
        igd.SetMapping("TCP", 8002, new FakeRouter.Mapping("127.0.0.9", 8002, "someone", 0, ""));
        await using var lease = await (await OpenAsync(igd)).LeaseMappingAsync(Fast(8002));
        Assert.Multiple(() =>
        {
            Assert.That(lease.ExternalPort, Is.Not.EqualTo(8002).And.InRange(49152, 65535));
            Assert.That(igd.Count("AddAnyPortMapping"), Is.Zero);
            Assert.That(igd.Count("AddPortMapping"), Is.EqualTo(2));
            Assert.That(igd.Mappings[("TCP", 8002)].Client, Is.EqualTo("127.0.0.9"), "the other host's mapping is untouched");
        });
    }

    [Test]
    public async Task WhenEveryPortIsTakenTheStartFailsWithTheConflict()
    {
        using var igd = new FakeRouter { IgdV2 = false };
        igd.SetMapping("TCP", 8003, new FakeRouter.Mapping("127.0.0.9", 8003, "someone", 0, ""));
        var options = Fast(8003) with { MaxPortAttempts = 1 };
        var e = Assert.ThrowsAsync<UpnpException>(async () => await (await OpenAsync(igd)).LeaseMappingAsync(options));
        Assert.That((UpnpErrorCode)e!.Code, Is.EqualTo(UpnpErrorCode.ConflictInMappingEntry));
    }

    [Test]
    public async Task ALostMappingIsRestoredWithEventsAndAThrowingHandlerChangesNothing()
    {
        using var igd = new FakeRouter();
        var lease = await (await OpenAsync(igd)).LeaseMappingAsync(Fast(8004));
        var events = new ConcurrentQueue<string>();
        lease.Lost += (_, e) => throw new InvalidOperationException("a careless handler");
        lease.Lost += (_, e) => events.Enqueue("lost: " + e.Reason);
        lease.Restored += (_, e) => events.Enqueue("restored: " + e.Reason);
        lease.Changed += (_, e) => events.Enqueue("changed: " + e.Reason);
        try
        {
            igd.RemoveMapping("TCP", 8004); // the router "forgot" it
            Assert.That(await WaitUntilAsync(() => lease.RestoreCount == 1, TimeSpan.FromSeconds(30)), Is.True, string.Join("; ", events));
            Assert.Multiple(() =>
            {
                Assert.That(events.First(), Does.StartWith("lost: the mapping of external port 8004 is gone"));
                Assert.That(events.ElementAt(1), Does.StartWith("restored"));
                Assert.That(events, Has.None.StartWith("changed"), "same endpoint");
                Assert.That(igd.Mappings.ContainsKey(("TCP", 8004)), Is.True);
                Assert.That(lease.Status, Is.EqualTo(GatewayLeaseStatus.Active));
            });

            // Another host takes the port while we are away: the lease takes another one and says so.
            igd.SetMapping("TCP", 8004, new FakeRouter.Mapping("127.0.0.9", 8004, "thief", 0, ""));
            Assert.That(await WaitUntilAsync(() => lease.RestoreCount == 2, TimeSpan.FromSeconds(30)), Is.True);
            Assert.Multiple(() =>
            {
                Assert.That(lease.ExternalPort, Is.EqualTo(8005));
                Assert.That(events, Has.Some.Contains("now mapped to 127.0.0.9:8004"));
                Assert.That(events, Has.Some.StartWith("changed: the external endpoint changed from 1.2.3.4:8004 to 1.2.3.4:8005"));
            });

            igd.ExternalAddress = "5.6.7.8"; // a new public address
            Assert.That(await WaitUntilAsync(() => lease.ExternalAddress?.ToString() == "5.6.7.8", TimeSpan.FromSeconds(30)), Is.True);
            Assert.That(await WaitUntilAsync(() => events.Any(e => e.Contains("to 5.6.7.8:8005", StringComparison.Ordinal)), TimeSpan.FromSeconds(30)), Is.True);
        }
        finally
        {
            await lease.DisposeAsync();
        }
        Assert.That(igd.Mappings.Keys, Is.EqualTo(new[] { ("TCP", 8004) }), "only the other host's mapping is left");
    }

    [Test]
    public async Task AnUnreachableRouterIsALossAndItsReturnARestore()
    {
        using var igd = new FakeRouter();
        var lease = await (await OpenAsync(igd)).LeaseMappingAsync(Fast(8006));
        var events = new ConcurrentQueue<string>();
        lease.Lost += (_, e) => events.Enqueue("lost");
        lease.Restored += (_, e) => events.Enqueue("restored");
        try
        {
            igd.Down = true;
            Assert.That(await WaitUntilAsync(() => lease.Status == GatewayLeaseStatus.Lost, TimeSpan.FromSeconds(30)), Is.True);
            Assert.That(await WaitUntilAsync(() => lease.ConsecutiveFailures >= 3, TimeSpan.FromSeconds(30)), Is.True, "keeps trying, with backoff");
            igd.Down = false;
            Assert.That(await WaitUntilAsync(() => lease.Status == GatewayLeaseStatus.Active, TimeSpan.FromSeconds(30)), Is.True);
            Assert.That(events, Is.EqualTo(new[] { "lost", "restored" }));
        }
        finally
        {
            await lease.DisposeAsync();
        }
        Assert.That(igd.Mappings, Is.Empty);
    }

    [Test]
    public async Task ARouterBackAtAnotherAddressIsFollowedWhenItIsTheSameDevice([Values(true, false)] bool sameDevice)
    {
        using var before = new FakeRouter(IPAddress.Loopback) { Uuid = "router-1" };
        using var after = new FakeRouter(IPAddress.Parse("127.0.0.2")) { Uuid = sameDevice ? "router-1" : "someone-else" };
        after.Down = true; // not there yet
        // Discovered (so its SSDP uuid is known), with a search that also reaches where it will come back.
        var gateway = await UpnpGateway.DiscoverAsync(LoopbackOptions(before, after));
        Assert.That(gateway.RootDescriptionUrl, Is.EqualTo(before.RootUrl));
        var lease = await gateway.LeaseMappingAsync(Fast(8011));
        try
        {
            before.Down = true; // the router restarts at another address
            after.Down = false;
            bool followed = await WaitUntilAsync(() => lease.RestoreCount == 1, TimeSpan.FromSeconds(sameDevice ? 30 : 3));
            if (sameDevice)
            {
                Assert.That(followed, Is.True, $"restored at the new address (last error: {lease.LastError?.Message})");
                Assert.That(lease.Gateway.RootDescriptionUrl, Is.EqualTo(after.RootUrl));
                Assert.That(after.Mappings.Keys, Has.Member(("TCP", lease.ExternalPort)));
            }
            else
            {
                Assert.That(followed, Is.False, "another device at another address is not taken for the router");
                Assert.That(lease.Status, Is.EqualTo(GatewayLeaseStatus.Lost));
                Assert.That(lease.LastError?.Message, Does.Contain("not the same device"));
                Assert.That(after.Mappings, Is.Empty);
            }
        }
        finally
        {
            await lease.DisposeAsync();
        }
    }

    [Test]
    public async Task DisposeNeverThrowsAndIsBoundedWhenTheRouterIsGone()
    {
        var igd = new FakeRouter();
        var lease = await (await OpenAsync(igd)).LeaseMappingAsync(Fast(8007));
        using (igd.Hang())
        {
            // The router answers nothing until the hang is released, after this block: a dispose that ends here is
            // bounded by its DisposeTimeout (3 s), not by the router. The 60 s only keeps a regression from hanging the run.
            var dispose = lease.DisposeAsync().AsTask();
            Assert.That(async () => await dispose.WaitAsync(TimeSpan.FromSeconds(60)), Throws.Nothing, "ended while the router still hung");
            Assert.Multiple(() =>
            {
                Assert.That(lease.Status, Is.EqualTo(GatewayLeaseStatus.Disposed));
                Assert.That(lease.LastError, Is.Not.Null);
            });
        }
        igd.Dispose();
        await lease.DisposeAsync(); // again: the same completed task
    }

    [Test]
    public async Task TheSweepRemovesOnlyThisHostsMappingsWithTheDescription()
    {
        using var igd = new FakeRouter();
        igd.SetMapping("TCP", 8100, new FakeRouter.Mapping("127.0.0.1", 8100, "fake lease", 0, ""));
        igd.SetMapping("UDP", 8101, new FakeRouter.Mapping("127.0.0.1", 8101, "fake lease", 0, ""));
        igd.SetMapping("TCP", 8102, new FakeRouter.Mapping("127.0.0.1", 8102, "another app", 0, ""));
        igd.SetMapping("TCP", 8103, new FakeRouter.Mapping("127.0.0.9", 8103, "fake lease", 0, ""));
        var options = Fast(8104) with { SweepStaleMappings = true };
        await using (var lease = await (await OpenAsync(igd)).LeaseMappingAsync(options))
        {
            Assert.That(lease.SweptMappings, Is.EqualTo(2));
            Assert.That(igd.Mappings.Keys, Is.EquivalentTo(new[] { ("TCP", 8102), ("TCP", 8103), ("TCP", 8104) }));
        }
    }

    [Test]
    public async Task APinholeLeaseRenewsReopensWhenGoneAndClosesOnDispose()
    {
        using var igd = new FakeRouter();
        var gateway = await OpenAsync(igd);
        var lease = await gateway.LeasePinholeAsync(new PinholeLeaseOptions(Tcp, 5000)
        {
            InternalClient = IPAddress.Parse("fd00::2"),
            LeaseDuration = TimeSpan.FromSeconds(2),
            CheckInterval = TimeSpan.FromMilliseconds(200),
            RetryDelay = TimeSpan.FromMilliseconds(100),
        });
        try
        {
            int first = lease.UniqueId;
            Assert.That(lease.ExternalEndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Parse("fd00::2"), 5000)));
            Assert.That(await WaitUntilAsync(() => lease.RenewalCount >= 1, TimeSpan.FromSeconds(30)), Is.True);
            igd.ClearPinholes();
            Assert.That(await WaitUntilAsync(() => lease.RestoreCount == 1, TimeSpan.FromSeconds(30)), Is.True);
            Assert.That(lease.UniqueId, Is.Not.EqualTo(first));
        }
        finally
        {
            await lease.DisposeAsync();
        }
        Assert.That(igd.PinholeCount, Is.Zero);
    }
}
