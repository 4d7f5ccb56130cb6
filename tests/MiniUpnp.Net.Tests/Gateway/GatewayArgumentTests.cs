using System;
using System.Collections.Generic;
using System.Net;
using System.Threading.Tasks;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Gateway;

/// <summary>
/// Bad input fails fast with an ArgumentException naming the parameter, before any I/O: the gateway here points at
/// 127.0.0.1 port 1, where nothing listens, so a call that got as far as the network would fail otherwise.
/// </summary>
public class GatewayArgumentTests
{
    private const PortMappingProtocol Tcp = PortMappingProtocol.Tcp;
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly IPAddress V4 = IPAddress.Parse("10.0.0.2");
    private static readonly IPAddress V6 = IPAddress.Parse("fd00::2");

    internal static UpnpGateway Unreachable(bool firewall = true, string local = "127.0.0.1") => new(
        new IgdDescription("http://127.0.0.1:1/rootDesc.xml", "http://127.0.0.1:1/ctl/IPConn",
            "urn:schemas-upnp-org:service:WANIPConnection:2", "http://127.0.0.1:1/ctl/CmnIfCfg",
            "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1", firewall ? "http://127.0.0.1:1/ctl/IP6FCtl" : string.Empty,
            firewall ? "urn:schemas-upnp-org:service:WANIPv6FirewallControl:1" : string.Empty, IPAddress.Parse(local)),
        GatewayState.NotChecked, null, TimeSpan.FromSeconds(5), allowForeignAddresses: false);

