using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;
using MiniUpnp.Net.Tests.Support;

namespace MiniUpnp.Net.Tests.Hostile;

/// <summary>Which request of a test cell gets the hostile behaviour of an HTTP-layer case.</summary>
internal enum HostileTarget
{
    /// <summary>The root description fetch (SelectIgd, OpenAsync, discovery probes).</summary>
    Description,

    /// <summary>The SOAP control requests (every IGD action).</summary>
    Control,
}

/// <summary>Where an SSDP answer is sent from and what it may name.</summary>
/// <param name="DescriptionUrl">The router's own (hostile or not) root description URL.</param>
/// <param name="SearchTarget">The ST asked for.</param>
/// <param name="ClosedPortUrl">A URL on another lab address whose port is closed.</param>
/// <param name="ForeignUrl">The real miniupnpd's root description (another lab address).</param>
internal sealed record SsdpContext(string DescriptionUrl, string SearchTarget, string ClosedPortUrl, string ForeignUrl);

/// <summary>
/// A hostile router for one test cell: the tests' <see cref="FakeRouter"/> (HTTP on <c>address</c>, loopback by
/// default, SSDP on UDP, optionally minissdpd on a unix socket) with its three responders replaced by the case's.
/// What the case does not replace is a plain valid IGD:2 (<see cref="Descriptions.Igd"/>, <see cref="Soap.Normal"/>);
/// the router's <see cref="FakeRouter.Armed"/> (true unless set) says whether the case applies yet.
/// </summary>
internal static class HostileRouter
{
    internal const string IpConnection = "urn:schemas-upnp-org:service:WANIPConnection:2";
    internal const string CommonInterface = "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1";
    internal const string Firewall = "urn:schemas-upnp-org:service:WANIPv6FirewallControl:1";

    /// <param name="hostileCase">What the router does.</param>
    /// <param name="target">Which HTTP request an HTTP-layer case takes over.</param>
    /// <param name="address">Where it listens (loopback if null).</param>
    /// <param name="closedPortUrl">A URL on another lab address whose port is closed (SSDP cases may name it).</param>
    /// <param name="foreignUrl">The real miniupnpd's root description (SSDP cases may name it).</param>
    /// <param name="withMinissdpd">Also serve minissdpd's socket (<see cref="FakeRouter.MinissdpdSocket"/>).</param>
    internal static FakeRouter Create(HostileCase hostileCase, HostileTarget target, IPAddress? address, string closedPortUrl, string foreignUrl,
        bool withMinissdpd)
    {
        var router = new FakeRouter(address, withMinissdpd);
        if (hostileCase.Refuse && target == HostileTarget.Description)
        {
            // The root description URL a member is given (and SSDP names) is a closed port.
            router.AnnouncedLocation = $"http://{HostOf(router)}:{router.ClosedPort}/rootDesc.xml";
        }
        SsdpContext Context(string st) => new(router.DescriptionUrl, st, closedPortUrl, foreignUrl);
        router.SsdpResponder = st => hostileCase.Ssdp is { } ssdp ? ssdp(Context(st)) : new[] { SsdpReply.Answer(st, router.DescriptionUrl) };
        router.MinissdpdResponder = st => hostileCase.Minissdpd is { } m
            ? m(Context(st))
            : MinissdpdReply.Devices((router.DescriptionUrl, "urn:schemas-upnp-org:device:InternetGatewayDevice:1", "uuid:hostile::igd"));
        router.HttpResponder = x => AnswerAsync(router, hostileCase, target, x);
        return router;
    }

    private static async Task AnswerAsync(FakeRouter router, HostileCase hostileCase, HostileTarget target, RouterExchange exchange)
    {
        bool isDescription = exchange.Action.Length == 0;
        bool armed = router.Armed;
        bool hostile = armed && (isDescription ? HostileTarget.Description : HostileTarget.Control) == target;
        if (hostile && hostileCase.Http is { } http)
        {
            await http(exchange).ConfigureAwait(false);
        }
        else if (isDescription)
        {
            // A description case serves its description to every member: SOAP members then run on what it named.
            string controlBase = hostileCase.Refuse && target == HostileTarget.Control && armed ? $"http://{HostOf(router)}:{router.ClosedPort}" : "";
            byte[] xml = hostileCase.Description is { } d && armed ? d(router) : Encoding.UTF8.GetBytes(Descriptions.Valid(controlBase));
            await exchange.WriteAsync(RouterExchange.Response(200, "OK", xml)).ConfigureAwait(false);
        }
        else
        {
            var (status, reply) = hostileCase.Soap is { } soap && hostile ? soap(exchange.Action, exchange.Body) : Soap.Normal(exchange.Action, exchange.Body);
            await exchange.WriteAsync(RouterExchange.Response(status, status == 200 ? "OK" : "Internal Server Error", reply)).ConfigureAwait(false);
        }
    }

