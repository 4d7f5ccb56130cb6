using System;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Gateway;

/// <summary>
/// Discovery and the typed operations against <see cref="FakeRouter"/> on loopback (no multicast, no default gateway:
/// the search goes only to the fake's SSDP port on 127.0.0.1). miniupnpc does the HTTP and the parsing.
/// </summary>
public class FakeIgdDiscoveryTests
{
    internal static GatewayDiscoveryOptions LoopbackOnly(FakeRouter igd, TimeSpan? timeout = null) => LoopbackOnly(timeout, igd);

    /// <summary>A search that sends only to the fakes' SSDP ports on loopback (none: searches nothing).</summary>
    internal static GatewayDiscoveryOptions LoopbackOnly(TimeSpan? timeout, params FakeRouter[] igds)
    {
        var options = new GatewayDiscoveryOptions
        {
            SearchMulticast = false,
            SearchDefaultGateways = false,
            LocalAddress = IPAddress.Loopback,
            Timeout = timeout ?? TimeSpan.FromSeconds(3),
            OperationTimeout = TimeSpan.FromSeconds(3),
        };
        foreach (var igd in igds)
        {
            options.UnicastTargets.Add(igd.SsdpEndPoint);
        }
        return options;
    }

    [Test]
    public async Task DiscoveryReturnsOnTheFirstConnectedIgd()
    {
        using var igd = new FakeRouter();
        // A timeout far above anything a loaded machine takes (tens of ms here): ending before half of it can only be
        // the return on the first connected IGD, not the wait for the timeout.
        var options = LoopbackOnly(igd, TimeSpan.FromSeconds(60));
        var result = await GatewayDiscovery.DiscoverWithReportAsync(options);
        TestContext.Out.WriteLine($"{result.Elapsed.TotalMilliseconds:0} ms: {result.Reason}");
        Assert.Multiple(() =>
        {
            Assert.That(result.Gateway, Is.Not.Null, result.Reason);
            Assert.That(result.Elapsed, Is.LessThan(options.Timeout / 2), "did not wait out the timeout");
            Assert.That(result.State, Is.EqualTo(GatewayState.Connected));
            Assert.That(result.Gateway!.ExternalAddress, Is.EqualTo(IPAddress.Parse("1.2.3.4")));
            Assert.That(result.LocalAddress, Is.EqualTo(IPAddress.Loopback));
            Assert.That(result.Gateway.RootDescriptionUrl, Is.EqualTo(igd.RootUrl));
            Assert.That(result.Gateway.IsIgdV2, Is.True);
            Assert.That(result.Gateway.SupportsPinholes, Is.True);
            Assert.That(result.Reason, Does.Contain("connected IGD, public address 1.2.3.4"));
            Assert.That(result.Candidates, Has.Count.EqualTo(1));
            Assert.That(result.Candidates[0].Server, Is.EqualTo("Fake/1.0 UPnP/1.1 FakeRouter/1.0"));
            // The first wave asks for the first target only: a router answers every search and serves no HTTP meanwhile.
            Assert.That(igd.Searches, Is.EqualTo(new[] { GatewayDiscoveryOptions.DefaultSearchTargets[0] }));
        });
    }

    [Test]
    public async Task AnIgdAnsweringSeveralTargetsCountsOnce()
    {
        using var igd = new FakeRouter { AnsweredTargets = new() { "urn:schemas-upnp-org:service:WANIPConnection:1" } };
        // Nothing answers the first target: after 250 ms every target goes out.
        var options = LoopbackOnly(igd);
        options.SearchTargets.Insert(0, "urn:schemas-upnp-org:service:WANIPConnection:1");
        options.UnicastTargets.Add(igd.SsdpEndPoint); // twice: answered twice
        igd.AnsweredTargets = new() { "urn:schemas-upnp-org:service:WANIPConnection:1", "urn:schemas-upnp-org:device:InternetGatewayDevice:2" };
        var result = await GatewayDiscovery.DiscoverWithReportAsync(options);
        Assert.That(result.Candidates, Has.Count.EqualTo(1), result.Reason);
        Assert.That(result.Gateway, Is.Not.Null);
    }

    [Test]
    public async Task LaterWavesAskForEveryTargetWhenNothingAnswers()
    {
        using var igd = new FakeRouter { AnsweredTargets = new() { "urn:schemas-upnp-org:service:WANPPPConnection:1" } };
        var result = await GatewayDiscovery.DiscoverWithReportAsync(LoopbackOnly(igd));
        Assert.Multiple(() =>
        {
            Assert.That(result.Gateway, Is.Not.Null, result.Reason);
            Assert.That(result.Candidates.Single().SearchTargets, Is.EqualTo(new[] { "urn:schemas-upnp-org:service:WANPPPConnection:1" }));
            Assert.That(igd.Searches, Is.SupersetOf(GatewayDiscoveryOptions.DefaultSearchTargets));
        });
    }

