using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Lab.Faults;

/// <summary>
/// The Python-shaped <see cref="UPnP"/> when the router fails: miniupnpd killed in the middle of calls, restarted
/// between calls, the lan link down and up. While the router is gone every member ends within a bound with the error
/// Python's module would report (an <see cref="UpnpException"/> with miniupnpc's code and text; None for the two
/// listing getters; a negative code's bits for the counters); once it is back the same object serves normally; and
/// nothing is left behind (descriptors, C heap, handles).
/// </summary>
public class PortFaultTests
{
    // Bounds on how long one call may take while the router is gone (not performance figures: a call outliving them
    // waits on something it should not). Connection refused and reset are immediate; without carrier, connect() fails
    // when ARP gives up or miniupnpc's own 3 s connect timeout ends, whichever is first.
    private static readonly TimeSpan RefusedBound = TimeSpan.FromSeconds(1.5);
    private static readonly TimeSpan ResetBound = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan NoCarrierBound = TimeSpan.FromSeconds(5);
    // Nothing answering, miniupnpc waits the delay (at least 1 s) once per search target: four of them.
    private static readonly TimeSpan DiscoverBound = TimeSpan.FromSeconds(4 + 2);

    private const int Port = 46100; // this fixture's external ports: 46100-46109

    private UPnP _upnp = null!;

    [SetUp]
    public void SelectTheLabIgd()
    {
        LabEnvironment.Require();
        _upnp = new UPnP();
        _upnp.SelectIgd(LabEnvironment.RootDescUrl);
    }

    [TearDown]
    public void CleanUp()
    {
        // The router is back whatever happened (a failed test must not break the next one), and holds nothing of ours.
        LabEnvironment.LabSh("thaw-igd");
        LabEnvironment.LabSh("start-igd");
        LabEnvironment.LabSh("link-up lan");
        LabEnvironment.LabSh("link-up igd");
        using var cleaner = new UPnP();
        cleaner.SelectIgd(LabEnvironment.RootDescUrl);
        for (int p = Port; p < Port + 10; p++)
        {
            cleaner.DeletePortMapping(p, "TCP");
        }
        _upnp?.Dispose();
    }

    /// <summary>Every member but Discover and SelectIgd (which replace the object's state: see the kill test).</summary>
    private (string, Func<object?>)[] Commands(UPnP u) => new (string, Func<object?>)[]
    {
        ("StatusInfo", () => u.StatusInfo()),
        ("ConnectionType", () => u.ConnectionType()),
        ("ExternalIpAddress", () => u.ExternalIpAddress()),
        ("AddPortMapping", () => u.AddPortMapping(Port + 1, "TCP", LabEnvironment.LanAddr, 4601, "fault", null, 600)),
        ("AddAnyPortMapping", () => u.AddAnyPortMapping(Port + 2, "TCP", LabEnvironment.LanAddr, 4602, "fault", null)),
        ("DeletePortMapping", () => u.DeletePortMapping(Port + 3, "TCP")),
        ("DeletePortMappingRange", () => u.DeletePortMappingRange(Port + 4, Port + 5, "TCP", 0)),
        ("GetPortMappingNumberOfEntries", () => u.GetPortMappingNumberOfEntries()),
        ("GetSpecificPortMapping", () => u.GetSpecificPortMapping(Port, "TCP")),
        ("GetGenericPortMapping", () => u.GetGenericPortMapping(0)),
        ("TotalByteSent", () => u.TotalByteSent()),
        ("TotalByteReceived", () => u.TotalByteReceived()),
        ("TotalPacketSent", () => u.TotalPacketSent()),
        ("TotalPacketReceived", () => u.TotalPacketReceived()),
    };

