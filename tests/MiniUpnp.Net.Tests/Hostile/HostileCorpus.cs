using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;
using MiniUpnp.Net.Tests.Support;

namespace MiniUpnp.Net.Tests.Hostile;

/// <summary>The layer a hostile case attacks; it decides which members the case is relevant to.</summary>
internal enum HostileLayer
{
    Ssdp,
    Http,
    Description,
    Soap,
}

/// <summary>
/// One hostile behaviour. Whatever a case does not replace is a plain valid IGD:2. <see cref="Hold"/> is how long the
/// router may keep one exchange going (a drip, a silence): the faithful layer's bound adds it to miniupnpc's own.
/// </summary>
internal sealed class HostileCase
{
    internal HostileCase(string name, HostileLayer layer, string what)
    {
        Name = name;
        Layer = layer;
        What = what;
    }

    internal string Name { get; }
    internal HostileLayer Layer { get; }
    internal string What { get; }

    /// <summary>Replaces the targeted HTTP exchange entirely (HTTP layer).</summary>
    internal Func<RouterExchange, Task>? Http { get; init; }

    /// <summary>The targeted URL names a closed port.</summary>
    internal bool Refuse { get; init; }

    /// <summary>The root description served (description layer).</summary>
    internal Func<FakeRouter, byte[]>? Description { get; init; }

    /// <summary>The SOAP answer: (HTTP status, body) for (action, request body).</summary>
    internal Func<string, string, (int, byte[])>? Soap { get; init; }

    /// <summary>The datagrams sent back to one M-SEARCH.</summary>
    internal Func<SsdpContext, IReadOnlyList<byte[]>>? Ssdp { get; init; }

    /// <summary>minissdpd's answer: null closes without one, an empty array stays silent.</summary>
    internal Func<SsdpContext, byte[]?>? Minissdpd { get; init; }

    /// <summary>How long one exchange may be held by the router (drips, silences).</summary>
    internal TimeSpan Hold { get; init; }

    /// <summary>Big answers: run alone, with the process's memory measured around it.</summary>
    internal bool Heavy { get; init; }

    /// <summary>Checks of the outcome beyond the bound (the security case: the async layer must not take the gateway).</summary>
    internal Func<string, object?, string?>? Expect { get; init; }

    public override string ToString() => Name;
}

/// <summary>The corpus: at least 40 cases across SSDP, HTTP, description XML and SOAP replies.</summary>
internal static class HostileCorpus
{
    internal static readonly TimeSpan DripInterval = TimeSpan.FromSeconds(2);
    internal static readonly TimeSpan DripTotal = TimeSpan.FromSeconds(6);
    internal static readonly TimeSpan SilentHold = TimeSpan.FromSeconds(8);

