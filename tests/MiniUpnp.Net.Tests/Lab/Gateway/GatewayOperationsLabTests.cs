using System;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Lab.Gateway;

/// <summary>The typed operations of <see cref="UpnpGateway"/> against the lab's miniupnpd 2.3.1 (IGD:2).</summary>
public class GatewayOperationsLabTests
{
    private const PortMappingProtocol Tcp = PortMappingProtocol.Tcp;
    private const PortMappingProtocol Udp = PortMappingProtocol.Udp;
    private UpnpGateway _gateway = null!;

    [SetUp]
    public async Task OpenTheLabGateway()
    {
        LabEnvironment.Require();
        _gateway = await GatewayLab.OpenAsync();
    }

    [Test]
    public async Task StatusAndExternalAddress()
    {
        var status = await _gateway.GetStatusAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(status.IsConnected, Is.True);
            Assert.That(status.ConnectionStatus, Is.EqualTo("Connected"));
            Assert.That(status.LastConnectionError, Is.EqualTo("ERROR_NONE"));
            Assert.That(await _gateway.GetExternalAddressAsync(), Is.EqualTo(IPAddress.Parse(LabEnvironment.IgdWanAddr)));
            Assert.That(_gateway.SupportsPinholes, Is.True);
            Assert.That(_gateway.ServiceType, Is.EqualTo("urn:schemas-upnp-org:service:WANIPConnection:2"));
        });
    }

    [Test]
    public async Task AddGetAndDeleteAMapping()
    {
        const int port = 43001;
        await _gateway.AddMappingAsync(new PortMappingRequest(Tcp, 4301) { ExternalPort = port, LeaseDuration = TimeSpan.FromSeconds(600), Description = "gateway typed ops" });
        try
        {
            var entry = await _gateway.GetMappingAsync(Tcp, port);
            Assert.That(entry, Is.Not.Null);
            Assert.Multiple(() =>
            {
                Assert.That(entry!.Protocol, Is.EqualTo(Tcp));
                Assert.That(entry.ExternalPort, Is.EqualTo(port));
                Assert.That(entry.InternalClient, Is.EqualTo(GatewayLab.Lan));
                Assert.That(entry.InternalPort, Is.EqualTo(4301));
                Assert.That(entry.Description, Is.EqualTo("gateway typed ops"));
                Assert.That(entry.Enabled, Is.True);
                Assert.That(entry.RemoteHost, Is.Null);
                Assert.That(entry.LeaseDuration, Is.InRange(TimeSpan.FromSeconds(590), TimeSpan.FromSeconds(600)));
            });
            Assert.That(await _gateway.GetMappingAsync(Udp, port), Is.Null, "714 for the other protocol");
        }
        finally
        {
            await _gateway.DeleteMappingAsync(Tcp, port);
        }
        Assert.That(await _gateway.GetMappingAsync(Tcp, port), Is.Null);
    }

    [Test]
    public async Task APermanentRequestBecomesOneWeekOnMiniupnpd()
    {
        const int port = 43002;
        await _gateway.AddMappingAsync(new PortMappingRequest(Udp, 4302) { ExternalPort = port, LeaseDuration = TimeSpan.Zero });
        try
        {
            var entry = await _gateway.GetMappingAsync(Udp, port);
            Assert.That(entry!.LeaseDuration, Is.InRange(TimeSpan.FromSeconds(604790), TimeSpan.FromSeconds(604800)));
        }
        finally
        {
            await _gateway.DeleteMappingAsync(Udp, port);
        }
    }

    [Test]
    public async Task AddAnyReturnsTheSamePortForOurOwnAndAnotherForAnotherHosts()
    {
        const int port = 43003;
        await _gateway.AddMappingAsync(new PortMappingRequest(Tcp, 4303) { ExternalPort = port, LeaseDuration = TimeSpan.FromSeconds(600), Description = "other host", InternalClient = GatewayLab.OtherLanHost });
        try
        {
            // Another host's port: the router picks another one.
            int other = await _gateway.AddAnyMappingAsync(new PortMappingRequest(Tcp, 4303) { ExternalPort = port, LeaseDuration = TimeSpan.FromSeconds(600), Description = "add any" });
            try
            {
                Assert.That(other, Is.Not.EqualTo(port));
                // Our own port again: an update, the same port.
                Assert.That(await _gateway.AddAnyMappingAsync(new PortMappingRequest(Tcp, 4303) { ExternalPort = other, LeaseDuration = TimeSpan.FromSeconds(600), Description = "add any" }), Is.EqualTo(other));
            }
            finally
            {
                await _gateway.DeleteMappingAsync(Tcp, other);
            }
            // AddPortMapping on another host's port: 718, as an enum value.
            var conflict = Assert.ThrowsAsync<UpnpException>(() => _gateway.AddMappingAsync(new PortMappingRequest(Tcp, 4303) { ExternalPort = port, LeaseDuration = TimeSpan.FromSeconds(60) }));
            Assert.Multiple(() =>
            {
                Assert.That((UpnpErrorCode)conflict!.Code, Is.EqualTo(UpnpErrorCode.ConflictInMappingEntry));
                Assert.That(conflict.Message, Is.EqualTo("ConflictInMappingEntry"));
            });
        }
        finally
        {
            await _gateway.DeleteMappingAsync(Tcp, port);
        }
    }

    [Test]
    public async Task ListingInBulkAndEntryByEntryAgree()
    {
        int[] ports = { 43010, 43011, 43012 };
        foreach (int p in ports)
        {
            await _gateway.AddMappingAsync(new PortMappingRequest(p == 43011 ? Udp : Tcp, p - 39000) { ExternalPort = p, LeaseDuration = TimeSpan.FromSeconds(600), Description = $"list {p}" });
        }
        try
        {
            var bulk = await _gateway.ListMappingsAsync(PortMappingListMethod.Bulk);
            var generic = await _gateway.ListMappingsAsync(PortMappingListMethod.EntryByEntry);
            var automatic = await _gateway.ListMappingsAsync();
            static string Key(PortMappingEntry e) => $"{e.Protocol}/{e.ExternalPort}->{e.InternalClient}:{e.InternalPort} {e.Description}";
            Assert.Multiple(() =>
            {
                Assert.That(bulk.Select(Key), Is.EquivalentTo(generic.Select(Key)));
                Assert.That(automatic.Select(Key), Is.EquivalentTo(bulk.Select(Key)));
                Assert.That(bulk.Where(e => ports.Contains(e.ExternalPort)).Select(e => e.Description),
                    Is.EquivalentTo(ports.Select(p => $"list {p}")));
                Assert.That(bulk.Single(e => e.ExternalPort == 43011).Protocol, Is.EqualTo(Udp));
            });
        }
        finally
        {
            foreach (int p in ports)
            {
                await GatewayLab.TryDeleteAsync(_gateway, p == 43011 ? Udp : Tcp, p);
            }
        }
    }

    [Test]
    public async Task DeleteRangeRemovesOnlyTheRange()
    {
        for (int p = 43020; p < 43024; p++)
        {
            await _gateway.AddMappingAsync(new PortMappingRequest(Tcp, p - 39000) { ExternalPort = p, LeaseDuration = TimeSpan.FromSeconds(600), Description = "range" });
        }
        await _gateway.DeleteMappingRangeAsync(Tcp, 43020, 43022);
        try
        {
            for (int p = 43020; p < 43023; p++)
            {
                Assert.That(await _gateway.GetMappingAsync(Tcp, p), Is.Null, $"port {p}");
            }
            Assert.That(await _gateway.GetMappingAsync(Tcp, 43023), Is.Not.Null);
        }
        finally
        {
            await GatewayLab.TryDeleteAsync(_gateway, Tcp, 43023);
        }
        var empty = Assert.ThrowsAsync<UpnpException>(() => _gateway.DeleteMappingRangeAsync(Tcp, 43020, 43022));
        Assert.That((UpnpErrorCode)empty!.Code, Is.EqualTo(UpnpErrorCode.PortMappingNotFound));
    }

    [Test]
    public async Task PinholesOverIPv6()
    {
        var gateway6 = await GatewayLab.OpenIPv6Async();
        Assert.That(gateway6.LocalAddress, Is.EqualTo(IPAddress.Parse(LabEnvironment.LanAddr6)));
        var firewall = await gateway6.GetFirewallStatusAsync();
        Assert.That(firewall, Is.EqualTo(new FirewallStatus(true, true)));

        int id = await gateway6.AddPinholeAsync(PortMappingProtocol.Tcp, 43030, TimeSpan.FromSeconds(600));
        try
        {
            Assert.That(await gateway6.CheckPinholeWorkingAsync(id), Is.False, "709 NoTrafficReceived: miniupnpd's rule has no counter");
            await gateway6.UpdatePinholeAsync(id, TimeSpan.FromSeconds(900));
        }
        finally
        {
            await gateway6.DeletePinholeAsync(id);
        }
        var gone = Assert.ThrowsAsync<UpnpException>(() => gateway6.UpdatePinholeAsync(id, TimeSpan.FromSeconds(60)));
        Assert.That((UpnpErrorCode)gone!.Code, Is.EqualTo(UpnpErrorCode.InvalidArgs), "miniupnpd answers 402 for an unknown id");

        // Requested over IPv4 for our IPv6 address: "another host", 606.
        var overIPv4 = Assert.ThrowsAsync<UpnpException>(() => _gateway.AddPinholeAsync(PortMappingProtocol.Udp, 43031,
            TimeSpan.FromSeconds(60), IPAddress.Parse(LabEnvironment.LanAddr6)));
        Assert.That((UpnpErrorCode)overIPv4!.Code, Is.EqualTo(UpnpErrorCode.ActionNotAuthorized));
        // Any protocol (65535): miniupnpd does not allow the wildcard.
        var anyProtocol = Assert.ThrowsAsync<UpnpException>(() => gateway6.AddPinholeAsync(null, 43032, TimeSpan.FromSeconds(60)));
        Assert.That((UpnpErrorCode)anyProtocol!.Code, Is.EqualTo(UpnpErrorCode.ProtocolWildcardingNotAllowed));
    }
}
