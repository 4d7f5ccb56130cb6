using System;
using System.Linq;
using System.Text;
using NUnit.Framework;
using static MiniUpnp.Net.Native.Miniupnpc;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Lab;

/// <summary>Every C-named function that talks to a router, against the lab, used the way C code uses it.</summary>
public class CNamedIntegrationTests
{
    private SafeUrlsHandle _urls = null!;
    private IGDdatas _data = null!;
    private string _lanaddr = "";

    [SetUp]
    public void OpenTheLabIgd()
    {
        LabEnvironment.Require();
        _urls = new SafeUrlsHandle();
        _data = new IGDdatas();
        Assert.That(UPNP_GetIGDFromUrl(LabEnvironment.RootDescUrl, _urls, _data, out _lanaddr), Is.EqualTo(1));
    }

    [TearDown]
    public void Close() => _urls?.Dispose();

    private string Ctl => _urls.controlURL;

    private string St => _data.first.servicetype;

    [Test]
    public void UpnpDiscoverAndGetValidIgdGiveTheConnectedPrivateAddressState()
    {
        using var devlist = upnpDiscover(1000, null, null, UPNP_LOCAL_PORT_ANY, 0, 2, out int error);
        Assert.That(devlist.IsInvalid, Is.False, $"discovery error {error}");
        Assert.That(devlist.Devices.Select(d => d.descURL), Has.Some.EqualTo(LabEnvironment.RootDescUrl));
        using var urls = new SafeUrlsHandle();
        var data = new IGDdatas();
        int state = UPNP_GetValidIGD(devlist, urls, data, out string lanaddr, out string wanaddr);
        // The lab's external address is reserved (100.64/10): what users behind carrier-grade NAT see.
        Assert.That(state, Is.EqualTo(UPNP_PRIVATEIP_IGD));
        Assert.That(lanaddr, Is.EqualTo(LabEnvironment.LanAddr));
        Assert.That(wanaddr, Is.EqualTo(LabEnvironment.IgdWanAddr));
        Assert.That(data.first.servicetype, Is.EqualTo("urn:schemas-upnp-org:service:WANIPConnection:2"));
        Assert.That(UPNPIGD_IsConnected(urls, data), Is.EqualTo(1));
        freeUPNPDevlist(devlist);
    }

    [Test]
    public void TheOtherDiscoveryFunctionsFindTheLabIgd()
    {
        using (var all = upnpDiscoverAll(1000, null, null, UPNP_LOCAL_PORT_ANY, 0, 2, out int e1))
        {
            Assert.That(all.Devices.Select(d => d.descURL), Has.Some.EqualTo(LabEnvironment.RootDescUrl), $"ssdp:all, error {e1}");
        }
        using (var one = upnpDiscoverDevice("urn:schemas-upnp-org:device:InternetGatewayDevice:2", 1000, null, null, UPNP_LOCAL_PORT_ANY, 0, 2, out int e2))
        {
            Assert.That(one.Devices, Has.Some.Matches<UPNPDev>(d => d.st == "urn:schemas-upnp-org:device:InternetGatewayDevice:2"), $"error {e2}");
        }
        using (var some = upnpDiscoverDevices(new[] { "urn:schemas-upnp-org:service:WANIPConnection:2", "upnp:rootdevice" },
                   1000, null, null, UPNP_LOCAL_PORT_ANY, 0, 2, out int e3, 1))
        {
            Assert.That(some.Devices.Select(d => d.st), Is.SupersetOf(new[] { "urn:schemas-upnp-org:service:WANIPConnection:2", "upnp:rootdevice" }), $"error {e3}");
        }
    }

    [Test]
    public void MiniwgetFetchesTheRootDescription()
    {
        using var body = miniwget(LabEnvironment.RootDescUrl, out int size, 0, out int status);
        Assert.That(status, Is.EqualTo(200));
        Assert.That(size, Is.GreaterThan(0));
        Assert.That(Encoding.UTF8.GetString(body.ToArray()), Does.Contain("InternetGatewayDevice"));
        using var body2 = miniwget_getaddr(LabEnvironment.RootDescUrl, out int size2, out string addr, 0, out int status2);
        Assert.That((status2, size2, addr), Is.EqualTo((200, size, LabEnvironment.LanAddr)));
        var data = new IGDdatas();
        parserootdesc(body2.ToArray(), data);
        using var urls = new SafeUrlsHandle();
        GetUPNPUrls(urls, data, LabEnvironment.RootDescUrl, 0);
        Assert.That(urls.controlURL, Is.EqualTo(_urls.controlURL));
        Assert.That(urls.rootdescURL, Is.EqualTo(LabEnvironment.RootDescUrl));
    }