    [Test]
    public async Task NoAnswerMeansNoGatewayAfterTheTimeout()
    {
        using var igd = new FakeRouter { AnsweredTargets = new() };
        var watch = Stopwatch.StartNew();
        var result = await GatewayDiscovery.DiscoverWithReportAsync(LoopbackOnly(igd, TimeSpan.FromMilliseconds(600)));
        Assert.Multiple(() =>
        {
            Assert.That(result.Gateway, Is.Null);
            Assert.That(result.Reason, Does.StartWith("no answer to the SSDP search within 600 ms"));
            // At least the timeout (less the timer's granularity); the upper bound (50 times the timeout) only says it
            // ended on its own rather than hanging.
            Assert.That(watch.Elapsed, Is.InRange(TimeSpan.FromMilliseconds(550), TimeSpan.FromSeconds(30)));
        });
        var e = Assert.ThrowsAsync<UpnpException>(() => UpnpGateway.DiscoverAsync(LoopbackOnly(igd, TimeSpan.FromMilliseconds(300))));
        Assert.That((UpnpErrorCode)e!.Code, Is.EqualTo(UpnpErrorCode.NoIgd));
    }

    [Test]
    public async Task ADisconnectedIgdIsChosenOnlyAtTheTimeoutAndSaysSo()
    {
        using var igd = new FakeRouter { ConnectionStatus = "Disconnected" };
        var result = await GatewayDiscovery.DiscoverWithReportAsync(LoopbackOnly(igd, TimeSpan.FromMilliseconds(800)));
        Assert.Multiple(() =>
        {
            Assert.That(result.State, Is.EqualTo(GatewayState.NotConnected));
            Assert.That(result.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(750)), "waited for a better one");
            Assert.That(result.Reason, Does.Contain("WAN connection down"));
        });
    }

    [Test]
    public async Task AReservedExternalAddressIsTheCarrierGradeNatState()
    {
        using var igd = new FakeRouter { ExternalAddress = "100.64.1.1" };
        var result = await GatewayDiscovery.DiscoverWithReportAsync(LoopbackOnly(igd));
        Assert.That(result.State, Is.EqualTo(GatewayState.ConnectedWithReservedAddress));
        Assert.That(await result.Gateway!.CheckStateAsync(), Is.EqualTo(GatewayState.ConnectedWithReservedAddress));
        igd.ExternalAddress = "5.6.7.8";
        Assert.That(await result.Gateway.CheckStateAsync(), Is.EqualTo(GatewayState.Connected));
    }

    [Test]
    public async Task ALocationNamingAnotherHostIsIgnoredUnlessAllowed()
    {
        using var igd = new FakeRouter();
        using var elsewhere = new FakeRouter(IPAddress.Parse("127.0.0.2"));
        igd.AnnouncedLocation = elsewhere.RootUrl.ToString();
        var strict = await GatewayDiscovery.DiscoverWithReportAsync(LoopbackOnly(igd, TimeSpan.FromMilliseconds(700)));
        Assert.Multiple(() =>
        {
            Assert.That(strict.Gateway, Is.Null);
            Assert.That(strict.Candidates.Single().Note, Does.Contain("names 127.0.0.2, but the answer came from 127.0.0.1"));
            Assert.That(elsewhere.Actions, Is.Empty, "nothing was fetched from the other host");
        });
        var relaxed = LoopbackOnly(igd);
        relaxed.AllowForeignAddresses = true;
        var result = await GatewayDiscovery.DiscoverWithReportAsync(relaxed);
        Assert.That(result.Gateway?.RootDescriptionUrl, Is.EqualTo(elsewhere.RootUrl), result.Reason);
    }

    [Test]
    public async Task ControlUrlsOnAnotherHostAreRefusedUnlessAllowed()
    {
        using var igd = new FakeRouter { ControlHost = "127.0.0.3:9" };
        var strict = await GatewayDiscovery.DiscoverWithReportAsync(LoopbackOnly(igd, TimeSpan.FromMilliseconds(700)));
        Assert.That(strict.Gateway, Is.Null);
        Assert.That(strict.Candidates.Single().Note, Does.Contain("sends control requests to http://127.0.0.3:9/"));
        var e = Assert.ThrowsAsync<UpnpException>(() => UpnpGateway.OpenAsync(igd.RootUrl));
        Assert.That(e!.Message, Does.Contain("127.0.0.3"));

        var relaxed = new GatewayDiscoveryOptions { AllowForeignAddresses = true };
        var gateway = await UpnpGateway.OpenAsync(igd.RootUrl, relaxed);
        Assert.That(gateway.ControlUrl.Host, Is.EqualTo("127.0.0.3"));
    }

    [Test]
    public void ACancelledDiscoveryEndsPromptly()
    {
        using var igd = new FakeRouter();
        // Left alone it would wait out its 60 s and return a result: the exception says the token ended it, the bound
        // (half the timeout, 200 times the cancellation delay) that it did not end at the timeout.
        var options = LoopbackOnly(igd, TimeSpan.FromSeconds(60));
        options.WaitForAllAnswers = true;
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(150));
        var watch = Stopwatch.StartNew();
        Assert.That(async () => await GatewayDiscovery.DiscoverWithReportAsync(options, cts.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(watch.Elapsed, Is.LessThan(options.Timeout / 2));
    }

    [Test]
    public async Task WarmStartReopensWithOneFetchAndFallsBackWhenStale()
    {
        using var igd = new FakeRouter();
        var warm = await GatewayDiscovery.OpenOrDiscoverAsync(igd.RootUrl, LoopbackOnly(igd));
        Assert.Multiple(() =>
        {
            Assert.That(warm.UsedRememberedUrl, Is.True);
            Assert.That(igd.Actions, Is.EqualTo(new[] { "GET" }), "one description fetch, nothing more");
            Assert.That(igd.Searches, Is.Empty, "no SSDP");
        });
        var stale = new Uri("http://127.0.0.1:1/rootDesc.xml"); // nothing listens there: the router moved
        var fallback = await GatewayDiscovery.OpenOrDiscoverAsync(stale, LoopbackOnly(igd));
        Assert.Multiple(() =>
        {
            Assert.That(fallback.UsedRememberedUrl, Is.False);
            Assert.That(fallback.Gateway?.RootDescriptionUrl, Is.EqualTo(igd.RootUrl), fallback.Reason);
            Assert.That(fallback.Candidates[0].Note, Does.StartWith("remembered URL, stale"));
        });
    }

    [Test]
    public async Task AHungRouterIsLeftBehindOnCancellationAndTimeout()
    {
        using var igd = new FakeRouter();
        var gateway = await UpnpGateway.OpenAsync(igd.RootUrl, new GatewayDiscoveryOptions { OperationTimeout = TimeSpan.FromMilliseconds(500) });
        using (igd.Hang())
        {
            // The token fires before the 500 ms operation timeout: a cancellation, not a TimeoutException, says the
            // token ended the wait (the router never answers, so nothing else could).
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            Assert.That(async () => await gateway.GetStatusAsync(cts.Token), Throws.InstanceOf<OperationCanceledException>());
            // Without a token, the operation timeout ends it: not before it (less the timer's granularity); the upper
            // bound (40 times the timeout) only says it ended rather than hung with the router.
            var watch = Stopwatch.StartNew();
            Assert.That(async () => await gateway.GetExternalAddressAsync(), Throws.InstanceOf<TimeoutException>());
            Assert.That(watch.Elapsed, Is.InRange(TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(20)));
        }
        Assert.That(await gateway.GetExternalAddressAsync(), Is.EqualTo(IPAddress.Parse("1.2.3.4")));
    }

    [Test]
    public async Task TypedOperationsAndErrorCodes()
    {
        using var igd = new FakeRouter();
        var g = await UpnpGateway.OpenAsync(igd.RootUrl);
        Assert.That(g.State, Is.EqualTo(GatewayState.NotChecked));
        var status = await g.GetStatusAsync();
        Assert.That(status, Is.EqualTo(new GatewayStatus("Connected", TimeSpan.FromSeconds(42), "ERROR_NONE")));

        await g.AddMappingAsync(new PortMappingRequest(PortMappingProtocol.Udp, 6000) { ExternalPort = 5000, LeaseDuration = TimeSpan.FromSeconds(90.2), Description = "typed" });
        Assert.That(igd.Mappings[("UDP", 5000)], Is.EqualTo(new FakeRouter.Mapping("127.0.0.1", 6000, "typed", 91, "")), "lease rounded up");
        var entry = await g.GetMappingAsync(PortMappingProtocol.Udp, 5000);
        Assert.That(entry, Is.EqualTo(new PortMappingEntry(PortMappingProtocol.Udp, 5000, IPAddress.Loopback, 6000, "typed", true, null,
            TimeSpan.FromSeconds(91))));
        Assert.That(await g.GetMappingAsync(PortMappingProtocol.Tcp, 5000), Is.Null);

        igd.SetMapping("TCP", 5001, new FakeRouter.Mapping("127.0.0.9", 80, "other", 0, ""));
        var conflict = Assert.ThrowsAsync<UpnpException>(() => g.AddMappingAsync(new PortMappingRequest(PortMappingProtocol.Tcp, 80) { ExternalPort = 5001, LeaseDuration = TimeSpan.FromHours(1) }));
        Assert.That((UpnpErrorCode)conflict!.Code, Is.EqualTo(UpnpErrorCode.ConflictInMappingEntry));
        Assert.That(await g.AddAnyMappingAsync(new PortMappingRequest(PortMappingProtocol.Tcp, 80) { ExternalPort = 5001, LeaseDuration = TimeSpan.FromHours(1) }), Is.EqualTo(5002));

        var bulk = await g.ListMappingsAsync(PortMappingListMethod.Bulk);
        var generic = await g.ListMappingsAsync(PortMappingListMethod.EntryByEntry);
        Assert.That(bulk, Is.EquivalentTo(generic));
        Assert.That(bulk.Select(m => m.ExternalPort), Is.EquivalentTo(new[] { 5000, 5001, 5002 }));
        Assert.That(igd.Count("GetListOfPortMappings"), Is.EqualTo(2), "one call per protocol");

        await g.DeleteMappingAsync(PortMappingProtocol.Udp, 5000);
        var missing = Assert.ThrowsAsync<UpnpException>(() => g.DeleteMappingAsync(PortMappingProtocol.Udp, 5000));
        Assert.That((UpnpErrorCode)missing!.Code, Is.EqualTo(UpnpErrorCode.NoSuchEntryInArray));
        Assert.That(missing.Message, Is.EqualTo("NoSuchEntryInArray"), "miniupnpc's text");
        await g.DeleteMappingRangeAsync(PortMappingProtocol.Tcp, 5001, 5002, manage: true);
        Assert.That(igd.Mappings, Is.Empty);
        Assert.That((UpnpErrorCode)Assert.ThrowsAsync<UpnpException>(() => g.DeleteMappingRangeAsync(PortMappingProtocol.Tcp, 1, 10))!.Code,
            Is.EqualTo(UpnpErrorCode.PortMappingNotFound));
    }

    [Test]
    public async Task OnIgdV1TheAutomaticListingFallsBackToEntryByEntry()
    {
        using var igd = new FakeRouter { IgdV2 = false };
        var g = await UpnpGateway.OpenAsync(igd.RootUrl);
        igd.SetMapping("TCP", 7000, new FakeRouter.Mapping("127.0.0.1", 7000, "v1", 0, ""));
        Assert.That(g.IsIgdV2, Is.False);
        Assert.That((await g.ListMappingsAsync()).Single().ExternalPort, Is.EqualTo(7000));
        Assert.That(igd.Count("GetListOfPortMappings"), Is.Zero);
        var bulk = Assert.ThrowsAsync<UpnpException>(() => g.ListMappingsAsync(PortMappingListMethod.Bulk));
        Assert.That((UpnpErrorCode)bulk!.Code, Is.EqualTo(UpnpErrorCode.InvalidAction));
    }

    [Test]
    public async Task AnswersThisLayerCannotAcceptAreInvalidResponses()
    {
        using var igd = new FakeRouter { ExternalAddress = "not-an-address" };
        var g = await UpnpGateway.OpenAsync(igd.RootUrl);
        Assert.That((UpnpErrorCode)Assert.ThrowsAsync<UpnpException>(() => g.GetExternalAddressAsync())!.Code, Is.EqualTo(UpnpErrorCode.InvalidResponse));
        igd.SetMapping("TCP", 7001, new FakeRouter.Mapping("127.0.0.1", 7001, "x", 0, ""));
        igd.ForcedInternalClient = "somewhere";
        Assert.That((UpnpErrorCode)Assert.ThrowsAsync<UpnpException>(() => g.GetMappingAsync(PortMappingProtocol.Tcp, 7001))!.Code,
            Is.EqualTo(UpnpErrorCode.InvalidResponse));
        Assert.That((UpnpErrorCode)Assert.ThrowsAsync<UpnpException>(() => g.ListMappingsAsync(PortMappingListMethod.EntryByEntry))!.Code,
            Is.EqualTo(UpnpErrorCode.InvalidResponse));
    }

    [Test]
    public async Task Pinholes()
    {
        using var igd = new FakeRouter();
        var g = await UpnpGateway.OpenAsync(igd.RootUrl);
        var v6 = IPAddress.Parse("fd00::2");
        Assert.That(await g.GetFirewallStatusAsync(), Is.EqualTo(new FirewallStatus(true, true)));
        int id = await g.AddPinholeAsync(PortMappingProtocol.Tcp, 5000, TimeSpan.FromMinutes(5), v6);
        Assert.That(await g.CheckPinholeWorkingAsync(id), Is.False, "709: no traffic yet");
        await g.UpdatePinholeAsync(id, TimeSpan.FromMinutes(10));
        await g.DeletePinholeAsync(id);
        Assert.That((UpnpErrorCode)Assert.ThrowsAsync<UpnpException>(() => g.UpdatePinholeAsync(id, TimeSpan.FromMinutes(1)))!.Code,
            Is.EqualTo(UpnpErrorCode.NoSuchEntry));
    }
}
