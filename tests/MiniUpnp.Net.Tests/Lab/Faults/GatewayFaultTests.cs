using System;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using MiniUpnp.Net.Tests.Lab.Gateway;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Lab.Faults;

/// <summary>
/// The async layer (<see cref="UpnpGateway"/>) when the router fails: miniupnpd killed in the middle of calls,
/// restarted between calls, the lan link down and up. While the router is gone every operation ends within a bound
/// with <see cref="UpnpException"/> (miniupnpc's code and text) or, when the router holds it longer than the gateway's
/// <see cref="UpnpGateway.OperationTimeout"/>, <see cref="TimeoutException"/> at that timeout; the native call the
/// caller stopped waiting for ends on its own. Once the router is back the same <see cref="UpnpGateway"/> object
/// serves again (it is a snapshot of URLs: nothing to reopen), and nothing is left behind.
/// </summary>
public class GatewayFaultTests
{
    private static readonly TimeSpan RefusedBound = TimeSpan.FromSeconds(1.5);
    private static readonly TimeSpan ResetBound = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan NoCarrierBound = TimeSpan.FromSeconds(5);
    // The short timeout of the "quick" gateway, and how late past it its caller may be resumed.
    private static readonly TimeSpan QuickTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan TimeoutSlack = TimeSpan.FromSeconds(1);

    private const PortMappingProtocol Tcp = PortMappingProtocol.Tcp;
    private const int Port = 46200; // this fixture's external ports: 46200-46209

    private UpnpGateway _gateway = null!;
    private UpnpGateway _quick = null!;

    [SetUp]
    public async Task OpenTheLabGateway()
    {
        LabEnvironment.Require();
        _gateway = await GatewayLab.OpenAsync(operationTimeout: TimeSpan.FromSeconds(5));
        _quick = await GatewayLab.OpenAsync(operationTimeout: QuickTimeout);
    }

    [TearDown]
    public async Task CleanUp()
    {
        LabEnvironment.LabSh("thaw-igd");
        LabEnvironment.LabSh("start-igd");
        LabEnvironment.LabSh("link-up lan");
        LabEnvironment.LabSh("link-up igd");
        var cleaner = await GatewayLab.OpenAsync();
        for (int p = Port; p < Port + 10; p++)
        {
            await GatewayLab.TryDeleteAsync(cleaner, Tcp, p);
        }
    }

    private static (string, Func<Task<object?>>)[] Operations(UpnpGateway g) => new (string, Func<Task<object?>>)[]
    {
        ("GetStatusAsync", async () => await g.GetStatusAsync()),
        ("GetExternalAddressAsync", async () => await g.GetExternalAddressAsync()),
        ("CheckStateAsync", async () => await g.CheckStateAsync()),
        ("AddMappingAsync", async () => { await g.AddMappingAsync(new PortMappingRequest(Tcp, 4621) { ExternalPort = Port + 1, LeaseDuration = TimeSpan.FromSeconds(600), Description = "fault" }); return null; }),
        ("AddAnyMappingAsync", async () => await g.AddAnyMappingAsync(new PortMappingRequest(Tcp, 4622) { ExternalPort = Port + 2, LeaseDuration = TimeSpan.FromSeconds(600), Description = "fault" })),
        ("DeleteMappingAsync", async () => { await g.DeleteMappingAsync(Tcp, Port + 3); return null; }),
        ("DeleteMappingRangeAsync", async () => { await g.DeleteMappingRangeAsync(Tcp, Port + 4, Port + 5); return null; }),
        ("GetMappingAsync", async () => await g.GetMappingAsync(Tcp, Port)),
        ("ListMappingsAsync", async () => await g.ListMappingsAsync()),
        ("ListMappingsAsync(EntryByEntry)", async () => await g.ListMappingsAsync(PortMappingListMethod.EntryByEntry)),
    };

    private static async Task<Outcome> TimedAsync(Stopwatch clock, string member, Func<Task<object?>> call)
    {
        await Task.Yield();
        long start = clock.ElapsedMilliseconds;
        try
        {
            object? value = await call();
            return new Outcome(member, value, null, start, clock.ElapsedMilliseconds);
        }
        catch (Exception e)
        {
            return new Outcome(member, null, e, start, clock.ElapsedMilliseconds);
        }
    }

