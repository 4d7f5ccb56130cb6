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

namespace MiniUpnp.Net.Tests.Hostile;

/// <summary>Which request of a test cell gets the hostile behaviour of an HTTP-layer case.</summary>
internal enum HostileTarget
{
    /// <summary>The root description fetch (SelectIgd, OpenAsync, discovery probes).</summary>
    Description,

    /// <summary>The SOAP control requests (every IGD action).</summary>
    Control,
}

/// <summary>One HTTP exchange handed to a hostile case: the request read so far and the connection to answer on.</summary>
internal sealed class HostileExchange
{
    internal HostileExchange(Socket socket, NetworkStream stream, string path, string action, string body, CancellationToken stop)
    {
        Socket = socket;
        Stream = stream;
        Path = path;
        Action = action;
        Body = body;
        Stop = stop;
    }

    internal Socket Socket { get; }
    internal NetworkStream Stream { get; }
    internal string Path { get; }

    /// <summary>The SOAP action name (AddPortMapping, …); empty for a GET.</summary>
    internal string Action { get; }
    internal string Body { get; }
    internal CancellationToken Stop { get; }

    internal Task WriteAsync(string text) => WriteAsync(Encoding.UTF8.GetBytes(text));

    internal async Task WriteAsync(byte[] bytes) => await Stream.WriteAsync(bytes, Stop).ConfigureAwait(false);

    /// <summary>An abortive close: the client's next receive gets ECONNRESET.</summary>
    internal void Reset()
    {
        Socket.LingerState = new LingerOption(true, 0);
        Socket.Close();
    }

    /// <summary>Sends <paramref name="bytes"/> one at a time, <paramref name="interval"/> apart, for at most
    /// <paramref name="total"/>; then stops (the connection is then closed by the router).</summary>
    internal async Task DripAsync(byte[] bytes, TimeSpan interval, TimeSpan total)
    {
        var end = DateTime.UtcNow + total;
        for (int i = 0; i < bytes.Length && DateTime.UtcNow < end; i++)
        {
            await Stream.WriteAsync(bytes.AsMemory(i, 1), Stop).ConfigureAwait(false);
            await Task.Delay(interval, Stop).ConfigureAwait(false);
        }
    }

