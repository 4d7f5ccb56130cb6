using System;
using System.Linq;
using System.Net;
using System.Text;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Gateway;

/// <summary>The pure pieces: the M-SEARCH text, parsing SSDP answers, miniupnpc's reserved-address list, error codes.</summary>
public class SsdpAndAddressTests
{
    [Test]
    public void TheSearchRequestIsAnSsdpMSearch()
    {
        string text = Encoding.ASCII.GetString(Ssdp.Request(Ssdp.MulticastEndPoint, "urn:schemas-upnp-org:device:InternetGatewayDevice:1"));
        Assert.That(text, Is.EqualTo(
            "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n" +
            "MAN: \"ssdp:discover\"\r\nMX: 2\r\n\r\n"));
    }

    [Test]
    public void AnAnswerIsParsedWhateverTheCaseOfItsHeaders()
    {
        var answer = Ssdp.Parse(Encoding.ASCII.GetBytes(
            "HTTP/1.1 200 OK\r\ncache-control: max-age=120\r\nst: urn:x\r\nusn: uuid:1::urn:x\r\nExt:\r\n" +
            "Server: Linux UPnP/1.1 MiniUPnPd/2.3.1\r\nLocation:   http://10.0.0.1:5000/rootDesc.xml  \r\n\r\n"));
        Assert.That(answer, Is.EqualTo(new Ssdp.Answer("http://10.0.0.1:5000/rootDesc.xml", "urn:x", "uuid:1::urn:x", "Linux UPnP/1.1 MiniUPnPd/2.3.1")));
    }

    [TestCase("NOTIFY * HTTP/1.1\r\nLOCATION: http://10.0.0.1/\r\n\r\n", TestName = "a NOTIFY")]
    [TestCase("HTTP/1.1 404 Not Found\r\nLOCATION: http://10.0.0.1/\r\n\r\n", TestName = "not 200")]
    [TestCase("HTTP/1.1 200 OK\r\nST: urn:x\r\n\r\n", TestName = "no LOCATION")]
    [TestCase("HTTP/1.1 200 OK\r\nLOCATION:\r\n\r\n", TestName = "empty LOCATION")]
    [TestCase("", TestName = "empty datagram")]
    [TestCase("garbage", TestName = "garbage")]
    public void WhatIsNotAnAnswerWithALocationIsIgnored(string datagram) =>
        Assert.That(Ssdp.Parse(Encoding.ASCII.GetBytes(datagram)), Is.Null);

    [Test]
    public void AnOversizedDatagramIsIgnored() =>
        Assert.That(Ssdp.Parse(new byte[Ssdp.MaxDatagram + 1]), Is.Null);

    [Test]
    public void DefaultGatewaysAreReadFromProcNetRoute()
    {
        string file = System.IO.Path.GetTempFileName();
        try
        {
            System.IO.File.WriteAllText(file,
                "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
                "eth0\t00000000\t01CEC10A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +   // default via 10.193.206.1
                "eth0\t00CEC10A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +   // the LAN itself: no gateway
                "wg0\t00000000\t0101A8C0\t0001\t0\t0\t0\t00000000\t0\t0\t0\n" +    // not flagged as a gateway
                "eth1\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n" + // default via 192.168.1.1
                "eth2\t00000000\t01CEC10A\t0003\t0\t0\t200\t00000000\t0\t0\t0\n" + // the same gateway again
                "garbage\n");
            Assert.That(Ssdp.TryReadProcNetRoute(file, out var gateways), Is.True);
            if (BitConverter.IsLittleEndian)
            {
                Assert.That(gateways, Is.EqualTo(new[] { IPAddress.Parse("10.193.206.1"), IPAddress.Parse("192.168.1.1") }));
            }
            Assert.That(Ssdp.TryReadProcNetRoute(file + ".missing", out _), Is.False);
        }
        finally
        {
            System.IO.File.Delete(file);
        }
    }

