using System;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Lab.Gateway;

/// <summary>Discovery, warm start and cancellation of the async layer against the lab's miniupnpd.</summary>
public class GatewayDiscoveryLabTests
{
    [SetUp]
    public void RequireLab() => LabEnvironment.Require();

    [Test]
    public async Task DiscoveryReturnsOnTheFirstValidIgdWellBeforeItsTimeout()
    {
        // A timeout far above what a loaded machine under a sanitizer takes (well under a second): ending before half of
        // it can only be the return on the first valid IGD, not the wait for the timeout.
        var options = GatewayLab.Options(timeout: TimeSpan.FromSeconds(60));
        var watch = Stopwatch.StartNew();
        var result = await GatewayDiscovery.DiscoverWithReportAsync(options);
        watch.Stop();
        GatewayLab.Record($"discovery returned after {result.Elapsed.TotalMilliseconds:0} ms (timeout {options.Timeout.TotalMilliseconds:0} ms): {result.Reason}");

        Assert.That(result.Gateway, Is.Not.Null, result.Reason);
        var gateway = result.Gateway!;
        Assert.Multiple(() =>
        {
            // Not a performance assertion: waiting out the delay would take the whole 60 s.
            Assert.That(watch.Elapsed, Is.LessThan(options.Timeout / 2), "returned on the first valid IGD, not at the timeout");
            Assert.That(result.State, Is.EqualTo(GatewayState.ConnectedWithReservedAddress), "the lab's WAN address is 100.64.x");
            Assert.That(gateway.ExternalAddress, Is.EqualTo(IPAddress.Parse(LabEnvironment.IgdWanAddr)));
            Assert.That(result.LocalAddress, Is.EqualTo(GatewayLab.Lan));
            Assert.That(gateway.RootDescriptionUrl, Is.EqualTo(new Uri(LabEnvironment.RootDescUrl)));
            Assert.That(gateway.IsIgdV2, Is.True);
            Assert.That(result.UsedRememberedUrl, Is.False);
            Assert.That(result.Reason, Does.Contain("reserved external address").And.Contain(LabEnvironment.IgdWanAddr));
            // The IGD answers by multicast and by unicast: it counts once.
            Assert.That(result.Candidates, Has.Count.EqualTo(1));
            Assert.That(result.Candidates[0].Responder, Is.EqualTo(IPAddress.Parse(LabEnvironment.IgdLanAddr)));
            Assert.That(result.Candidates[0].State, Is.EqualTo(GatewayState.ConnectedWithReservedAddress));
        });
    }

    [Test]
    public async Task UnicastSearchToTheDefaultGatewayAloneFindsTheIgd()
    {
        var options = GatewayLab.Options();
        options.SearchMulticast = false;
        var result = await GatewayDiscovery.DiscoverWithReportAsync(options);
        GatewayLab.Record($"unicast-only discovery: {result.Elapsed.TotalMilliseconds:0} ms: {result.Reason}");
        Assert.That(result.Gateway?.RootDescriptionUrl, Is.EqualTo(new Uri(LabEnvironment.RootDescUrl)), result.Reason);
    }

    [Test]
    public async Task IPv6MulticastDiscoveryFindsTheIgdOverIPv6AndItsPinholesWork()
    {
        var options = GatewayLab.Options(timeout: TimeSpan.FromSeconds(60)); // ending before half of it: the first valid IGD
        options.SearchMulticast = false;
        options.SearchDefaultGateways = false;
        options.SearchIPv6Multicast = true;
        var watch = Stopwatch.StartNew();
        var result = await GatewayDiscovery.DiscoverWithReportAsync(options);
        watch.Stop();
        GatewayLab.Record($"IPv6 discovery returned after {result.Elapsed.TotalMilliseconds:0} ms: {result.Reason}");

        Assert.That(result.Gateway, Is.Not.Null, result.Reason);
        var gateway6 = result.Gateway!;
        Assert.Multiple(() =>
        {
            Assert.That(watch.Elapsed, Is.LessThan(options.Timeout / 2), "returned on the first valid IGD, not at the timeout");
            Assert.That(gateway6.RootDescriptionUrl, Is.EqualTo(new Uri(LabEnvironment.RootDescUrl6)));
            Assert.That(result.LocalAddress, Is.EqualTo(IPAddress.Parse(LabEnvironment.LanAddr6)));
            Assert.That(result.Candidates, Has.Count.EqualTo(1));
            Assert.That(result.Candidates[0].Responder, Is.EqualTo(IPAddress.Parse(LabEnvironment.IgdLanAddr6)));
            Assert.That(gateway6.SupportsPinholes, Is.True);
        });

        // What IPv6 discovery is for: a gateway that accepts pinhole requests (miniupnpd refuses them over IPv4).
        int id = await gateway6.AddPinholeAsync(PortMappingProtocol.Tcp, 43040, TimeSpan.FromSeconds(600));
        await gateway6.DeletePinholeAsync(id);
    }