    private static string HostOf(FakeRouter router) =>
        router.Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{router.Address}]" : router.Address.ToString();
}

/// <summary>SSDP answers.</summary>
internal static class SsdpReply
{
    internal static byte[] Answer(string st, string? location, string? extra = null) => Encoding.UTF8.GetBytes(
        "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n" + $"ST: {st}\r\nUSN: uuid:hostile::{st}\r\nEXT:\r\nSERVER: Hostile/1.0 UPnP/1.1 Hostile/1.0\r\n"
        + (location is null ? "" : $"LOCATION: {location}\r\n") + (extra ?? "") + "\r\n");
}

/// <summary>Root descriptions.</summary>
internal static class Descriptions
{
    /// <summary>A plain IGD:2 description; <paramref name="controlBase"/> is put before the control URLs' paths.</summary>
    internal static string Valid(string controlBase = "") => Igd(controlBase + "/ctl/IPConn", controlBase + "/ctl/CmnIfCfg", controlBase + "/ctl/IP6FCtl");

    internal static string Igd(string ipConnCtl, string cifCtl, string fwCtl, string ipConnType = HostileRouter.IpConnection,
        string ns = "urn:schemas-upnp-org:device-1-0") => $"""
        <?xml version="1.0"?>
        <root xmlns="{ns}"><specVersion><major>1</major><minor>1</minor></specVersion>
        <device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:2</deviceType><friendlyName>hostile</friendlyName>
        <UDN>uuid:hostile</UDN><serviceList/>
        <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:2</deviceType><UDN>uuid:hostile-wan</UDN>
        <serviceList><service><serviceType>{HostileRouter.CommonInterface}</serviceType><serviceId>urn:upnp-org:serviceId:WANCommonIFC1</serviceId>
        <controlURL>{cifCtl}</controlURL><eventSubURL>/evt/CmnIfCfg</eventSubURL><SCPDURL>/WANCfg.xml</SCPDURL></service></serviceList>
        <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:2</deviceType><UDN>uuid:hostile-conn</UDN>
        <serviceList><service><serviceType>{ipConnType}</serviceType><serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
        <controlURL>{ipConnCtl}</controlURL><eventSubURL>/evt/IPConn</eventSubURL><SCPDURL>/WANIPCn.xml</SCPDURL></service>
        <service><serviceType>{HostileRouter.Firewall}</serviceType><serviceId>urn:upnp-org:serviceId:WANIPv6Firewall1</serviceId>
        <controlURL>{fwCtl}</controlURL><eventSubURL>/evt/IP6FCtl</eventSubURL><SCPDURL>/WANIP6FC.xml</SCPDURL></service>
        </serviceList></device></deviceList></device></deviceList></device></root>
        """;
}