    private static IEnumerable<TestCaseData> Cases()
    {
        TestCaseData Case(string name, Type exception, string param, Func<UpnpGateway, Task> call) =>
            new TestCaseData(exception, param, call).SetName(name);
        var invalidProtocol = (PortMappingProtocol)99;

        yield return Case("Add protocol 99", typeof(ArgumentOutOfRangeException), "Protocol", g => g.AddMappingAsync(new PortMappingRequest(invalidProtocol, 80) { ExternalPort = 80, LeaseDuration = Hour }));
        yield return Case("Add externalPort -1", typeof(ArgumentOutOfRangeException), "ExternalPort", g => g.AddMappingAsync(new PortMappingRequest(Tcp, 80) { ExternalPort = -1, LeaseDuration = Hour }));
        yield return Case("Add externalPort 65536", typeof(ArgumentOutOfRangeException), "ExternalPort", g => g.AddMappingAsync(new PortMappingRequest(Tcp, 80) { ExternalPort = 65536, LeaseDuration = Hour }));
        yield return Case("Add internalPort -1", typeof(ArgumentOutOfRangeException), "InternalPort", g => g.AddMappingAsync(new PortMappingRequest(Tcp, -1) { ExternalPort = 80, LeaseDuration = Hour }));
        yield return Case("Add lease negative", typeof(ArgumentOutOfRangeException), "LeaseDuration", g => g.AddMappingAsync(new PortMappingRequest(Tcp, 80) { ExternalPort = 80, LeaseDuration = TimeSpan.FromSeconds(-1) }));
        yield return Case("Add lease over a week", typeof(ArgumentOutOfRangeException), "LeaseDuration", g => g.AddMappingAsync(new PortMappingRequest(Tcp, 80) { ExternalPort = 80, LeaseDuration = TimeSpan.FromDays(8) }));
        yield return Case("Add description with <", typeof(ArgumentException), "Description", g => g.AddMappingAsync(new PortMappingRequest(Tcp, 80) { ExternalPort = 80, LeaseDuration = Hour, Description = "<x>" }));
        yield return Case("Add description with &", typeof(ArgumentException), "Description", g => g.AddMappingAsync(new PortMappingRequest(Tcp, 80) { ExternalPort = 80, LeaseDuration = Hour, Description = "a&b" }));
        yield return Case("Add description with NUL", typeof(ArgumentException), "Description", g => g.AddMappingAsync(new PortMappingRequest(Tcp, 80) { ExternalPort = 80, LeaseDuration = Hour, Description = "a\0b" }));
        yield return Case("Add description too long", typeof(ArgumentException), "Description", g => g.AddMappingAsync(new PortMappingRequest(Tcp, 80) { ExternalPort = 80, LeaseDuration = Hour, Description = new string('d', 257) }));
        yield return Case("Add internalClient IPv6", typeof(ArgumentException), "InternalClient", g => g.AddMappingAsync(new PortMappingRequest(Tcp, 80) { ExternalPort = 80, LeaseDuration = Hour, InternalClient = V6 }));
        yield return Case("Add remoteHost IPv6", typeof(ArgumentException), "RemoteHost", g => g.AddMappingAsync(new PortMappingRequest(Tcp, 80) { ExternalPort = 80, LeaseDuration = Hour, InternalClient = V4, RemoteHost = V6 }));
        yield return Case("AddAny externalPort 65536", typeof(ArgumentOutOfRangeException), "ExternalPort", g => g.AddAnyMappingAsync(new PortMappingRequest(Tcp, 80) { ExternalPort = 65536, LeaseDuration = Hour }));
        yield return Case("AddAny description with >", typeof(ArgumentException), "Description", g => g.AddAnyMappingAsync(new PortMappingRequest(Tcp, 80) { ExternalPort = 80, LeaseDuration = Hour, Description = ">" }));
        yield return Case("Delete externalPort 70000", typeof(ArgumentOutOfRangeException), "externalPort", g => g.DeleteMappingAsync(Tcp, 70000));
        yield return Case("Delete protocol 99", typeof(ArgumentOutOfRangeException), "protocol", g => g.DeleteMappingAsync(invalidProtocol, 80));
        yield return Case("Delete remoteHost IPv6", typeof(ArgumentException), "remoteHost", g => g.DeleteMappingAsync(Tcp, 80, V6));
        yield return Case("DeleteRange reversed", typeof(ArgumentOutOfRangeException), "endPort", g => g.DeleteMappingRangeAsync(Tcp, 90, 80));
        yield return Case("DeleteRange start 0", typeof(ArgumentOutOfRangeException), "startPort", g => g.DeleteMappingRangeAsync(Tcp, 0, 80));
        yield return Case("Get externalPort 0", typeof(ArgumentOutOfRangeException), "externalPort", g => g.GetMappingAsync(Tcp, 0));
        yield return Case("List method 9", typeof(ArgumentOutOfRangeException), "method", g => g.ListMappingsAsync((PortMappingListMethod)9));
        yield return Case("AddPinhole internalPort 0", typeof(ArgumentOutOfRangeException), "internalPort", g => g.AddPinholeAsync(Tcp, 0, Hour, V6));
        yield return Case("AddPinhole lease 0", typeof(ArgumentOutOfRangeException), "leaseDuration", g => g.AddPinholeAsync(Tcp, 5000, TimeSpan.Zero, V6));
        yield return Case("AddPinhole lease 2 days", typeof(ArgumentOutOfRangeException), "leaseDuration", g => g.AddPinholeAsync(Tcp, 5000, TimeSpan.FromDays(2), V6));
        yield return Case("AddPinhole internalClient IPv4", typeof(ArgumentException), "internalClient", g => g.AddPinholeAsync(Tcp, 5000, Hour, V4));
        yield return Case("AddPinhole remotePort -1", typeof(ArgumentOutOfRangeException), "remotePort", g => g.AddPinholeAsync(Tcp, 5000, Hour, V6, null, -1));
        yield return Case("UpdatePinhole id -1", typeof(ArgumentOutOfRangeException), "uniqueId", g => g.UpdatePinholeAsync(-1, Hour));
        yield return Case("UpdatePinhole id 65536", typeof(ArgumentOutOfRangeException), "uniqueId", g => g.UpdatePinholeAsync(65536, Hour));
        yield return Case("UpdatePinhole lease 0", typeof(ArgumentOutOfRangeException), "leaseDuration", g => g.UpdatePinholeAsync(1, TimeSpan.Zero));
        yield return Case("DeletePinhole id -1", typeof(ArgumentOutOfRangeException), "uniqueId", g => g.DeletePinholeAsync(-1));
        yield return Case("CheckPinhole id -1", typeof(ArgumentOutOfRangeException), "uniqueId", g => g.CheckPinholeWorkingAsync(-1));
        yield return Case("Lease options null", typeof(ArgumentNullException), "options", g => g.LeaseMappingAsync(null!));
        yield return Case("Lease internalPort 0", typeof(ArgumentOutOfRangeException), "InternalPort", g => g.LeaseMappingAsync(new PortMappingLeaseOptions(Tcp, 0)));
        yield return Case("Lease externalPort 70000", typeof(ArgumentOutOfRangeException), "ExternalPort",
            g => g.LeaseMappingAsync(new PortMappingLeaseOptions(Tcp, 80) { ExternalPort = 70000 }));
        yield return Case("Lease 1 s", typeof(ArgumentOutOfRangeException), "LeaseDuration",
            g => g.LeaseMappingAsync(new PortMappingLeaseOptions(Tcp, 80) { LeaseDuration = TimeSpan.FromSeconds(1) }));
        yield return Case("Lease check interval 0", typeof(ArgumentOutOfRangeException), "CheckInterval",
            g => g.LeaseMappingAsync(new PortMappingLeaseOptions(Tcp, 80) { CheckInterval = TimeSpan.Zero }));
        yield return Case("Lease max retry below retry", typeof(ArgumentOutOfRangeException), "MaxRetryDelay",
            g => g.LeaseMappingAsync(new PortMappingLeaseOptions(Tcp, 80) { RetryDelay = TimeSpan.FromSeconds(5), MaxRetryDelay = TimeSpan.FromSeconds(1) }));
        yield return Case("Lease description with &", typeof(ArgumentException), "Description",
            g => g.LeaseMappingAsync(new PortMappingLeaseOptions(Tcp, 80) { Description = "a&b" }));
        yield return Case("Lease port attempts 0", typeof(ArgumentOutOfRangeException), "MaxPortAttempts",
            g => g.LeaseMappingAsync(new PortMappingLeaseOptions(Tcp, 80) { MaxPortAttempts = 0 }));
        yield return Case("Lease internalClient IPv6", typeof(ArgumentException), "InternalClient",
            g => g.LeaseMappingAsync(new PortMappingLeaseOptions(Tcp, 80) { InternalClient = V6 }));
        yield return Case("Pinhole lease permanent", typeof(ArgumentOutOfRangeException), "LeaseDuration",
            g => g.LeasePinholeAsync(new PinholeLeaseOptions(Tcp, 5000) { LeaseDuration = TimeSpan.Zero }));
        yield return Case("Pinhole lease remote host IPv4", typeof(ArgumentException), "RemoteHost",
            g => g.LeasePinholeAsync(new PinholeLeaseOptions(Tcp, 5000) { RemoteHost = V4 }));
    }