    [Test]
    public void ReadOnlyCommands()
    {
        Assert.That(UPNP_GetExternalIPAddress(Ctl, St, out string ext), Is.EqualTo(UPNPCOMMAND_SUCCESS));
        Assert.That(ext, Is.EqualTo(LabEnvironment.IgdWanAddr));
        Assert.That(UPNP_GetStatusInfo(Ctl, St, out string status, out _, out string lastError), Is.EqualTo(UPNPCOMMAND_SUCCESS));
        Assert.That((status, lastError), Is.EqualTo(("Connected", "ERROR_NONE")));
        Assert.That(UPNP_GetConnectionTypeInfo(Ctl, St, out string type), Is.EqualTo(UPNPCOMMAND_SUCCESS));
        Assert.That(type, Is.EqualTo("IP_Routed"));
        Assert.That(UPNP_GetLinkLayerMaxBitRates(_urls.controlURL_CIF, _data.CIF.servicetype, out uint down, out uint up), Is.EqualTo(UPNPCOMMAND_SUCCESS));
        TestContext.Out.WriteLine($"link {down}/{up} bit/s");
        Assert.That(UPNP_GetTotalBytesSent(_urls.controlURL_CIF, _data.CIF.servicetype), Is.LessThan(ulong.MaxValue - 10));
        Assert.That(UPNP_GetTotalBytesReceived(_urls.controlURL_CIF, _data.CIF.servicetype), Is.LessThan(ulong.MaxValue - 10));
        Assert.That(UPNP_GetTotalPacketsSent(_urls.controlURL_CIF, _data.CIF.servicetype), Is.LessThan(ulong.MaxValue - 10));
        Assert.That(UPNP_GetTotalPacketsReceived(_urls.controlURL_CIF, _data.CIF.servicetype), Is.LessThan(ulong.MaxValue - 10));
    }

    [Test]
    public void MappingCommandsReturnTheCCodesUnchanged()
    {
        Assert.That(UPNP_AddPortMapping(Ctl, St, "41000", "4100", _lanaddr, "c-named", "TCP", null, "0"), Is.EqualTo(UPNPCOMMAND_SUCCESS));
        try
        {
            Assert.That(UPNP_AddPortMapping(Ctl, St, "41000", "4100", LabEnvironment.OtherLanHost, "x", "TCP", null, "0"), Is.EqualTo(718));
            Assert.That(UPNP_GetSpecificPortMappingEntry(Ctl, St, "41000", "TCP", null, out string client, out string port,
                out string desc, out string enabled, out string lease), Is.EqualTo(UPNPCOMMAND_SUCCESS));
            // miniupnpd turns a lease of 0 into its maximum, 604800 s (IGD:2 has no permanent mappings); the remaining
            // seconds tick, so a second boundary may have passed since the add.
            Assert.That((client, port, desc, enabled), Is.EqualTo((_lanaddr, "4100", "c-named", "1")));
            Assert.That(int.Parse(lease, System.Globalization.CultureInfo.InvariantCulture), Is.InRange(604000, 604800));
            Assert.That(UPNP_GetSpecificPortMappingEntryExt(Ctl, St, "41000", "TCP", null, out client, out port,
                out desc, 4, out enabled, out lease), Is.EqualTo(UPNPCOMMAND_SUCCESS));
            Assert.That(desc, Is.EqualTo("c-n"), "the description is cut to desclen-1 bytes");
            // Not an action of IGD:2's WANIPConnection: miniupnpd answers 401 Invalid Action.
            Assert.That(UPNP_GetPortMappingNumberOfEntries(Ctl, St, out _), Is.EqualTo(401));
            int found = -1;
            for (int i = 0; i < 64 && found < 0; i++)
            {
                if (UPNP_GetGenericPortMappingEntry(Ctl, St, i.ToString(System.Globalization.CultureInfo.InvariantCulture), out string ePort, out _, out _,
                        out _, out _, out _, out _, out _) != UPNPCOMMAND_SUCCESS)
                {
                    break;
                }
                if (ePort == "41000")
                {
                    found = i;
                }
            }
            Assert.That(found, Is.GreaterThanOrEqualTo(0));
            Assert.That(UPNP_GetGenericPortMappingEntryExt(Ctl, St, found.ToString(System.Globalization.CultureInfo.InvariantCulture),
                out string e, out string c, out string ip, out string proto, out string d, 256, out string en, out string rh, 64, out string dur),
                Is.EqualTo(UPNPCOMMAND_SUCCESS));
            Assert.That((e, c, ip, proto, d, en, rh), Is.EqualTo(("41000", _lanaddr, "4100", "TCP", "c-named", "1", "")));
            Assert.That(int.Parse(dur, System.Globalization.CultureInfo.InvariantCulture), Is.InRange(604000, 604800));
            Assert.That(UPNP_GetGenericPortMappingEntry(Ctl, St, "9999", out _, out _, out _, out _, out _, out _, out _, out _), Is.EqualTo(713));

            using var listing = new SafePortListingHandle();
            Assert.That(UPNP_GetListOfPortMappings(Ctl, St, "40999", "41001", "TCP", "100", listing), Is.EqualTo(UPNPCOMMAND_SUCCESS));
            Assert.That(listing.Entries.Single() with { leaseTime = 0 }, Is.EqualTo(new PortMapping(0, 41000, 4100, "", _lanaddr, "c-named", "TCP", 1)));
            // Another host holds 41002: AddAnyPortMapping picks another external port for us.
            Assert.That(UPNP_AddPortMapping(Ctl, St, "41002", "4102", LabEnvironment.OtherLanHost, "holder", "TCP", null, "0"), Is.EqualTo(UPNPCOMMAND_SUCCESS));
            Assert.That(UPNP_AddAnyPortMapping(Ctl, St, "41002", "4101", _lanaddr, "any", "TCP", null, "0", out string reserved), Is.EqualTo(UPNPCOMMAND_SUCCESS));
            Assert.That(reserved, Is.Not.EqualTo("41002").And.Not.Empty);
            Assert.That(UPNP_DeletePortMapping(Ctl, St, reserved, "TCP", null), Is.EqualTo(UPNPCOMMAND_SUCCESS));
            Assert.That(UPNP_DeletePortMapping(Ctl, St, "41002", "TCP", null), Is.EqualTo(UPNPCOMMAND_SUCCESS));
        }
        finally
        {
            Assert.That(UPNP_DeletePortMapping(Ctl, St, "41000", "TCP", null), Is.EqualTo(UPNPCOMMAND_SUCCESS));
        }
        Assert.That(UPNP_GetSpecificPortMappingEntry(Ctl, St, "41000", "TCP", null, out _, out _, out _, out _, out _), Is.EqualTo(714));
        Assert.That(UPNP_DeletePortMappingRange(Ctl, St, "41000", "41010", "TCP", "1"), Is.EqualTo(730));
        Assert.That(UPNP_AddPortMapping(Ctl, St, "41000", "4100", null, null, "TCP", null, null), Is.EqualTo(UPNPCOMMAND_INVALID_ARGS));
    }