    private const string Igd1 = "urn:schemas-upnp-org:device:InternetGatewayDevice:1";

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] Garbage(int n, int seed)
    {
        var bytes = new byte[n];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static (int, byte[]) Bend(string action, string request, Func<string, string, string> field)
    {
        var fields = global::MiniUpnp.Net.Tests.Hostile.Soap.Fields(action, request)
            .Select(f => f.Name == "__fault" ? f : (f.Name, field(f.Name, f.Value))).ToList();
        return global::MiniUpnp.Net.Tests.Hostile.Soap.Reply(action, fields);
    }

    private static bool IsPort(string name) => name.EndsWith("Port", StringComparison.Ordinal) || name == "UniqueID";
    private static bool IsNumber(string name) => IsPort(name) || name is "NewUptime" or "NewLeaseDuration" or "NewPortMappingNumberOfEntries"
        or "NewTotalBytesSent" or "NewTotalBytesReceived" or "NewTotalPacketsSent" or "NewTotalPacketsReceived" or "FirewallEnabled"
        or "InboundPinholeAllowed" or "IsWorking" or "NewEnabled";

    internal static IReadOnlyList<HostileCase> All { get; } = Build();

    private static List<HostileCase> Build()
    {
        var cases = new List<HostileCase>();
        string longText = new('A', 100_000);

        // ---------------------------------------------------------------- SSDP
        cases.Add(new("ssdp-no-reply", HostileLayer.Ssdp, "no answer to the search; minissdpd closes without a word")
        {
            Ssdp = _ => Array.Empty<byte[]>(),
            Minissdpd = _ => null,
        });
        cases.Add(new("ssdp-silent-minissdpd", HostileLayer.Ssdp, "minissdpd accepts and never answers (miniupnpc: 3 s read timeout per device type)")
        {
            Ssdp = _ => Array.Empty<byte[]>(),
            Minissdpd = _ => Array.Empty<byte>(),
        });
        cases.Add(new("ssdp-garbage", HostileLayer.Ssdp, "random bytes as the answer")
        {
            Ssdp = _ => new[] { Garbage(1400, 1), Garbage(3, 2) },
            Minissdpd = _ => Garbage(3000, 3),
        });
        cases.Add(new("ssdp-no-location", HostileLayer.Ssdp, "a 200 answer without LOCATION; minissdpd: empty URL")
        {
            Ssdp = c => new[] { SsdpReply.Answer(c.SearchTarget, null) },
            Minissdpd = _ => MinissdpdReply.Devices(("", Igd1, "uuid:x")),
        });
        cases.Add(new("ssdp-empty-location", HostileLayer.Ssdp, "LOCATION: with nothing after it")
        {
            Ssdp = c => new[] { SsdpReply.Answer(c.SearchTarget, "") },
            Minissdpd = _ => MinissdpdReply.Devices((" ", Igd1, "uuid:x")),
        });
        cases.Add(new("ssdp-overlong-location", HostileLayer.Ssdp, "LOCATION of 8000 characters (minissdpd: 1 MB)")
        {
            Ssdp = c => new[] { SsdpReply.Answer(c.SearchTarget, c.DescriptionUrl + "?" + new string('x', 8000)) },
            Minissdpd = c => MinissdpdReply.Devices((c.DescriptionUrl + "?" + new string('x', 1 << 20), Igd1, "uuid:x")),
        });
        cases.Add(new("ssdp-location-closed-port", HostileLayer.Ssdp, "LOCATION names a closed port of another lab address")
        {
            Ssdp = c => new[] { SsdpReply.Answer(c.SearchTarget, c.ClosedPortUrl) },
            Minissdpd = c => MinissdpdReply.Devices((c.ClosedPortUrl, Igd1, "uuid:x")),
        });
        cases.Add(new("ssdp-location-not-http", HostileLayer.Ssdp, "LOCATION: file:///etc/passwd")
        {
            Ssdp = c => new[] { SsdpReply.Answer(c.SearchTarget, "file:///etc/passwd") },
            Minissdpd = _ => MinissdpdReply.Devices(("file:///etc/passwd", Igd1, "uuid:x")),
        });
        cases.Add(new("ssdp-flood", HostileLayer.Ssdp, "2000 answers to one search, each a distinct LOCATION (minissdpd: 255 devices)")
        {
            Ssdp = c => Enumerable.Range(0, 2000).Select(i => SsdpReply.Answer(c.SearchTarget, $"{c.DescriptionUrl}?n={i}")).ToArray(),
            Minissdpd = c => MinissdpdReply.Devices(Enumerable.Range(0, 255).Select(i => ($"{c.DescriptionUrl}?n={i}", Igd1, $"uuid:{i}")).ToArray()),
        });
        cases.Add(new("ssdp-binary-headers", HostileLayer.Ssdp, "NULs, invalid UTF-8 and 200 headers in the answer")
        {
            Ssdp = c => new[] { RouterExchange.Concat(SsdpReply.Answer(c.SearchTarget, c.DescriptionUrl + "\0\u00ff",
                string.Concat(Enumerable.Range(0, 200).Select(i => $"X-{i}: \0\r\n"))), new byte[] { 0xff, 0xfe, 0 }) },
            Minissdpd = c => RouterExchange.Concat(new byte[] { 1, 0x90, 0x80, 0x80, 0x80, 0x00 }, Garbage(100, 4)),
        });
        cases.Add(new("ssdp-foreign-location", HostileLayer.Ssdp,
            "the answer names the real miniupnpd's description (another lab address): the async layer must ignore it")
        {
            Ssdp = c => new[] { SsdpReply.Answer(c.SearchTarget, c.ForeignUrl) },
            Minissdpd = c => MinissdpdReply.Devices((c.ForeignUrl, Igd1, "uuid:x")),
            Expect = (member, value) => member.StartsWith("A.", StringComparison.Ordinal) && value is UpnpGateway g
                ? $"the async layer took the foreign description {g.RootDescriptionUrl}"
                : member.StartsWith("A.", StringComparison.Ordinal) && value is GatewayDiscoveryResult { Gateway: { } gw }
                    ? $"the async layer took the foreign description {gw.RootDescriptionUrl}"
                    : null,
        });

        // ---------------------------------------------------------------- HTTP (description or control, per member)
        cases.Add(new("http-refused", HostileLayer.Http, "connection refused (the URL names a closed port)") { Refuse = true });
        cases.Add(new("http-reset", HostileLayer.Http, "request read, then RST") { Http = x => { x.Reset(); return Task.CompletedTask; } });
        cases.Add(new("http-close-at-once", HostileLayer.Http, "request read, then FIN without a byte") { Http = _ => Task.CompletedTask });
        cases.Add(new("http-reset-mid-body", HostileLayer.Http, "headers and half a body, then RST")
        {
            Http = async x =>
            {
                await x.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 4000\r\n\r\n<?xml version=\"1.0\"?><root>");
                await Task.Delay(50);
                x.Reset();
            },
        });
        cases.Add(new("http-silent", HostileLayer.Http, $"accepted, request read, then silent for {SilentHold.TotalSeconds} s")
        {
            Http = x => x.SilentAsync(SilentHold),
            Hold = SilentHold,
        });
        cases.Add(new("http-drip", HostileLayer.Http, $"a valid answer dripped one byte every {DripInterval.TotalSeconds} s for {DripTotal.TotalSeconds} s")
        {
            Http = x => x.DripAsync(RouterExchange.Response(200, "OK", B(Soap.Envelope(""))), DripInterval, DripTotal),
            Hold = DripTotal,
        });
        cases.Add(new("http-truncated", HostileLayer.Http, "Content-Length 5000, 60 bytes sent, then FIN")
        {
            Http = x => x.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n<?xml version=\"1.0\"?><root><device><serviceList>"),
        });
        cases.Add(new("http-content-length-short", HostileLayer.Http, "Content-Length 10 for a whole document")
        {
            Http = async x =>
            {
                string body = x.Action.Length == 0 ? Descriptions.Igd("/ctl/IPConn", "/ctl/CmnIfCfg", "/ctl/IP6FCtl") : Encoding.UTF8.GetString(Soap.Normal(x.Action, x.Body).Item2);
                await x.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" + body);
            },
        });
        cases.Add(new("http-huge-content-length", HostileLayer.Http, "Content-Length 2147483000, 4000 bytes, 1 s of silence, then FIN")
        {
            Http = async x =>
            {
                // More than miniwget's first 2048-byte buffer: it then reallocs to the announced length.
                await x.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2147483000\r\n\r\n" + new string(' ', 4000));
                await x.SilentAsync(TimeSpan.FromSeconds(1)); // long enough for the memory watch to see the reservation
            },
            Hold = TimeSpan.FromSeconds(1),
            Heavy = true,
        });
        cases.Add(new("http-negative-content-length", HostileLayer.Http, "Content-Length -5")
        {
            Http = x => x.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n<?xml version=\"1.0\"?><root/>"),
        });
        cases.Add(new("http-chunked-broken", HostileLayer.Http, "chunked encoding with a non-hex chunk size")
        {
            Http = x => x.WriteAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n<root>\r\n0\r\n\r\n"),
        });
        cases.Add(new("http-chunked-huge", HostileLayer.Http, "chunk size ffffffff, 100 bytes, then FIN")
        {
            Http = x => x.WriteAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n" + new string('<', 100)),
            Heavy = true,
        });
        cases.Add(new("http-10mb-body", HostileLayer.Http, "a 10 MB body (valid start, then whitespace)")
        {
            Http = async x =>
            {
                await x.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Length: {10 << 20}\r\n\r\n");
                byte[] block = B(new string(' ', 1 << 20));
                for (int i = 0; i < 10; i++)
                {
                    await x.WriteAsync(block);
                }
            },
            Heavy = true,
        });
        cases.Add(new("http-huge-headers", HostileLayer.Http, "2 MB of header lines")
        {
            Http = async x =>
            {
                await x.WriteAsync("HTTP/1.1 200 OK\r\n");
                byte[] block = B(string.Concat(Enumerable.Repeat("X-Padding: " + new string('p', 1000) + "\r\n", 1000)));
                await x.WriteAsync(block);
                await x.WriteAsync(block);
                await x.WriteAsync("\r\n");
            },
            // Not a hold but CPU: miniwget looks for the end of the header from the start of its buffer after every
            // receive, so 2 MB of headers cost about 0.6 s of CPU alone, and up to 18 s on the loaded test machine.
            Hold = TimeSpan.FromSeconds(10),
            Heavy = true,
        });
        // Unusual but valid framings: every layer must take them (the async layer's own description fetch included).
        cases.Add(new("http-chunked-valid", HostileLayer.Http, "a valid answer in chunks of 7 bytes, with a chunk extension")
        {
            Http = async x =>
            {
                byte[] body = ValidBody(x);
                var sb = new StringBuilder("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
                for (int i = 0; i < body.Length; i += 7)
                {
                    int n = Math.Min(7, body.Length - i);
                    sb.Append(n.ToString("x", CultureInfo.InvariantCulture)).Append(";ext=1\r\n").Append(Encoding.UTF8.GetString(body, i, n)).Append("\r\n");
                }
                await x.WriteAsync(sb.Append("0\r\n\r\n").ToString());
            },
            Expect = MustOpen,
        });
        cases.Add(new("http-no-content-length", HostileLayer.Http, "a valid answer without Content-Length, ended by closing")
        {
            Http = x => x.WriteAsync(RouterExchange.Response(200, "OK", ValidBody(x), contentLength: false)),
            Expect = MustOpen,
        });
        cases.Add(new("http-404", HostileLayer.Http, "404 Not Found with an HTML body")
        {
            Http = x => x.WriteAsync(RouterExchange.Response(404, "Not Found", B("<html><body>no</body></html>"))),
        });
        cases.Add(new("http-500-valid-body", HostileLayer.Http, "status 500 with a body that is otherwise a valid answer")
        {
            Http = x => x.WriteAsync(RouterExchange.Response(500, "Oops", x.Action.Length == 0
                ? B(Descriptions.Igd("/ctl/IPConn", "/ctl/CmnIfCfg", "/ctl/IP6FCtl")) : Soap.Normal(x.Action, x.Body).Item2)),
        });
        cases.Add(new("http-garbage-status", HostileLayer.Http, "no status line: random bytes")
        {
            Http = x => x.WriteAsync(Garbage(4000, 5)),
        });

        // ---------------------------------------------------------------- description XML
        cases.Add(new("desc-malformed", HostileLayer.Description, "unclosed tags, stray '<' and '&'")
        {
            Description = _ => B("<?xml version=\"1.0\"?><root><device><serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1<controlURL>/ctl<&<<"),
        });
        cases.Add(new("desc-not-igd", HostileLayer.Description, "a valid description of a media server (no WAN services)")
        {
            Description = _ => B("<?xml version=\"1.0\"?><root xmlns=\"urn:schemas-upnp-org:device-1-0\"><device><deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>"
                + "<serviceList><service><serviceType>urn:schemas-upnp-org:service:ContentDirectory:1</serviceType><controlURL>/cd</controlURL></service></serviceList></device></root>"),
        });
        cases.Add(new("desc-missing-services", HostileLayer.Description, "an IGD device with no service list")
        {
            Description = _ => B("<?xml version=\"1.0\"?><root xmlns=\"urn:schemas-upnp-org:device-1-0\"><device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType></device></root>"),
        });
        cases.Add(new("desc-cif-only", HostileLayer.Description, "WANCommonInterfaceConfig but no WAN connection service")
        {
            Description = _ => B("<?xml version=\"1.0\"?><root><device><serviceList><service><serviceType>" + HostileRouter.CommonInterface
                + "</serviceType><controlURL>/ctl/CmnIfCfg</controlURL></service></serviceList></device></root>"),
        });
        cases.Add(new("desc-overlong-fields", HostileLayer.Description, "controlURL, serviceType and URLBase of 100 000 characters (miniupnpc keeps 128)")
        {
            Description = r => B(Descriptions.Igd("/ctl/IPConn" + longText, "/ctl/CmnIfCfg" + longText, "/ctl/IP6FCtl" + longText,
                HostileRouter.IpConnection + longText).Replace("<root xmlns=\"urn:schemas-upnp-org:device-1-0\">",
                $"<root xmlns=\"urn:schemas-upnp-org:device-1-0\"><URLBase>http://127.0.0.1:{r.HttpPort}/{longText}</URLBase>", StringComparison.Ordinal)),
        });
        cases.Add(new("desc-truncated-127", HostileLayer.Description, "controlURL of exactly 127/128/129 characters (miniupnpc's buffer edge)")
        {
            Description = r => B(Descriptions.Igd("/" + new string('c', 126), "/" + new string('c', 127), "/" + new string('c', 128))),
        });
        cases.Add(new("desc-wrong-namespace", HostileLayer.Description, "every element in a foreign namespace with a prefix")
        {
            Description = _ => B(Descriptions.Igd("/ctl/IPConn", "/ctl/CmnIfCfg", "/ctl/IP6FCtl", ns: "urn:evil")
                .Replace("<", "<e:", StringComparison.Ordinal).Replace("<e:/", "</e:", StringComparison.Ordinal).Replace("<e:?xml", "<?xml", StringComparison.Ordinal)),
        });
        cases.Add(new("desc-invalid-utf8", HostileLayer.Description, "invalid UTF-8 and NULs inside the service type and control URL")
        {
            Description = _ =>
            {
                string xml = Descriptions.Igd("/ctl/IP\u0001Conn", "/ctl/CmnIfCfg", "/ctl/IP6FCtl", HostileRouter.IpConnection + "\u0002");
                byte[] bytes = B(xml);
                for (int i = 0; i < bytes.Length; i++)
                {
                    bytes[i] = bytes[i] switch { 1 => 0xff, 2 => 0x00, _ => bytes[i] };
                }
                return bytes;
            },
        });
        cases.Add(new("desc-deep-nesting", HostileLayer.Description, "200 000 nested elements")
        {
            Description = _ => B("<?xml version=\"1.0\"?><root>" + string.Concat(Enumerable.Repeat("<device>", 200_000)) + "</root>"),
            Heavy = true,
        });
        cases.Add(new("desc-foreign-control", HostileLayer.Description, "control URLs on another lab address (a closed port)")
        {
            Description = _ => B(Descriptions.Valid(LabClosedBase)),
        });
        cases.Add(new("desc-not-http-control", HostileLayer.Description, "control URLs with a file:// scheme")
        {
            Description = _ => B(Descriptions.Igd("file:///etc/passwd", "file:///etc/passwd", "file:///etc/passwd")),
        });
        cases.Add(new("desc-many-services", HostileLayer.Description, "20 000 services in one list")
        {
            Description = _ => B("<?xml version=\"1.0\"?><root><device><serviceList>" + string.Concat(Enumerable.Range(0, 20_000).Select(i =>
                $"<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:{i}</serviceType><controlURL>/c{i}</controlURL></service>"))
                + "</serviceList></device></root>"),
            Heavy = true,
        });
        cases.Add(new("desc-empty", HostileLayer.Description, "200 with an empty body") { Description = _ => Array.Empty<byte>() });

        // ---------------------------------------------------------------- SOAP replies
        cases.Add(new("soap-fault-unknown-code", HostileLayer.Soap, "a UPnPError with code 99999") { Soap = (_, _) => Soap.Fault("99999", "who knows") });
        cases.Add(new("soap-fault-negative-code", HostileLayer.Soap, "a UPnPError with code -7") { Soap = (_, _) => Soap.Fault("-7", "negative") });
        cases.Add(new("soap-fault-non-numeric", HostileLayer.Soap, "a UPnPError whose code is 'abc'") { Soap = (_, _) => Soap.Fault("abc", "text") });
        cases.Add(new("soap-fault-success-code", HostileLayer.Soap, "HTTP 500 with a UPnPError code 0") { Soap = (_, _) => Soap.Fault("0", "zero") });
        cases.Add(new("soap-non-numeric", HostileLayer.Soap, "'abc' wherever a number is expected")
        {
            Soap = (a, r) => Bend(a, r, (n, v) => IsNumber(n) ? "abc" : v),
        });
        cases.Add(new("soap-out-of-range", HostileLayer.Soap, "port 99999, lease -5, count -3, uptime 2^40, enabled 7")
        {
            Soap = (a, r) => Bend(a, r, (n, v) => n switch
            {
                _ when IsPort(n) => "99999",
                "NewLeaseDuration" => "-5",
                "NewPortMappingNumberOfEntries" => "-3",
                "NewUptime" => "1099511627776",
                "NewEnabled" or "FirewallEnabled" or "IsWorking" => "7",
                "NewPortListing" => Soap.PortListing(3, "TCP", i => "<p:PortMappingEntry><p:NewExternalPort>99999</p:NewExternalPort><p:NewProtocol>TCP</p:NewProtocol>"
                    + "<p:NewInternalPort>-1</p:NewInternalPort><p:NewInternalClient>999.1.1.1</p:NewInternalClient><p:NewLeaseTime>-5</p:NewLeaseTime></p:PortMappingEntry>"),
                _ => v,
            }),
        });
        cases.Add(new("soap-not-addresses", HostileLayer.Soap, "text that is not an address where addresses are expected")
        {
            Soap = (a, r) => Bend(a, r, (n, v) => n is "NewExternalIPAddress" or "NewInternalClient" or "NewRemoteHost" ? "localhost; rm -rf /" : v),
        });
        cases.Add(new("soap-empty-body", HostileLayer.Soap, "200 with an empty body") { Soap = (_, _) => (200, Array.Empty<byte>()) });
        cases.Add(new("soap-empty-envelope", HostileLayer.Soap, "a valid envelope with an empty Body")
        {
            Soap = (_, _) => (200, B(Soap.Envelope(""))),
        });
        cases.Add(new("soap-overlong-values", HostileLayer.Soap, "every value 100 000 characters long")
        {
            Soap = (a, r) => Bend(a, r, (n, v) => n == "NewPortListing" ? v : longText),
        });
        cases.Add(new("soap-wrong-response", HostileLayer.Soap, "the response of another action (GetStatusInfo) to every request")
        {
            Soap = (_, r) => Soap.Normal("GetStatusInfo", r),
        });
        cases.Add(new("soap-broken-xml", HostileLayer.Soap, "a reply cut inside a tag")
        {
            Soap = (a, r) => (200, Soap.Normal(a, r).Item2[..Math.Min(200, Soap.Normal(a, r).Item2.Length)]),
        });
        cases.Add(new("soap-deep-nesting", HostileLayer.Soap, "200 000 nested elements in the Body")
        {
            Soap = (_, _) => (200, B(Soap.Envelope(string.Concat(Enumerable.Repeat("<x>", 200_000))))),
            Heavy = true,
        });
        cases.Add(new("soap-list-thousands", HostileLayer.Soap, "GetListOfPortMappings with 30 000 entries (and the count says so)")
        {
            Soap = (a, r) => a == "GetListOfPortMappings"
                ? Soap.Reply(a, new() { ("NewPortListing", Soap.PortListing(30_000, "TCP")) })
                : a == "GetPortMappingNumberOfEntries" ? Soap.Reply(a, new() { ("NewPortMappingNumberOfEntries", "30000") }) : Soap.Normal(a, r),
            Heavy = true,
        });
        cases.Add(new("soap-list-broken", HostileLayer.Soap, "GetListOfPortMappings whose inner document is broken XML")
        {
            Soap = (a, r) => a == "GetListOfPortMappings"
                ? Soap.Reply(a, new() { ("NewPortListing", System.Security.SecurityElement.Escape("<p:PortMappingList><p:PortMappingEntry><p:NewExternalPort>4000<p:NewProtocol>TCP</"))! })
                : Soap.Normal(a, r),
        });
        cases.Add(new("soap-generic-never-ends", HostileLayer.Soap, "GetGenericPortMappingEntry answers every index; the count says 2")
        {
            // The async layer stops an entry-by-entry listing at the count it was given plus a margin.
            Expect = (member, value) => member == "A.ListMappingsAsync(EntryByEntry)" && value is IReadOnlyList<PortMappingEntry> { Count: > 2 + 16 } list
                ? $"listed {list.Count} entries, the router counted 2" : null,
            Soap = (a, r) => a == "GetGenericPortMappingEntry"
                ? Soap.Reply(a, Soap.Fields(a, "<NewPortMappingIndex>0</NewPortMappingIndex>"))
                : Soap.Normal(a, r),
        });
        cases.Add(new("soap-generic-never-ends-no-count", HostileLayer.Soap,
            "GetGenericPortMappingEntry answers every index; GetPortMappingNumberOfEntries fails (as IGD:2 miniupnpd does)")
        {
            Soap = (a, r) => a switch
            {
                "GetGenericPortMappingEntry" => Soap.Reply(a, Soap.Fields(a, "<NewPortMappingIndex>0</NewPortMappingIndex>")),
                "GetPortMappingNumberOfEntries" => Soap.Fault("401", "Invalid Action"),
                "GetListOfPortMappings" => Soap.Fault("401", "Invalid Action"),
                _ => Soap.Normal(a, r),
            },
        });
        cases.Add(new("soap-html", HostileLayer.Soap, "200 text/html login page")
        {
            Soap = (_, _) => (200, B("<html><head><title>Login</title></head><body><form>password</form></body></html>")),
        });
        return cases;
    }

    private static byte[] ValidBody(RouterExchange x) => x.Action.Length == 0
        ? B(Descriptions.Igd("/ctl/IPConn", "/ctl/CmnIfCfg", "/ctl/IP6FCtl"))
        : Soap.Normal(x.Action, x.Body).Item2;

    /// <summary>A valid framing: the async layer must open the gateway.</summary>
    private static string? MustOpen(string member, object? value) =>
        member == "A.OpenAsync" && value is not UpnpGateway ? "a valid description in this framing was refused" : null;

    /// <summary>Set by the test: http://&lt;another lab address&gt;:&lt;closed port&gt;.</summary>
    internal static string LabClosedBase { get; set; } = "http://127.0.0.2:9";
}