    [TestCaseSource(nameof(Cases))]
    public void BadArgumentsThrowBeforeAnyIO(Type exception, string param, Func<UpnpGateway, Task> call)
    {
        var e = Assert.CatchAsync(() => call(Unreachable()));
        Assert.That(e, Is.InstanceOf(exception));
        Assert.That(((ArgumentException)e!).ParamName, Is.EqualTo(param));
    }

    [Test]
    public void PinholesNeedTheFirewallServiceAndAnIPv6Client()
    {
        Assert.Multiple(() =>
        {
            Assert.ThrowsAsync<NotSupportedException>(() => Unreachable(firewall: false).AddPinholeAsync(Tcp, 5000, Hour, V6));
            Assert.ThrowsAsync<NotSupportedException>(() => Unreachable(firewall: false).GetFirewallStatusAsync());
            Assert.ThrowsAsync<NotSupportedException>(() => Unreachable(firewall: false).LeasePinholeAsync(new PinholeLeaseOptions(Tcp, 5000)));
            // Opened over IPv4 and no client given: nothing to ask for.
            Assert.ThrowsAsync<InvalidOperationException>(() => Unreachable().AddPinholeAsync(Tcp, 5000, Hour));
            Assert.ThrowsAsync<InvalidOperationException>(() => Unreachable().LeasePinholeAsync(new PinholeLeaseOptions(Tcp, 5000)));
            // Opened over IPv6 and no IPv4 client given for a port mapping.
            Assert.ThrowsAsync<InvalidOperationException>(() => Unreachable(local: "fd00::2").AddMappingAsync(new PortMappingRequest(Tcp, 80) { ExternalPort = 80, LeaseDuration = Hour }));
        });
    }