    /// <summary>What Python's module reports for each member when the router cannot be reached.</summary>
    private static void AssertGone(Outcome o, TimeSpan bound)
    {
        Assert.That(o.Ms, Is.LessThanOrEqualTo((long)bound.TotalMilliseconds), $"{o} (bound {bound.TotalMilliseconds} ms)");
        switch (o.Member)
        {
            case "GetSpecificPortMapping" or "GetGenericPortMapping":
                // Python returns None for "no such entry" and for a failed call alike.
                Assert.That((o.Error, o.Value), Is.EqualTo(((Exception?)null, (object?)null)), o.ToString());
                break;
            case "TotalByteSent" or "TotalByteReceived" or "TotalPacketSent" or "TotalPacketReceived":
                // Python's "I" of the C function's result: a negative miniupnpc code, cut to 32 bits.
                Assert.That(o.Error, Is.Null, o.ToString());
                Assert.That(unchecked((int)(uint)o.Value!), Is.InRange(-5, -1), o.ToString());
                break;
            case "SelectIgd":
                Assert.That(o.Error, Is.TypeOf<UpnpException>(), o.ToString());
                Assert.That((((UpnpException)o.Error!).Code, o.Error!.Message), Is.EqualTo((0, "No UPnP device discovered")));
                break;
            case "Discover":
                // No device answered: Python raises Exception(strupnperror(error)) with the error upnpDiscover left.
                Assert.That(o.Error, Is.TypeOf<UpnpException>(), o.ToString());
                Assert.That(o.Error!.Message, Is.EqualTo(Miniupnpc.strupnperror(((UpnpException)o.Error).Code)));
                break;
            default:
                Assert.That(o.Error, Is.TypeOf<UpnpException>(), o.ToString());
                var e = (UpnpException)o.Error!;
                Assert.That(e.Code, Is.InRange(-5, -1), $"a miniupnpc code, not a router's: {o}");
                Assert.That(e.Message, Is.EqualTo(Miniupnpc.strupnperror(e.Code)).And.Not.Empty, o.ToString());
                break;
        }
    }

    /// <summary>Normal service on the same object: a mapping round trip.</summary>
    private void AssertMappingRoundTrip(UPnP u)
    {
        Assert.That(u.AddPortMapping(Port + 9, "TCP", LabEnvironment.LanAddr, 4609, "after the fault", null, 600), Is.True);
        var m = u.GetSpecificPortMapping(Port + 9, "TCP");
        Assert.That((m?.InternalClient, m?.InternalPort, m?.Description), Is.EqualTo((LabEnvironment.LanAddr, (ushort)4609, "after the fault")));
        Assert.That(u.DeletePortMapping(Port + 9, "TCP"), Is.True);
        Assert.That(u.GetSpecificPortMapping(Port + 9, "TCP"), Is.Null);
        Assert.That(u.ExternalIpAddress(), Is.EqualTo(LabEnvironment.IgdWanAddr));
    }