    [Test]
    public void Ipv6FirewallControlPinholes()
    {
        // Pinholes are for our own IPv6 address, so the IGD is reached over IPv6.
        using var urls = new SafeUrlsHandle();
        var data = new IGDdatas();
        Assert.That(UPNP_GetIGDFromUrl(LabEnvironment.RootDescUrl6, urls, data, out string lan6), Is.EqualTo(1));
        string ctl = urls.controlURL_6FC, st = data.IPv6FC.servicetype;
        Assert.That(st, Is.EqualTo("urn:schemas-upnp-org:service:WANIPv6FirewallControl:1"));
        Assert.That(UPNP_GetFirewallStatus(ctl, st, out int enabled, out int allowed), Is.EqualTo(UPNPCOMMAND_SUCCESS));
        Assert.That((enabled, allowed), Is.EqualTo((1, 1)));
        Assert.That(UPNP_GetOutboundPinholeTimeout(ctl, st, LabEnvironment.WanAddr6, "0", LabEnvironment.LanAddr6, "5000", "6", out int timeout),
            Is.EqualTo(501), "miniupnpd 2.3.1 answers 501 ActionFailed: it does not implement outbound pinhole timeouts");
        TestContext.Out.WriteLine($"outbound pinhole timeout {timeout}, our address over IPv6 {lan6}");

        Assert.That(UPNP_AddPinhole(ctl, st, "", "0", LabEnvironment.LanAddr6, "5000", "6", "600", out string id), Is.EqualTo(UPNPCOMMAND_SUCCESS));
        Assert.That(id, Is.Not.Empty);
        Assert.That(UPNP_UpdatePinhole(ctl, st, id, "1200"), Is.EqualTo(UPNPCOMMAND_SUCCESS));
        // design.md: the lab's nft rule has no counter, so miniupnpd answers 709 NoTrafficReceived here.
        Assert.That(UPNP_CheckPinholeWorking(ctl, st, id, out _), Is.EqualTo(709));
        Assert.That(UPNP_GetPinholePackets(ctl, st, id, out int packets), Is.EqualTo(UPNPCOMMAND_SUCCESS));
        Assert.That(packets, Is.Zero);
        Assert.That(UPNP_DeletePinhole(ctl, st, id), Is.EqualTo(UPNPCOMMAND_SUCCESS));
        Assert.That(UPNP_DeletePinhole(ctl, st, id), Is.EqualTo(402), "miniupnpd 2.3.1 answers an unknown pinhole id with 402");
        Assert.That(UPNP_AddPinhole(ctl, st, "", "0", LabEnvironment.LanAddr6, "5000", "6", "0", out _), Is.EqualTo(402), "a lease of 0 is refused");
    }
}