/// <summary>SOAP answers: a plain, valid one for every action the binding sends, and the pieces hostile cases bend.</summary>
internal static class Soap
{
    /// <summary>The fields a normal answer to <paramref name="action"/> carries.</summary>
    internal static List<(string Name, string Value)> Fields(string action, string request)
    {
        string Arg(string name) => Regex.Match(request, $"<{name}>([^<]*)</{name}>").Groups[1].Value;
        return action switch
        {
            "GetStatusInfo" => new() { ("NewConnectionStatus", "Connected"), ("NewLastConnectionError", "ERROR_NONE"), ("NewUptime", "100") },
            "GetExternalIPAddress" => new() { ("NewExternalIPAddress", "1.2.3.4") },
            "GetConnectionTypeInfo" => new() { ("NewConnectionType", "IP_Routed"), ("NewPossibleConnectionTypes", "IP_Routed") },
            "AddAnyPortMapping" => new() { ("NewReservedPort", Arg("NewExternalPort") is { Length: > 0 } p ? p : "4000") },
            "GetSpecificPortMappingEntry" => new()
            {
                ("NewInternalPort", "4000"), ("NewInternalClient", "127.0.0.1"), ("NewEnabled", "1"),
                ("NewPortMappingDescription", "hostile"), ("NewLeaseDuration", "3600"),
            },
            "GetGenericPortMappingEntry" => int.TryParse(Arg("NewPortMappingIndex"), out int i) && i < 2
                ? new()
                {
                    ("NewRemoteHost", ""), ("NewExternalPort", (4000 + i).ToString(CultureInfo.InvariantCulture)), ("NewProtocol", "TCP"),
                    ("NewInternalPort", "4000"), ("NewInternalClient", "127.0.0.1"), ("NewEnabled", "1"),
                    ("NewPortMappingDescription", "hostile"), ("NewLeaseDuration", "3600"),
                }
                : new() { ("__fault", "713") },
            "GetPortMappingNumberOfEntries" => new() { ("NewPortMappingNumberOfEntries", "2") },
            "GetListOfPortMappings" => new() { ("NewPortListing", PortListing(2, Arg("NewProtocol") is { Length: > 0 } proto ? proto : "TCP")) },
            "GetTotalBytesSent" => new() { ("NewTotalBytesSent", "1") },
            "GetTotalBytesReceived" => new() { ("NewTotalBytesReceived", "1") },
            "GetTotalPacketsSent" => new() { ("NewTotalPacketsSent", "1") },
            "GetTotalPacketsReceived" => new() { ("NewTotalPacketsReceived", "1") },
            "GetFirewallStatus" => new() { ("FirewallEnabled", "1"), ("InboundPinholeAllowed", "1") },
            "AddPinhole" => new() { ("UniqueID", "7") },
            "CheckPinholeWorking" => new() { ("IsWorking", "1") },
            _ => new(),
        };
    }

    /// <summary>An escaped GetListOfPortMappings document with <paramref name="count"/> entries.</summary>
    internal static string PortListing(int count, string protocol, Func<int, string>? entry = null)
    {
        var sb = new StringBuilder("<p:PortMappingList xmlns:p=\"urn:schemas-upnp-org:gw:WANIPConnection\">");
        for (int i = 0; i < count; i++)
        {
            sb.Append(entry?.Invoke(i) ?? $"<p:PortMappingEntry><p:NewRemoteHost></p:NewRemoteHost><p:NewExternalPort>{4000 + (i % 60000)}</p:NewExternalPort>"
                + $"<p:NewProtocol>{protocol}</p:NewProtocol><p:NewInternalPort>4000</p:NewInternalPort><p:NewInternalClient>127.0.0.1</p:NewInternalClient>"
                + "<p:NewEnabled>1</p:NewEnabled><p:NewDescription>hostile</p:NewDescription><p:NewLeaseTime>3600</p:NewLeaseTime></p:PortMappingEntry>");
        }
        sb.Append("</p:PortMappingList>");
        // miniupnpd sends the listing as CDATA; miniupnpc's reply parser does not decode entities.
        return "<![CDATA[" + sb + "]]>";
    }

    internal static (int, byte[]) Normal(string action, string request) => Reply(action, Fields(action, request));

    internal static (int, byte[]) Reply(string action, List<(string Name, string Value)> fields, bool escape = true)
    {
        foreach (var (name, value) in fields)
        {
            if (name == "__fault")
            {
                return Fault(value, "hostile");
            }
        }
        var sb = new StringBuilder();
        foreach (var (name, value) in fields)
        {
            sb.Append('<').Append(name).Append('>').Append(value).Append("</").Append(name).Append('>');
        }
        return (200, Encoding.UTF8.GetBytes(Envelope($"<u:{action}Response xmlns:u=\"{HostileRouter.IpConnection}\">{sb}</u:{action}Response>")));
    }

    internal static string Envelope(string inner) =>
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" " +
        $"s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>{inner}</s:Body></s:Envelope>";

    internal static (int, byte[]) Fault(string code, string description) => (500, Encoding.UTF8.GetBytes(Envelope(
        "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>" +
        $"<UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode>{code}</errorCode><errorDescription>{description}</errorDescription>" +
        "</UPnPError></detail></s:Fault>")));
}