    private static Task<Outcome[]> RunAsync(Stopwatch clock, params (string Member, Func<Task<object?>> Call)[] calls) =>
        Task.WhenAll(calls.Select(c => TimedAsync(clock, c.Member, c.Call))).WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>The documented outcome of each operation while the router cannot be reached.</summary>
    private static void AssertGone(Outcome o, TimeSpan bound)
    {
        Assert.That(o.Ms, Is.LessThanOrEqualTo((long)bound.TotalMilliseconds), $"{o} (bound {bound.TotalMilliseconds} ms)");
        switch (o.Member)
        {
            case "CheckStateAsync":
                // Documented: a status that cannot be read is "not connected".
                Assert.That((o.Error, o.Value), Is.EqualTo(((Exception?)null, (object?)GatewayState.NotConnected)), o.ToString());
                break;
            case "OpenAsync":
                Assert.That(o.Error, Is.TypeOf<UpnpException>(), o.ToString());
                Assert.That(((UpnpException)o.Error!).ErrorCode, Is.EqualTo(UpnpErrorCode.HttpError), o.ToString());
                Assert.That(o.Error.Message, Does.Contain(LabEnvironment.RootDescUrl), o.ToString());
                break;
            case "DiscoverAsync":
                Assert.That(o.Error, Is.TypeOf<UpnpException>(), o.ToString());
                Assert.That(((UpnpException)o.Error!).Code, Is.EqualTo(Miniupnpc.UPNP_NO_IGD), o.ToString());
                Assert.That(o.Error.Message, Does.StartWith("no answer to the SSDP search"), o.ToString());
                break;
            default:
                Assert.That(o.Error, Is.TypeOf<UpnpException>(), o.ToString());
                var e = (UpnpException)o.Error!;
                Assert.That(e.Code, Is.InRange(-5, -1), $"a miniupnpc code, not a router's: {o}");
                Assert.That(e.Message, Is.EqualTo(Miniupnpc.strupnperror(e.Code)), o.ToString());
                break;
        }
    }

    private static void AssertTimedOut(Outcome o, TimeSpan timeout)
    {
        Assert.That(o.Error, Is.TypeOf<TimeoutException>(), o.ToString());
        Assert.That(o.Ms, Is.InRange((long)timeout.TotalMilliseconds - 50, (long)(timeout + TimeoutSlack).TotalMilliseconds), o.ToString());
    }

    private static async Task AssertMappingRoundTripAsync(UpnpGateway g)
    {
        await g.AddMappingAsync(new PortMappingRequest(Tcp, 4629) { ExternalPort = Port + 9, LeaseDuration = TimeSpan.FromSeconds(600), Description = "after the fault" });
        var m = await g.GetMappingAsync(Tcp, Port + 9);
        Assert.That((m?.InternalClient, m?.InternalPort, m?.Description), Is.EqualTo((GatewayLab.Lan, 4629, "after the fault")));
        await g.DeleteMappingAsync(Tcp, Port + 9);
        Assert.That(await g.GetMappingAsync(Tcp, Port + 9), Is.Null);
        Assert.That(await g.GetExternalAddressAsync(), Is.EqualTo(IPAddress.Parse(LabEnvironment.IgdWanAddr)));
    }