    [TestCase("100.64.110.1", true, TestName = "carrier-grade NAT 100.64/10")]
    [TestCase("100.127.255.255", true, TestName = "end of 100.64/10")]
    [TestCase("100.128.0.1", false, TestName = "just past 100.64/10")]
    [TestCase("10.1.2.3", true, TestName = "RFC1918 10/8")]
    [TestCase("172.31.0.1", true, TestName = "RFC1918 172.16/12")]
    [TestCase("172.32.0.1", false, TestName = "past 172.16/12")]
    [TestCase("192.168.1.1", true, TestName = "RFC1918 192.168/16")]
    [TestCase("198.19.0.1", true, TestName = "benchmarking 198.18/15")]
    [TestCase("203.0.113.9", true, TestName = "TEST-NET-3")]
    [TestCase("224.0.0.1", true, TestName = "multicast")]
    [TestCase("255.255.255.255", true, TestName = "broadcast")]
    [TestCase("8.8.8.8", false, TestName = "public")]
    [TestCase("1.2.3.4", false, TestName = "public 1.2.3.4")]
    [TestCase("", true, TestName = "empty text")]
    [TestCase("1.2.3", true, TestName = "three parts")]
    [TestCase("01.2.3.4", true, TestName = "leading zero (inet_pton refuses it)")]
    [TestCase("0x8.8.8.8", true, TestName = "hex")]
    [TestCase("8.8.8.256", true, TestName = "part above 255")]
    [TestCase("2001:db8::1", true, TestName = "IPv6 text")]
    public void ReservedAddressesAreMiniupnpcs(string address, bool reserved) =>
        Assert.That(ReservedAddresses.IsReserved(address), Is.EqualTo(reserved));