    /// <summary>Holds the connection open without a byte, for at most <paramref name="max"/> or until the router stops.</summary>
    internal async Task SilentAsync(TimeSpan max)
    {
        try
        {
            await Task.Delay(max, Stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal static byte[] Response(int status, string reason, byte[] body, string? extraHeaders = null, bool contentLength = true)
    {
        string head = $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/xml; charset=\"utf-8\"\r\nConnection: close\r\n"
                      + (contentLength ? $"Content-Length: {body.Length}\r\n" : "") + (extraHeaders ?? "") + "\r\n";
        return Concat(Encoding.ASCII.GetBytes(head), body);
    }

    internal static byte[] Concat(byte[] a, byte[] b)
    {
        var all = new byte[a.Length + b.Length];
        a.CopyTo(all, 0);
        b.CopyTo(all, a.Length);
        return all;
    }
}

/// <summary>Where an SSDP answer is sent from and what it may name.</summary>
/// <param name="DescriptionUrl">The router's own (hostile or not) root description URL.</param>
/// <param name="SearchTarget">The ST asked for.</param>
/// <param name="ClosedPortUrl">A URL on another lab address whose port is closed.</param>
/// <param name="ForeignUrl">The real miniupnpd's root description (another lab address).</param>
internal sealed record SsdpContext(string DescriptionUrl, string SearchTarget, string ClosedPortUrl, string ForeignUrl);

/// <summary>
/// A hostile router for one test cell, in the test process (the lab's lan namespace): an HTTP server on
/// <see cref="Address"/> (loopback by default) serving a root description and SOAP answers, an SSDP responder on UDP,
/// and a minissdpd look-alike on a unix socket in a temp directory (miniupnpc's upnpDiscover asks it first). What each
/// answers is the case's choice; what the case does not replace is a plain valid IGD:2. Every loop here is bounded by
/// the router's lifetime (Dispose cancels it) and by the sizes of the requests it reads.
/// </summary>
internal sealed class HostileRouter : IDisposable
{
    internal const string IpConnection = "urn:schemas-upnp-org:service:WANIPConnection:2";
    internal const string CommonInterface = "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1";
    internal const string Firewall = "urn:schemas-upnp-org:service:WANIPv6FirewallControl:1";

    private readonly HostileCase _case;
    private readonly HostileTarget _target;
    private readonly TcpListener _http;
    private readonly UdpClient _ssdp;
    private readonly Socket? _minissdpd;
    private readonly string? _minissdpdDir;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = new();
    private readonly string _closedPortUrl;
    private readonly string _foreignUrl;
    private int _requests;

    internal HostileRouter(HostileCase hostileCase, HostileTarget target, IPAddress? address, string closedPortUrl, string foreignUrl,
        bool withMinissdpd)
    {
        _case = hostileCase;
        _target = target;
        _closedPortUrl = closedPortUrl;
        _foreignUrl = foreignUrl;
        Address = address ?? IPAddress.Loopback;
        _http = new TcpListener(Address, 0);
        _http.Start(64);
        _ssdp = new UdpClient(new IPEndPoint(Address, 0));
        ClosedPort = FindClosedPort(Address);
        _loops.Add(Task.Run(ServeHttpAsync));
        _loops.Add(Task.Run(ServeSsdpAsync));
        if (withMinissdpd)
        {
            _minissdpdDir = Directory.CreateTempSubdirectory("mu-hostile-").FullName;
            MinissdpdSocket = Path.Combine(_minissdpdDir, "minissdpd.sock");
            _minissdpd = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            _minissdpd.Bind(new UnixDomainSocketEndPoint(MinissdpdSocket));
            _minissdpd.Listen(16);
            _loops.Add(Task.Run(ServeMinissdpdAsync));
        }
    }

    internal IPAddress Address { get; }
    internal int HttpPort => ((IPEndPoint)_http.LocalEndpoint).Port;
    internal IPEndPoint SsdpEndPoint => (IPEndPoint)_ssdp.Client.LocalEndPoint!;
    internal int ClosedPort { get; }
    internal string? MinissdpdSocket { get; }
    internal int Requests => Volatile.Read(ref _requests);

    /// <summary>False: a plain IGD until armed (a router that turns hostile while a lease runs).</summary>
    internal bool Armed { get; set; } = true;

    /// <summary>The root description URL a member is given (a closed port when the case refuses connections to it).</summary>
    internal string DescriptionUrl => _case.Refuse && _target == HostileTarget.Description
        ? $"http://{Host}:{ClosedPort}/rootDesc.xml"
        : $"http://{Host}:{HttpPort}/rootDesc.xml";

    private string Host => Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{Address}]" : Address.ToString();

    private SsdpContext Context(string st) => new(DescriptionUrl, st, _closedPortUrl, _foreignUrl);

    // ---------------------------------------------------------------- HTTP

    private async Task ServeHttpAsync()
    {
        for (int accepted = 0; accepted < 100_000 && !_stop.IsCancellationRequested; accepted++)
        {
            Socket client;
            try
            {
                client = await _http.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                return; // stopped
            }
            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(Socket socket)
    {
        using var stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            using var readLimit = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            readLimit.CancelAfter(TimeSpan.FromSeconds(10));
            var (head, body) = await ReadRequestAsync(stream, readLimit.Token).ConfigureAwait(false);
            if (head is null)
            {
                return;
            }
            Interlocked.Increment(ref _requests);
            string path = head.Split(' ', 3) is { Length: >= 2 } parts ? parts[1] : "/";
            string action = Regex.Match(head, "SOAPAction:\\s*\"?[^#\"]*#([A-Za-z]+)", RegexOptions.IgnoreCase).Groups[1].Value;
            var exchange = new HostileExchange(socket, stream, path, action, body, _stop.Token);
            bool isDescription = action.Length == 0;
            bool armed = Armed;
            bool hostile = armed && (isDescription ? HostileTarget.Description : HostileTarget.Control) == _target;
            if (hostile && _case.Http is { } http)
            {
                await http(exchange).ConfigureAwait(false);
            }
            else if (isDescription)
            {
                // A description case serves its description to every member: SOAP members then run on what it named.
                byte[] xml = _case.Description is { } d && armed ? d(this) : Encoding.UTF8.GetBytes(ValidDescription());
                await exchange.WriteAsync(HostileExchange.Response(200, "OK", xml)).ConfigureAwait(false);
            }
            else
            {
                var (status, reply) = _case.Soap is { } soap && hostile ? soap(action, body) : Soap.Normal(action, body);
                await exchange.WriteAsync(HostileExchange.Response(status, status == 200 ? "OK" : "Internal Server Error", reply))
                    .ConfigureAwait(false);
            }
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception)
        {
            // The client went away, the router stopped, or a reset: nothing to do.
        }
    }

    private static async Task<(string? Head, string Body)> ReadRequestAsync(NetworkStream stream, CancellationToken token)
    {
        var buffer = new byte[65536];
        int total = 0, headEnd = -1;
        while (total < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(total), token).ConfigureAwait(false);
            if (n == 0)
            {
                return (null, "");
            }
            total += n;
            headEnd = buffer.AsSpan(0, total).IndexOf("\r\n\r\n"u8);
            if (headEnd >= 0)
            {
                break;
            }
        }
        if (headEnd < 0)
        {
            return (null, "");
        }
        string head = Encoding.Latin1.GetString(buffer, 0, headEnd);
        var m = Regex.Match(head, "Content-Length:\\s*(\\d+)", RegexOptions.IgnoreCase);
        int length = m.Success ? Math.Min(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), 60000) : 0;
        int bodyStart = headEnd + 4;
        while (total - bodyStart < length && total < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(total), token).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return (head, Encoding.UTF8.GetString(buffer, bodyStart, Math.Max(0, total - bodyStart)));
    }

    /// <summary>A plain IGD:2 description; <paramref name="controlBase"/> replaces the control URLs' host part.</summary>
    internal string ValidDescription(string? controlBase = null)
    {
        string ctl = controlBase ?? (_case.Refuse && _target == HostileTarget.Control && Armed ? $"http://{Host}:{ClosedPort}" : "");
        return Descriptions.Igd(ctl + "/ctl/IPConn", ctl + "/ctl/CmnIfCfg", ctl + "/ctl/IP6FCtl");
    }

    // ---------------------------------------------------------------- SSDP (UDP)

    private async Task ServeSsdpAsync()
    {
        for (int searches = 0; searches < 10_000 && !_stop.IsCancellationRequested; searches++)
        {
            UdpReceiveResult request;
            try
            {
                request = await _ssdp.ReceiveAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                continue;
            }
            catch (Exception)
            {
                return;
            }
            string text = Encoding.ASCII.GetString(request.Buffer);
            string st = Regex.Match(text, @"^ST:\s*(.*?)\r?$", RegexOptions.Multiline | RegexOptions.IgnoreCase).Groups[1].Value;
            var answers = _case.Ssdp is { } ssdp ? ssdp(Context(st)) : new[] { SsdpReply.Answer(st, DescriptionUrl) };
            try
            {
                foreach (byte[] answer in answers)
                {
                    await _ssdp.SendAsync(answer, request.RemoteEndPoint, _stop.Token).ConfigureAwait(false);
                }
            }
            catch (SocketException)
            {
            }
            catch (Exception)
            {
                return;
            }
        }
    }

    // ---------------------------------------------------------------- minissdpd (unix socket, minissdpc.c's protocol)

    private async Task ServeMinissdpdAsync()
    {
        for (int accepted = 0; accepted < 1000 && !_stop.IsCancellationRequested; accepted++)
        {
            Socket client;
            try
            {
                client = await _minissdpd!.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                return;
            }
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try
                    {
                        // Request: type byte, then the coded length and the ST (minissdpc.c requestDevicesFromMiniSSDPD).
                        var buffer = new byte[512];
                        int n = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                        string st = n > 2 ? Encoding.ASCII.GetString(buffer, 2, Math.Min(n - 2, buffer[1])) : "";
                        var reply = _case.Minissdpd is { } m
                            ? m(Context(st))
                            : Minissdpd.Devices((DescriptionUrl, "urn:schemas-upnp-org:device:InternetGatewayDevice:1", "uuid:hostile::igd"));
                        if (reply is null)
                        {
                            return; // close without an answer
                        }
                        if (reply.Length == 0)
                        {
                            await Task.Delay(TimeSpan.FromSeconds(30), _stop.Token).ConfigureAwait(false); // silent
                            return;
                        }
                        await client.SendAsync(reply, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                        client.Shutdown(SocketShutdown.Send);
                    }
                    catch (Exception)
                    {
                    }
                }
            });
        }
    }

    private static int FindClosedPort(IPAddress address)
    {
        var probe = new TcpListener(address, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _http.Stop();
        _ssdp.Dispose();
        _minissdpd?.Dispose();
        // No wait for the loops: each ends on the cancellation, and a blocked wait here would starve the thread pool.
        if (_minissdpdDir is not null)
        {
            try
            {
                Directory.Delete(_minissdpdDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

/// <summary>minissdpd's answer format (minissdpc.c receiveDevicesFromMiniSSDPD): a device count byte, then for each
/// device three strings (URL, ST, USN), each preceded by its length coded 7 bits a byte, high bit = more.</summary>
internal static class Minissdpd
{
    internal static byte[] Devices(params (string Url, string St, string Usn)[] devices)
    {
        var output = new MemoryStream();
        output.WriteByte((byte)Math.Min(devices.Length, 255));
        foreach (var (url, st, usn) in devices)
        {
            foreach (string s in new[] { url, st, usn })
            {
                byte[] bytes = Encoding.UTF8.GetBytes(s);
                WriteLength(output, bytes.Length);
                output.Write(bytes);
            }
        }
        return output.ToArray();
    }

    internal static void WriteLength(Stream output, int n)
    {
        if (n >= 268435456) output.WriteByte((byte)((n >> 28) | 0x80));
        if (n >= 2097152) output.WriteByte((byte)(((n >> 21) & 0x7f) | 0x80));
        if (n >= 16384) output.WriteByte((byte)(((n >> 14) & 0x7f) | 0x80));
        if (n >= 128) output.WriteByte((byte)(((n >> 7) & 0x7f) | 0x80));
        output.WriteByte((byte)(n & 0x7f));
    }
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