    [Test]
    public async Task IPv4AndIPv6SearchesTogetherStillReturnOnTheFirstValidIgd()
    {
        var options = GatewayLab.Options(timeout: TimeSpan.FromSeconds(60)); // ending before half of it: the first valid IGD
        options.SearchIPv6Multicast = true;
        var result = await GatewayDiscovery.DiscoverWithReportAsync(options);
        GatewayLab.Record($"IPv4+IPv6 discovery returned after {result.Elapsed.TotalMilliseconds:0} ms: {result.Reason}");
        Assert.That(result.Gateway, Is.Not.Null, result.Reason);
        Assert.That(result.Elapsed, Is.LessThan(options.Timeout / 2));
        Assert.That(result.Gateway!.RootDescriptionUrl,
            Is.EqualTo(new Uri(LabEnvironment.RootDescUrl)).Or.EqualTo(new Uri(LabEnvironment.RootDescUrl6)));
    }

    [Test]
    public async Task WaitingForAllAnswersTakesTheWholeTimeoutAndCountsAnIgdOnce()
    {
        var options = GatewayLab.Options(timeout: TimeSpan.FromMilliseconds(1200));
        options.WaitForAllAnswers = true;
        // Nothing answers the first target, so the second wave asks for all of them: the IGD answers several.
        options.SearchTargets.Insert(0, "urn:schemas-upnp-org:device:NoSuchDevice:1");
        var result = await GatewayDiscovery.DiscoverWithReportAsync(options);
        GatewayLab.Record($"waited {result.Elapsed.TotalMilliseconds:0} ms; targets answered: {string.Join(", ", result.Candidates.SelectMany(c => c.SearchTargets))}");
        Assert.Multiple(() =>
        {
            Assert.That(result.Gateway?.RootDescriptionUrl, Is.EqualTo(new Uri(LabEnvironment.RootDescUrl)), result.Reason);
            Assert.That(result.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(1100)));
            Assert.That(result.Candidates, Has.Count.EqualTo(1), "one IGD, several search targets: one candidate");
            Assert.That(result.Candidates[0].SearchTargets, Has.Count.GreaterThan(1));
        });
    }

    [Test]
    public async Task WarmStartReopensTheRememberedUrlWithoutSsdp()
    {
        var url = new Uri(LabEnvironment.RootDescUrl);
        var result = await GatewayDiscovery.OpenOrDiscoverAsync(url, GatewayLab.Options());
        GatewayLab.Record($"warm start: {result.Elapsed.TotalMilliseconds:0} ms: {result.Reason}");
        Assert.Multiple(() =>
        {
            Assert.That(result.UsedRememberedUrl, Is.True, result.Reason);
            Assert.That(result.Gateway!.RootDescriptionUrl, Is.EqualTo(url));
            Assert.That(result.Gateway.State, Is.EqualTo(GatewayState.NotChecked));
            Assert.That(result.Gateway.LocalAddress, Is.EqualTo(GatewayLab.Lan));
        });
        Assert.That(await result.Gateway!.CheckStateAsync(), Is.EqualTo(GatewayState.ConnectedWithReservedAddress));
    }

    [Test]
    public async Task WarmStartFromAStaleUrlFallsBackToDiscovery()
    {
        // A port nothing listens on: the remembered router "moved".
        var stale = new Uri($"http://{LabEnvironment.IgdLanAddr}:5999/rootDesc.xml");
        var result = await GatewayDiscovery.OpenOrDiscoverAsync(stale, GatewayLab.Options());
        GatewayLab.Record($"stale warm start: {result.Elapsed.TotalMilliseconds:0} ms: {result.Reason}");
        Assert.Multiple(() =>
        {
            Assert.That(result.UsedRememberedUrl, Is.False);
            Assert.That(result.Gateway?.RootDescriptionUrl, Is.EqualTo(new Uri(LabEnvironment.RootDescUrl)), result.Reason);
            Assert.That(result.Reason, Does.Contain("stale"));
            Assert.That(result.Candidates[0].Location, Is.EqualTo(stale));
            Assert.That(result.Candidates[0].Note, Does.StartWith("remembered URL, stale"));
        });
        var error = Assert.ThrowsAsync<UpnpException>(() => UpnpGateway.OpenAsync(stale));
        Assert.That(error!.Code, Is.EqualTo((int)UpnpErrorCode.HttpError));
    }

    [Test]
    public async Task WarmStartFromAUrlThatIsNotAnIgdFallsBackToDiscovery()
    {
        // miniupnpd serves other documents too: a service description is no root description of an IGD.
        var notAnIgd = new Uri($"http://{LabEnvironment.IgdLanAddr}:5000/WANIPCn.xml");
        var result = await GatewayDiscovery.OpenOrDiscoverAsync(notAnIgd, GatewayLab.Options());
        Assert.That(result.Gateway?.RootDescriptionUrl, Is.EqualTo(new Uri(LabEnvironment.RootDescUrl)), result.Reason);
        Assert.That(result.UsedRememberedUrl, Is.False);
    }

    [Test]
    public void ACancelledDiscoveryEndsPromptly()
    {
        // Left alone it would wait out its 60 s and return a result: the exception says the token ended it, the bound
        // (half the timeout) that it did not end at the timeout.
        var options = GatewayLab.Options(timeout: TimeSpan.FromSeconds(60));
        options.WaitForAllAnswers = true; // would otherwise return on its own after ~60 ms
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var watch = Stopwatch.StartNew();
        Assert.That(async () => await GatewayDiscovery.DiscoverWithReportAsync(options, cts.Token), Throws.InstanceOf<OperationCanceledException>());
        GatewayLab.Record($"cancelled discovery ended {watch.ElapsedMilliseconds} ms after its start (cancelled at 200 ms)");
        Assert.That(watch.Elapsed, Is.LessThan(options.Timeout / 2));
    }

    [Test]
    public async Task ACancelledCallToAHungRouterEndsPromptlyAndTheTimeoutIsHonoured()
    {
        var gateway = await GatewayLab.OpenAsync(operationTimeout: TimeSpan.FromSeconds(2));
        using (GatewayLab.FreezeRouter())
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            var watch = Stopwatch.StartNew();
            Assert.That(async () => await gateway.GetExternalAddressAsync(cts.Token), Throws.InstanceOf<OperationCanceledException>());
            long cancelledAfter = watch.ElapsedMilliseconds;

            watch.Restart();
            Assert.That(async () => await gateway.GetStatusAsync(), Throws.InstanceOf<TimeoutException>());
            long timedOutAfter = watch.ElapsedMilliseconds;
            GatewayLab.Record($"hung router: cancelled call ended after {cancelledAfter} ms (cancelled at 200 ms); " +
                              $"a call with a 2000 ms timeout ended after {timedOutAfter} ms");
            Assert.Multiple(() =>
            {
                Assert.That(cancelledAfter, Is.LessThan(2000));
                Assert.That(timedOutAfter, Is.InRange(1900, 4500));
            });
        }
        // The abandoned native calls finish on their own once the router answers again.
        Assert.That(await gateway.GetExternalAddressAsync(), Is.EqualTo(IPAddress.Parse(LabEnvironment.IgdWanAddr)));
    }
}