    /// <summary>The default search targets are miniupnpc's own (upnpDiscover's deviceList in miniupnpc.c, read from the
    /// pinned source) plus the IGD:2 pair upstream keeps under <c>#if 0</c>, less "upnp:rootdevice" (every root device of
    /// the LAN answers it: printers, TVs, none of them an IGD; miniupnpc asks it last, after the IGD targets).</summary>
    [Test]
    public void DefaultSearchTargetsAreMiniupnpcsWithIgd2()
    {
        string source = System.IO.File.ReadAllText(System.IO.Path.Combine(TestPaths.UpstreamSource, "src", "miniupnpc.c"));
        string list = System.Text.RegularExpressions.Regex.Match(source,
            @"upnpDiscover\(int delay.*?deviceList\[\] = \{(.*?)\n\s*0\s*\n", System.Text.RegularExpressions.RegexOptions.Singleline).Groups[1].Value;
        string disabled = System.Text.RegularExpressions.Regex.Match(list, @"#if 0(.*?)#endif", System.Text.RegularExpressions.RegexOptions.Singleline).Groups[1].Value;
        string active = System.Text.RegularExpressions.Regex.Replace(list, @"#if 0.*?#endif|/\*.*?\*/", "", System.Text.RegularExpressions.RegexOptions.Singleline);
        static string[] Quoted(string text) => System.Text.RegularExpressions.Regex.Matches(text, "\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToArray();
        var upstream = Quoted(active);
        Assert.That(upstream, Does.Contain("upnp:rootdevice").And.Contain("urn:schemas-upnp-org:device:InternetGatewayDevice:1"), "upnpDiscover's list was found");
        Assert.That(GatewayDiscoveryOptions.DefaultSearchTargets,
            Is.EquivalentTo(upstream.Where(t => t != "upnp:rootdevice").Concat(Quoted(disabled))));
    }

    /// <summary>ReservedAddresses is a copy of miniupnpc's table (src/addr_is_reserved.c): read the table from the
    /// pinned source itself and compare, block by block, so that a new upstream block cannot be missed.</summary>
    [Test]
    public void ReservedBlocksAreUpstreamsTable()
    {
        string source = System.IO.File.ReadAllText(System.IO.Path.Combine(TestPaths.UpstreamSource, "src", "addr_is_reserved.c"));
        var upstream = System.Text.RegularExpressions.Regex.Matches(source,
                @"\{\s*IP\(\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+)\)\s*,\s*MSK\(\s*(\d+)\)\s*\}")
            .Select(m => ((uint.Parse(m.Groups[1].Value) << 24) | (uint.Parse(m.Groups[2].Value) << 16)
                          | (uint.Parse(m.Groups[3].Value) << 8) | uint.Parse(m.Groups[4].Value), int.Parse(m.Groups[5].Value)))
            .ToArray();
        Assert.That(upstream, Has.Length.GreaterThan(10), "the table was found in addr_is_reserved.c");
        Assert.That(ReservedAddresses.Blocks, Is.EqualTo(upstream));
    }

    [Test]
    public void ErrorCodesAreTheUPnPNumbers()
    {
        Assert.Multiple(() =>
        {
            Assert.That((int)UpnpErrorCode.NoSuchEntryInArray, Is.EqualTo(714));
            Assert.That((int)UpnpErrorCode.ConflictInMappingEntry, Is.EqualTo(718));
            Assert.That((int)UpnpErrorCode.SamePortValuesRequired, Is.EqualTo(724));
            Assert.That((int)UpnpErrorCode.OnlyPermanentLeasesSupported, Is.EqualTo(725));
            Assert.That((int)UpnpErrorCode.InvalidArgs, Is.EqualTo(402));
            Assert.That((int)UpnpErrorCode.ActionFailed, Is.EqualTo(501));
            Assert.That((int)UpnpErrorCode.ActionNotAuthorized, Is.EqualTo(606));
            Assert.That((int)UpnpErrorCode.HttpError, Is.EqualTo(Miniupnpc.UPNPCOMMAND_HTTP_ERROR));
            Assert.That((int)UpnpErrorCode.InvalidResponse, Is.EqualTo(Miniupnpc.UPNPCOMMAND_INVALID_RESPONSE));
            Assert.That((int)UpnpErrorCode.DiscoverySocketError, Is.EqualTo(Miniupnpc.UPNPDISCOVER_SOCKET_ERROR));
        });
        // Every named UPnP code has miniupnpc's text under the same name (strupnperror), spaces aside.
        foreach (UpnpErrorCode code in Enum.GetValues<UpnpErrorCode>())
        {
            if ((int)code is >= 700)
            {
                Assert.That(Miniupnpc.strupnperror((int)code), Is.EqualTo(code.ToString()), $"{(int)code}");
            }
        }
    }

    [Test]
    public void TheStateValuesAreMiniupnpcs()
    {
        Assert.Multiple(() =>
        {
            Assert.That((int)GatewayState.Connected, Is.EqualTo(Miniupnpc.UPNP_CONNECTED_IGD));
            Assert.That((int)GatewayState.ConnectedWithReservedAddress, Is.EqualTo(Miniupnpc.UPNP_PRIVATEIP_IGD));
            Assert.That((int)GatewayState.NotConnected, Is.EqualTo(Miniupnpc.UPNP_DISCONNECTED_IGD));
            Assert.That((int)GatewayState.UnrecognizedDevice, Is.EqualTo(Miniupnpc.UPNP_UNKNOWN_DEVICE));
        });
    }

    [Test]
    public void EntriesFromTheRouterAreValidated()
    {
        var ok = UpnpGateway.ParseEntry(PortMappingProtocol.Tcp, 80, "10.0.0.2", "8080", "d", "1", "", "3600");
        Assert.That(ok, Is.EqualTo(new PortMappingEntry(PortMappingProtocol.Tcp, 80, IPAddress.Parse("10.0.0.2"), 8080, "d", true, null,
            TimeSpan.FromHours(1))));
        Assert.Multiple(() =>
        {
            Assert.That(UpnpGateway.ParseEntry(PortMappingProtocol.Udp, 80, "10.0.0.2", "80", "", "0", "", "0").IsPermanent, Is.True);
            Assert.That(Code(() => UpnpGateway.ParseEntry(PortMappingProtocol.Tcp, 80, "not an address", "80", "", "1", "", "0")),
                Is.EqualTo(UpnpErrorCode.InvalidResponse));
            Assert.That(Code(() => UpnpGateway.ParseEntry(PortMappingProtocol.Tcp, 80, "10.0.0.2", "0", "", "1", "", "0")),
                Is.EqualTo(UpnpErrorCode.InvalidResponse));
            Assert.That(Code(() => UpnpGateway.ParseEntry(PortMappingProtocol.Tcp, 80, "10.0.0.2", "65536", "", "1", "", "0")),
                Is.EqualTo(UpnpErrorCode.InvalidResponse));
            Assert.That(Code(() => UpnpGateway.ParseEntry(PortMappingProtocol.Tcp, 80, "10.0.0.2", "80", "", "1", "", "-5")),
                Is.EqualTo(UpnpErrorCode.InvalidResponse));
        });

        static UpnpErrorCode Code(TestDelegate parse) => (UpnpErrorCode)Assert.Throws<UpnpException>(parse)!.Code;
    }
}