    /// <summary>Polls (bounded) until <paramref name="call"/> succeeds; returns the milliseconds it took.</summary>
    private static long MsUntilServed(Func<bool> call, TimeSpan bound)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (call())
                {
                    return watch.ElapsedMilliseconds;
                }
            }
            catch (UpnpException) when (watch.Elapsed < bound)
            {
            }
            Assert.That(watch.Elapsed, Is.LessThan(bound), "no service within the bound");
            Thread.Sleep(20);
        }
    }

    /// <summary>The same calls as the test makes, once each, against a closed port and the router: the runtime's
    /// one-off allocations (thread start, first P/Invoke, Process for lab.sh) happen before the baseline.</summary>
    private void WarmUp()
    {
        using (var refused = new UPnP())
        {
            Assert.Throws<UpnpException>(() => refused.SelectIgd("http://127.0.0.1:1/rootDesc.xml"));
            foreach (var (_, call) in Commands(refused))
            {
                try
                {
                    call();
                }
                catch (UpnpException)
                {
                }
            }
        }
        Calls.Run(Stopwatch.StartNew(), TimeSpan.FromSeconds(30), Commands(_upnp));
        _upnp.DeletePortMapping(Port + 1, "TCP");
        _upnp.DeletePortMapping(Port + 2, "TCP");
        Assert.That(LabEnvironment.LabSh("status").Code, Is.EqualTo(0));
    }

    [Test]
    public async Task KilledInTheMiddleOfCallsEachEndsWithAClearErrorAndTheSameObjectWorksAfterARestart()
    {
        _upnp.AddPortMapping(Port, "TCP", LabEnvironment.LanAddr, 4600, "held", null, 600);
        // Discover and SelectIgd replace the object's state, and wait for each other: an object of their own each.
        using var discoverer = new UPnP(discoverdelay: 1000);
        using var selector = new UPnP();
        selector.SelectIgd(LabEnvironment.RootDescUrl);
        WarmUp();
        var baseline = await ProcessResources.SettledAsync(TimeSpan.FromSeconds(10));

        // In the middle: the router is frozen, five requests reach it (the kernel accepts them; nobody reads them),
        // then it is killed and the kernel resets them.
        var clock = Stopwatch.StartNew();
        Router.Freeze();
        var held = Calls.Start(clock,
            ("StatusInfo", () => _upnp.StatusInfo()),
            ("ExternalIpAddress", () => _upnp.ExternalIpAddress()),
            ("AddPortMapping", () => _upnp.AddPortMapping(Port + 1, "TCP", LabEnvironment.LanAddr, 4601, "fault", null, 600)),
            ("GetSpecificPortMapping", () => _upnp.GetSpecificPortMapping(Port, "TCP")),
            ("GetGenericPortMapping", () => _upnp.GetGenericPortMapping(0)));
        Router.WaitForRequests(held.Length);
        long killedAt = clock.ElapsedMilliseconds;
        long killMs = Router.Timed(Router.Kill);
        var midCall = Calls.Join(held, TimeSpan.FromSeconds(30));
        Calls.Print($"killed in the middle of {midCall.Length} calls (kill-igd took {killMs} ms); ends, counted from the kill:",
            midCall.Select(o => o with { StartMs = killedAt }));
        Assert.Multiple(() =>
        {
            foreach (var o in midCall)
            {
                AssertGone(o with { StartMs = killedAt }, ResetBound);
            }
        });

        // Gone: every member at once, each on its own thread.
        var gone = Calls.Run(clock, TimeSpan.FromSeconds(30), Commands(_upnp)
            .Append(("Discover", () => discoverer.Discover()))
            .Append(("SelectIgd", () => selector.SelectIgd(LabEnvironment.RootDescUrl))).ToArray());
        Calls.Print("while the router is gone:", gone);
        Assert.Multiple(() =>
        {
            foreach (var o in gone)
            {
                AssertGone(o, o.Member == "Discover" ? DiscoverBound : RefusedBound);
            }
        });

        // Failing calls leak nothing: rounds of them must not grow the C heap.
        var commands = Commands(_upnp);
        await ProcessResources.AssertHeapQuietAsync("calls refused by the killed router", commands.Length, () =>
        {
            foreach (var (_, call) in commands)
            {
                try
                {
                    call();
                }
                catch (UpnpException)
                {
                }
            }
            return Task.CompletedTask;
        });

        // Back: the same object serves at once (same control URL). A SelectIgd that failed while the router was gone
        // kept, as in Python, its empty result: that object must select again (and Discover again for SelectIgd()).
        long startMs = Router.Timed(Router.Start);
        long servedMs = MsUntilServed(() => _upnp.StatusInfo().Status == "Connected", TimeSpan.FromSeconds(10));
        TestContext.Out.WriteLine($"start-igd took {startMs} ms; the same UPnP object served {servedMs} ms after it returned");
        AssertMappingRoundTrip(_upnp);
        Assert.That(_upnp.GetSpecificPortMapping(Port, "TCP")?.InternalPort, Is.EqualTo(4600),
            "the mapping made before the crash is still there (miniupnpd finds its nft rules)");
        Assert.That(Assert.Throws<UpnpException>(() => selector.StatusInfo())!.Code, Is.InRange(-5, -1),
            "no control URL since the failed SelectIgd");
        Assert.That(selector.SelectIgd(LabEnvironment.RootDescUrl), Does.StartWith("http://"));
        Assert.That(selector.StatusInfo().Status, Is.EqualTo("Connected"));
        Assert.That(discoverer.Discover(), Is.GreaterThanOrEqualTo(1));
        Assert.That(discoverer.SelectIgd(), Does.StartWith("http://"));
        _upnp.DeletePortMapping(Port, "TCP");
        _upnp.DeletePortMapping(Port + 1, "TCP");
        _upnp.DeletePortMapping(Port + 2, "TCP");

        (await ProcessResources.SettledAsync(TimeSpan.FromSeconds(10))).AssertNothingLeakedSince(baseline, "after the crash and restart");
    }

    [Test]
    public async Task RestartedBetweenCallsTheNextCallOnTheSameObjectWorks()
    {
        WarmUp();
        var baseline = await ProcessResources.SettledAsync(TimeSpan.FromSeconds(10));
        _upnp.AddPortMapping(Port, "TCP", LabEnvironment.LanAddr, 4600, "before the restart", null, 600);

        long restartMs = Router.Timed(Router.Restart);
        var watch = Stopwatch.StartNew();
        var status = _upnp.StatusInfo();
        long firstCallMs = watch.ElapsedMilliseconds;
        TestContext.Out.WriteLine($"restart-igd took {restartMs} ms; the first call after it: {status} in {firstCallMs} ms");
        Assert.That(status.Status, Is.EqualTo("Connected"));
        // miniupnpd re-reads its nft rules: the mapping is still there, without its lease time (README of the lab).
        Assert.That(_upnp.GetSpecificPortMapping(Port, "TCP")?.Description, Is.EqualTo("before the restart"));
        AssertMappingRoundTrip(_upnp);
        _upnp.DeletePortMapping(Port, "TCP");
        Assert.That(_upnp.GetSpecificPortMapping(Port, "TCP"), Is.Null);

        (await ProcessResources.SettledAsync(TimeSpan.FromSeconds(10))).AssertNothingLeakedSince(baseline, "after the restart");
    }

    [Test]
    public async Task TheLanLinkDownAndUpGivesClearErrorsThenNormalService([Values("lan", "igd")] string side)
    {
        WarmUp();
        var baseline = await ProcessResources.SettledAsync(TimeSpan.FromSeconds(10));

        Router.LinkDown(side);
        var clock = Stopwatch.StartNew();
        var down = Calls.Run(clock, TimeSpan.FromSeconds(30), Commands(_upnp));
        Calls.Print($"with the link down at the {side} end:", down);
        Assert.Multiple(() =>
        {
            foreach (var o in down)
            {
                AssertGone(o, side == "lan" ? RefusedBound : NoCarrierBound);
            }
        });

        if (side == "lan")
        {
            // No route: every call fails at once, so rounds of them can be sampled.
            var commands = Commands(_upnp);
            await ProcessResources.AssertHeapQuietAsync("calls failing without a route", commands.Length, () =>
            {
                foreach (var (_, call) in commands)
                {
                    try
                    {
                        call();
                    }
                    catch (UpnpException)
                    {
                    }
                }
                return Task.CompletedTask;
            }, warmUp: 30, rounds: 100);
        }

        long upMs = Router.Timed(() => Router.LinkUp(side));
        long servedMs = MsUntilServed(() => _upnp.StatusInfo().Status == "Connected", TimeSpan.FromSeconds(10));
        TestContext.Out.WriteLine($"link-up took {upMs} ms; the same UPnP object served {servedMs} ms after it returned");
        AssertMappingRoundTrip(_upnp);

        (await ProcessResources.SettledAsync(TimeSpan.FromSeconds(10))).AssertNothingLeakedSince(baseline, $"after the link flap ({side} end)");
    }
}