    [Test]
    public void OpenTakesOnlyAbsoluteHttpUrls()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Assert.ThrowsAsync<ArgumentNullException>(() => UpnpGateway.OpenAsync(null!))!.ParamName, Is.EqualTo("rootDescriptionUrl"));
            Assert.That(Assert.ThrowsAsync<ArgumentException>(() => UpnpGateway.OpenAsync(new Uri("https://127.0.0.1/rootDesc.xml")))!.ParamName,
                Is.EqualTo("rootDescriptionUrl"));
            Assert.That(Assert.ThrowsAsync<ArgumentException>(() => UpnpGateway.OpenAsync(new Uri("/rootDesc.xml", UriKind.Relative)))!.ParamName,
                Is.EqualTo("rootDescriptionUrl"));
            Assert.That(Assert.ThrowsAsync<ArgumentException>(() => GatewayDiscovery.OpenOrDiscoverAsync(new Uri("ftp://127.0.0.1/x")))!.ParamName,
                Is.EqualTo("rememberedUrl"));
        });
    }

    private static IEnumerable<TestCaseData> BadOptions()
    {
        TestCaseData Case(string name, string param, Action<GatewayDiscoveryOptions> change) => new TestCaseData(param, change).SetName(name);
        yield return Case("Timeout 0", "Timeout", o => o.Timeout = TimeSpan.Zero);
        yield return Case("Timeout 1 hour", "Timeout", o => o.Timeout = TimeSpan.FromHours(1));
        yield return Case("OperationTimeout negative", "OperationTimeout", o => o.OperationTimeout = TimeSpan.FromSeconds(-1));
        yield return Case("RememberedUrlTimeout 0", "RememberedUrlTimeout", o => o.RememberedUrlTimeout = TimeSpan.Zero);
        yield return Case("MaxCandidates 0", "MaxCandidates", o => o.MaxCandidates = 0);
        yield return Case("MaxCandidates 65", "MaxCandidates", o => o.MaxCandidates = 65);
        yield return Case("no search target", "SearchTargets", o => o.SearchTargets.Clear());
        yield return Case("search target with CRLF", "SearchTargets", o => o.SearchTargets.Add("ssdp:all\r\nX: y"));
        yield return Case("empty search target", "SearchTargets", o => o.SearchTargets.Add(" "));
        yield return Case("null unicast target", "UnicastTargets", o => o.UnicastTargets.Add(null!));
        yield return Case("unicast target port 0", "UnicastTargets", o => o.UnicastTargets.Add(new IPEndPoint(IPAddress.Loopback, 0)));
        yield return Case("IPv6 local address", "LocalAddress", o => o.LocalAddress = IPAddress.IPv6Loopback);
    }

    [TestCaseSource(nameof(BadOptions))]
    public void BadDiscoveryOptionsThrowBeforeAnyIO(string param, Action<GatewayDiscoveryOptions> change)
    {
        var options = new GatewayDiscoveryOptions();
        change(options);
        Assert.Multiple(() =>
        {
            Assert.That(Assert.CatchAsync<ArgumentException>(() => GatewayDiscovery.DiscoverWithReportAsync(options))!.ParamName, Is.EqualTo(param));
            Assert.That(Assert.CatchAsync<ArgumentException>(() => UpnpGateway.OpenAsync(new Uri("http://127.0.0.1:1/"), options))!.ParamName,
                Is.EqualTo(param));
        });
    }

    [Test]
    public void ACancelledTokenEndsACallBeforeItStarts()
    {
        using var cts = new System.Threading.CancellationTokenSource();
        cts.Cancel();
        var gateway = Unreachable();
        Assert.Multiple(() =>
        {
            Assert.That(async () => await gateway.GetExternalAddressAsync(cts.Token), Throws.InstanceOf<OperationCanceledException>());
            Assert.That(async () => await GatewayDiscovery.DiscoverWithReportAsync(null, cts.Token), Throws.InstanceOf<OperationCanceledException>());
            Assert.That(async () => await UpnpGateway.OpenAsync(new Uri("http://127.0.0.1:1/"), cancellationToken: cts.Token), Throws.InstanceOf<OperationCanceledException>());
        });
    }
}