    private static async Task<long> MsUntilServedAsync(UpnpGateway g, TimeSpan bound)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if ((await g.GetStatusAsync()).IsConnected)
                {
                    return watch.ElapsedMilliseconds;
                }
            }
            catch (Exception e) when (e is UpnpException or TimeoutException && watch.Elapsed < bound)
            {
            }
            Assert.That(watch.Elapsed, Is.LessThan(bound), "no service within the bound");
            await Task.Delay(20);
        }
    }

    /// <summary>Every operation once against the router and once against a closed port, and a lab.sh verb, before the
    /// baseline: the runtime's one-off allocations are made by then.</summary>
    private async Task WarmUpAsync()
    {
        await RunAsync(Stopwatch.StartNew(), Operations(_gateway));
        var refused = await RunAsync(Stopwatch.StartNew(),
            ("OpenAsync", async () => await UpnpGateway.OpenAsync(new Uri("http://127.0.0.1:1/rootDesc.xml"), GatewayLab.Options())));
        Assert.That(refused[0].Error, Is.TypeOf<UpnpException>(), refused[0].ToString());
        await GatewayLab.TryDeleteAsync(_gateway, Tcp, Port + 1);
        await GatewayLab.TryDeleteAsync(_gateway, Tcp, Port + 2);
        Assert.That(LabEnvironment.LabSh("status").Code, Is.EqualTo(0));
    }

    [Test]
    public async Task KilledInTheMiddleOfCallsEachEndsWithAClearErrorAndTheSameGatewayWorksAfterARestart()
    {
        using var unobserved = new UnobservedTaskExceptions();
        await _gateway.AddMappingAsync(new PortMappingRequest(Tcp, 4620) { ExternalPort = Port, LeaseDuration = TimeSpan.FromSeconds(600), Description = "held" });
        await WarmUpAsync();
        var baseline = await ProcessResources.SettledAsync(TimeSpan.FromSeconds(10));

        // A frozen router holds four requests (RouterSlots.PerRouter, the most this process sends one router at a time):
        // three on the 5 s gateway, one on the 1 s one, which times out while frozen.
        var clock = Stopwatch.StartNew();
        Router.Freeze();
        var held = Operations(_gateway).Where(o => o.Item1 is "GetStatusAsync" or "AddMappingAsync" or "GetMappingAsync")
            .Select(o => TimedAsync(clock, o.Item1, o.Item2)).ToArray();
        var quick = TimedAsync(clock, "GetStatusAsync (1 s timeout)", async () => await _quick.GetStatusAsync());
        Router.WaitForRequests(held.Length + 1);
        var hung = await quick.WaitAsync(TimeSpan.FromSeconds(10));
        TestContext.Out.WriteLine($"router frozen: {hung}; native calls in flight {NativeThreads.InFlight}");
        AssertTimedOut(hung, QuickTimeout);
        Assert.That(NativeThreads.InFlight, Is.GreaterThanOrEqualTo(held.Length + 1), "the timed-out call still runs, abandoned");

        long killedAt = clock.ElapsedMilliseconds;
        long killMs = Router.Timed(Router.Kill);
        var midCall = await Task.WhenAll(held).WaitAsync(TimeSpan.FromSeconds(30));
        Calls.Print($"killed in the middle of {midCall.Length} calls (kill-igd took {killMs} ms); ends, counted from the kill:",
            midCall.Select(o => o with { StartMs = killedAt }));
        Assert.Multiple(() =>
        {
            foreach (var o in midCall)
            {
                AssertGone(o with { StartMs = killedAt }, ResetBound);
            }
        });

        var gone = await RunAsync(clock, Operations(_gateway)
            .Append(("OpenAsync", async () => await UpnpGateway.OpenAsync(new Uri(LabEnvironment.RootDescUrl), GatewayLab.Options())))
            .Append(("DiscoverAsync", async () => await UpnpGateway.DiscoverAsync(GatewayLab.Options(timeout: TimeSpan.FromSeconds(1)))))
            .ToArray());
        Calls.Print("while the router is gone:", gone);
        Assert.Multiple(() =>
        {
            foreach (var o in gone)
            {
                AssertGone(o, o.Member == "DiscoverAsync" ? TimeSpan.FromSeconds(1) + RefusedBound : RefusedBound);
            }
        });

        // Failing operations leak nothing: rounds of them (all at once in each round) must not grow the C heap.
        var operations = Operations(_gateway);
        await ProcessResources.AssertHeapQuietAsync("operations refused by the killed router", operations.Length,
            () => RunAsync(clock, operations));

        long startMs = Router.Timed(Router.Start);
        long servedMs = await MsUntilServedAsync(_gateway, TimeSpan.FromSeconds(10));
        TestContext.Out.WriteLine($"start-igd took {startMs} ms; the same UpnpGateway served {servedMs} ms after it returned");
        await AssertMappingRoundTripAsync(_gateway);
        await AssertMappingRoundTripAsync(_quick);
        Assert.That((await _gateway.GetMappingAsync(Tcp, Port))?.InternalPort, Is.EqualTo(4620), "the mapping made before the crash is still there");
        // Discovery finds it again (and, like the failed search above, leaves no unobserved task exception behind).
        Assert.That((await UpnpGateway.DiscoverAsync(GatewayLab.Options())).RootDescriptionUrl, Is.EqualTo(new Uri(LabEnvironment.RootDescUrl)));
        await _gateway.DeleteMappingAsync(Tcp, Port);
        await GatewayLab.TryDeleteAsync(_gateway, Tcp, Port + 1);
        await GatewayLab.TryDeleteAsync(_gateway, Tcp, Port + 2);

        (await ProcessResources.SettledAsync(TimeSpan.FromSeconds(10))).AssertNothingLeakedSince(baseline, "after the crash and restart");
        Assert.That(unobserved.Collect(), Is.Empty, "unobserved task exceptions");
    }

    [Test]
    public async Task RestartedBetweenCallsTheNextCallOnTheSameGatewayWorks()
    {
        await WarmUpAsync();
        var baseline = await ProcessResources.SettledAsync(TimeSpan.FromSeconds(10));
        await _gateway.AddMappingAsync(new PortMappingRequest(Tcp, 4620) { ExternalPort = Port, LeaseDuration = TimeSpan.FromSeconds(600), Description = "before the restart" });

        long restartMs = Router.Timed(Router.Restart);
        var watch = Stopwatch.StartNew();
        var status = await _gateway.GetStatusAsync();
        long firstCallMs = watch.ElapsedMilliseconds;
        TestContext.Out.WriteLine($"restart-igd took {restartMs} ms; the first call after it: {status} in {firstCallMs} ms");
        Assert.That(status.IsConnected, Is.True);
        Assert.That((await _gateway.GetMappingAsync(Tcp, Port))?.Description, Is.EqualTo("before the restart"));
        await AssertMappingRoundTripAsync(_gateway);
        await _gateway.DeleteMappingAsync(Tcp, Port);

        (await ProcessResources.SettledAsync(TimeSpan.FromSeconds(10))).AssertNothingLeakedSince(baseline, "after the restart");
    }

    [Test]
    public async Task TheLanLinkDownAndUpGivesClearErrorsThenNormalService([Values("lan", "igd")] string side)
    {
        using var unobserved = new UnobservedTaskExceptions();
        await WarmUpAsync();
        var baseline = await ProcessResources.SettledAsync(TimeSpan.FromSeconds(10));

        Router.LinkDown(side);
        var clock = Stopwatch.StartNew();
        var down = await RunAsync(clock, Operations(_gateway)
            .Append(("GetStatusAsync (1 s timeout)", async () => await _quick.GetStatusAsync()))
            .Append(("OpenAsync", async () => await UpnpGateway.OpenAsync(new Uri(LabEnvironment.RootDescUrl), GatewayLab.Options())))
            .ToArray());
        Calls.Print($"with the link down at the {side} end:", down);
        Assert.Multiple(() =>
        {
            foreach (var o in down)
            {
                if (o.Member.EndsWith("(1 s timeout)", StringComparison.Ordinal) && side == "igd")
                {
                    AssertTimedOut(o, QuickTimeout); // the router's end has no carrier: connect() takes 3 s
                }
                else if (side == "igd" && o.Error is TimeoutException)
                {
                    // Each call at the router takes connect()'s 3 s, four at a time (RouterSlots): the later ones wait
                    // for a slot (or get one too late) and reach their 5 s timeout first, as documented.
                    AssertTimedOut(o, TimeSpan.FromSeconds(5));
                }
                else
                {
                    AssertGone(o, side == "lan" ? RefusedBound : NoCarrierBound);
                }
            }
        });

        if (side == "lan")
        {
            // No route: every operation fails at once, so rounds of them can be sampled.
            var operations = Operations(_gateway);
            await ProcessResources.AssertHeapQuietAsync("operations failing without a route", operations.Length,
                () => RunAsync(clock, operations), warmUp: 30, rounds: 100);
        }

        long upMs = Router.Timed(() => Router.LinkUp(side));
        long servedMs = await MsUntilServedAsync(_gateway, TimeSpan.FromSeconds(10));
        TestContext.Out.WriteLine($"link-up took {upMs} ms; the same UpnpGateway served {servedMs} ms after it returned");
        await AssertMappingRoundTripAsync(_gateway);
        await AssertMappingRoundTripAsync(_quick);

        (await ProcessResources.SettledAsync(TimeSpan.FromSeconds(10))).AssertNothingLeakedSince(baseline, $"after the link flap ({side} end)");
        Assert.That(unobserved.Collect(), Is.Empty, "unobserved task exceptions");
    }
}
