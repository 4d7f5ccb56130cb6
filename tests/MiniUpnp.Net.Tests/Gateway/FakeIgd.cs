using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Gateway;

/// <summary>
/// A small in-memory IGD on loopback, for unit tests of the async layer that must not touch the network: an HTTP
/// server (root description + the SOAP actions the layer uses) and an SSDP responder answering unicast M-SEARCH.
/// miniupnpc itself talks to it, so requests and answers go through the real native code. It is not miniupnpd
/// (the lab tests cover that); it exists for what the lab cannot do: routers that only take permanent leases,
/// IGDv1 without AddAnyPortMapping, a hung router, answers this layer must refuse.
/// </summary>
internal sealed class FakeIgd : IDisposable
{
    private readonly TcpListener _http;
    private readonly UdpClient _ssdp;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _httpLoop;
    private readonly Task _ssdpLoop;
    private readonly object _gate = new();
    private readonly Dictionary<(string Proto, int Port), Mapping> _mappings = new();
    private readonly Dictionary<int, (string Client, int Port, int Lease)> _pinholes = new();
    private readonly ConcurrentQueue<string> _actions = new();
    private readonly ConcurrentQueue<string> _searches = new();
    private TaskCompletionSource _hang = CompletedHang();
    private int _requests;

    /// <summary>HTTP requests received (description fetches and SOAP calls), answered or not.</summary>
    internal int Requests => Volatile.Read(ref _requests);
    private int _nextPinhole = 1;

    internal FakeIgd(IPAddress? address = null)
    {
        Address = address ?? IPAddress.Loopback;
        _http = new TcpListener(Address, 0);
        _http.Start();
        _ssdp = new UdpClient(new IPEndPoint(Address, 0));
        _httpLoop = Task.Run(ServeHttpAsync);
        _ssdpLoop = Task.Run(ServeSsdpAsync);
    }

    internal sealed record Mapping(string Client, int InternalPort, string Description, int Lease, string RemoteHost);

    internal IPAddress Address { get; }
    internal int HttpPort => ((IPEndPoint)_http.LocalEndpoint).Port;
    internal IPEndPoint SsdpEndPoint => (IPEndPoint)_ssdp.Client.LocalEndPoint!;
    internal Uri RootUrl => new($"http://{Address}:{HttpPort}/rootDesc.xml");

    // ---- behaviour, settable by tests
    internal bool IgdV2 { get; set; } = true;
    /// <summary>The uuid in its SSDP answers' USN.</summary>
    internal string Uuid { get; set; } = "fake-igd";
    internal bool WithFirewall { get; set; } = true;
    internal string ConnectionStatus { get; set; } = "Connected";
    internal string ExternalAddress { get; set; } = "1.2.3.4";
    internal bool OnlyPermanentLeases { get; set; }
    /// <summary>When set, the description's control URLs name this host instead of ours.</summary>
    internal string? ControlHost { get; set; }
    /// <summary>When set, SSDP answers carry this LOCATION instead of ours.</summary>
    internal string? AnnouncedLocation { get; set; }
    /// <summary>Search targets answered; null: every one.</summary>
    internal HashSet<string>? AnsweredTargets { get; set; }
    internal TimeSpan SsdpDelay { get; set; }
    /// <summary>Answers to GetSpecificPortMappingEntry / generic entries can be forced to carry this internal client.</summary>
    internal string? ForcedInternalClient { get; set; }
    /// <summary>HTTP requests get the connection closed without an answer (a router that is down).</summary>
    internal bool Down { get; set; }

    internal IReadOnlyList<string> Actions => _actions.ToArray();
    internal IReadOnlyList<string> Searches => _searches.ToArray();
    internal int Count(string action) => _actions.Count(a => a == action);

    /// <summary>Until the returned object is disposed, requests are read but never answered (a hung router).</summary>
    internal IDisposable Hang()
    {
        _hang = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hang = _hang;
        return new Release(() => hang.TrySetResult());
    }

    internal IReadOnlyDictionary<(string Proto, int Port), Mapping> Mappings
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<(string, int), Mapping>(_mappings);
            }
        }
    }

    internal void SetMapping(string proto, int port, Mapping mapping)
    {
        lock (_gate)
        {
            _mappings[(proto, port)] = mapping;
        }
    }

    internal void RemoveMapping(string proto, int port)
    {
        lock (_gate)
        {
            _mappings.Remove((proto, port));
        }
    }

    internal int PinholeCount
    {
        get
        {
            lock (_gate)
            {
                return _pinholes.Count;
            }
        }
    }

    internal void ClearPinholes()
    {
        lock (_gate)
        {
            _pinholes.Clear();
        }
    }

    // ---------------------------------------------------------------- SSDP

    private async Task ServeSsdpAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult request;
            try
            {
                request = await _ssdp.ReceiveAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            string text = Encoding.ASCII.GetString(request.Buffer);
            var st = Regex.Match(text, @"^ST:\s*(.*?)\r?$", RegexOptions.Multiline | RegexOptions.IgnoreCase).Groups[1].Value;
            _searches.Enqueue(st);
            if (!text.StartsWith("M-SEARCH", StringComparison.Ordinal) || (AnsweredTargets is { } only && !only.Contains(st)))
            {
                continue;
            }
            string answer = "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n" +
                            $"ST: {st}\r\nUSN: uuid:{Uuid}::{st}\r\nEXT:\r\nSERVER: Fake/1.0 UPnP/1.1 FakeIgd/1.0\r\n" +
                            $"LOCATION: {AnnouncedLocation ?? RootUrl.ToString()}\r\n\r\n";
            try
            {
                if (SsdpDelay > TimeSpan.Zero)
                {
                    await Task.Delay(SsdpDelay, _stop.Token);
                }
                await _ssdp.SendAsync(Encoding.ASCII.GetBytes(answer), request.RemoteEndPoint, _stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    // ---------------------------------------------------------------- HTTP

    private async Task ServeHttpAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _http.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var (head, body) = await ReadRequestAsync(stream);
                Interlocked.Increment(ref _requests);
                if (Down)
                {
                    return; // close without an answer
                }
                await _hang.Task.WaitAsync(_stop.Token);
                byte[] response = Respond(head, body);
                await stream.WriteAsync(response, _stop.Token);
            }
            catch (Exception e) when (e is System.IO.IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away, or the fake is stopping.
            }
        }
    }

    private async Task<(string Head, string Body)> ReadRequestAsync(NetworkStream stream)
    {
        var buffer = new byte[65536];
        int total = 0, headEnd = -1;
        while (headEnd < 0 && total < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(total), _stop.Token);
            if (n == 0)
            {
                break;
            }
            total += n;
            headEnd = Encoding.ASCII.GetString(buffer, 0, total).IndexOf("\r\n\r\n", StringComparison.Ordinal);
        }
        if (headEnd < 0)
        {
            return (Encoding.ASCII.GetString(buffer, 0, total), string.Empty);
        }
        string head = Encoding.ASCII.GetString(buffer, 0, headEnd);
        var length = Regex.Match(head, @"Content-Length:\s*(\d+)", RegexOptions.IgnoreCase);
        int bodyLength = length.Success ? int.Parse(length.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        while (total - (headEnd + 4) < bodyLength && total < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(total), _stop.Token);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return (head, Encoding.UTF8.GetString(buffer, headEnd + 4, total - headEnd - 4));
    }

    private string ServiceType => IgdV2 ? "urn:schemas-upnp-org:service:WANIPConnection:2" : "urn:schemas-upnp-org:service:WANIPConnection:1";

    private byte[] Respond(string head, string body)
    {
        if (head.StartsWith("GET ", StringComparison.Ordinal))
        {
            _actions.Enqueue("GET");
            return Http("200 OK", Description());
        }
        string action = Regex.Match(head, "SOAPAction:\\s*\"?[^#\"]*#([A-Za-z]+)", RegexOptions.IgnoreCase).Groups[1].Value;
        _actions.Enqueue(action);
        string Arg(string name) => WebUtility.HtmlDecode(Regex.Match(body, $"<{name}>(.*?)</{name}>", RegexOptions.Singleline).Groups[1].Value);
        try
        {
            return action switch
            {
                "GetStatusInfo" => Ok(action, ("NewConnectionStatus", ConnectionStatus), ("NewLastConnectionError", "ERROR_NONE"), ("NewUptime", "42")),
                "GetExternalIPAddress" => Ok(action, ("NewExternalIPAddress", ExternalAddress)),
                "AddPortMapping" => AddPortMapping(Arg, any: false),
                "AddAnyPortMapping" => IgdV2 ? AddPortMapping(Arg, any: true) : Fault(401),
                "DeletePortMapping" => DeletePortMapping(Arg),
                "DeletePortMappingRange" => IgdV2 ? DeleteRange(Arg) : Fault(401),
                "GetSpecificPortMappingEntry" => GetSpecific(Arg),
                "GetGenericPortMappingEntry" => GetGeneric(Arg),
                "GetListOfPortMappings" => IgdV2 ? GetList(Arg) : Fault(401),
                "AddPinhole" => AddPinhole(Arg),
                "UpdatePinhole" => UpdatePinhole(Arg),
                "DeletePinhole" => DeletePinhole(Arg),
                "CheckPinholeWorking" => CheckPinhole(Arg),
                "GetFirewallStatus" => Ok(action, ("FirewallEnabled", "1"), ("InboundPinholeAllowed", "1")),
                _ => Fault(401),
            };
        }
        catch (FormatException)
        {
            return Fault(402);
        }
    }

    private byte[] AddPortMapping(Func<string, string> arg, bool any)
    {
        string proto = arg("NewProtocol").ToUpperInvariant();
        int port = int.Parse(arg("NewExternalPort"), CultureInfo.InvariantCulture);
        int lease = int.Parse(arg("NewLeaseDuration"), CultureInfo.InvariantCulture);
        var mapping = new Mapping(arg("NewInternalClient"), int.Parse(arg("NewInternalPort"), CultureInfo.InvariantCulture),
            arg("NewPortMappingDescription"), lease, arg("NewRemoteHost"));
        if (OnlyPermanentLeases && lease != 0)
        {
            return Fault(725);
        }
        lock (_gate)
        {
            bool Free(int p) => !_mappings.TryGetValue((proto, p), out var held) || held.Client == mapping.Client;
            if (!Free(port))
            {
                if (!any)
                {
                    return Fault(718);
                }
                port = Enumerable.Range(port + 1, 65535 - port).First(Free);
            }
            _mappings[(proto, port)] = mapping;
        }
        return any ? Ok("AddAnyPortMapping", ("NewReservedPort", port.ToString(CultureInfo.InvariantCulture))) : Ok("AddPortMapping");
    }

    private byte[] DeletePortMapping(Func<string, string> arg)
    {
        lock (_gate)
        {
            return _mappings.Remove((arg("NewProtocol").ToUpperInvariant(), int.Parse(arg("NewExternalPort"), CultureInfo.InvariantCulture)))
                ? Ok("DeletePortMapping")
                : Fault(714);
        }
    }

    private byte[] DeleteRange(Func<string, string> arg)
    {
        string proto = arg("NewProtocol").ToUpperInvariant();
        int start = int.Parse(arg("NewStartPort"), CultureInfo.InvariantCulture), end = int.Parse(arg("NewEndPort"), CultureInfo.InvariantCulture);
        lock (_gate)
        {
            var doomed = _mappings.Keys.Where(k => k.Proto == proto && k.Port >= start && k.Port <= end).ToList();
            doomed.ForEach(k => _mappings.Remove(k));
            return doomed.Count > 0 ? Ok("DeletePortMappingRange") : Fault(730);
        }
    }

    private byte[] GetSpecific(Func<string, string> arg)
    {
        lock (_gate)
        {
            if (!_mappings.TryGetValue((arg("NewProtocol").ToUpperInvariant(), int.Parse(arg("NewExternalPort"), CultureInfo.InvariantCulture)), out var m))
            {
                return Fault(714);
            }
            return Ok("GetSpecificPortMappingEntry", ("NewInternalPort", m.InternalPort.ToString(CultureInfo.InvariantCulture)),
                ("NewInternalClient", ForcedInternalClient ?? m.Client), ("NewEnabled", "1"), ("NewPortMappingDescription", m.Description),
                ("NewLeaseDuration", m.Lease.ToString(CultureInfo.InvariantCulture)));
        }
    }

    private byte[] GetGeneric(Func<string, string> arg)
    {
        int index = int.Parse(arg("NewPortMappingIndex"), CultureInfo.InvariantCulture);
        lock (_gate)
        {
            var all = _mappings.OrderBy(k => k.Key.Proto, StringComparer.Ordinal).ThenBy(k => k.Key.Port).ToList();
            if (index < 0 || index >= all.Count)
            {
                return Fault(713);
            }
            var ((proto, port), m) = (all[index].Key, all[index].Value);
            return Ok("GetGenericPortMappingEntry", ("NewRemoteHost", m.RemoteHost), ("NewExternalPort", port.ToString(CultureInfo.InvariantCulture)),
                ("NewProtocol", proto), ("NewInternalPort", m.InternalPort.ToString(CultureInfo.InvariantCulture)),
                ("NewInternalClient", ForcedInternalClient ?? m.Client), ("NewEnabled", "1"), ("NewPortMappingDescription", m.Description),
                ("NewLeaseDuration", m.Lease.ToString(CultureInfo.InvariantCulture)));
        }
    }

    private byte[] GetList(Func<string, string> arg)
    {
        string proto = arg("NewProtocol").ToUpperInvariant();
        int start = int.Parse(arg("NewStartPort"), CultureInfo.InvariantCulture), end = int.Parse(arg("NewEndPort"), CultureInfo.InvariantCulture);
        int max = int.Parse(arg("NewNumberOfPorts"), CultureInfo.InvariantCulture);
        var listing = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?><p:PortMappingList xmlns:p=\"urn:schemas-upnp-org:gw:WANIPConnection\">");
        lock (_gate)
        {
            var chosen = _mappings.Where(k => k.Key.Proto == proto && k.Key.Port >= start && k.Key.Port <= end).OrderBy(k => k.Key.Port).Take(max).ToList();
            if (chosen.Count == 0)
            {
                return Fault(730);
            }
            foreach (var ((p, port), m) in chosen.Select(k => (k.Key, k.Value)))
            {
                listing.Append(CultureInfo.InvariantCulture,
                    $"<p:PortMappingEntry><p:NewRemoteHost>{m.RemoteHost}</p:NewRemoteHost><p:NewExternalPort>{port}</p:NewExternalPort>" +
                    $"<p:NewProtocol>{p}</p:NewProtocol><p:NewInternalPort>{m.InternalPort}</p:NewInternalPort>" +
                    $"<p:NewInternalClient>{ForcedInternalClient ?? m.Client}</p:NewInternalClient><p:NewEnabled>1</p:NewEnabled>" +
                    $"<p:NewDescription>{m.Description}</p:NewDescription><p:NewLeaseTime>{m.Lease}</p:NewLeaseTime></p:PortMappingEntry>");
            }
        }
        listing.Append("</p:PortMappingList>");
        // The listing is an XML document inside the answer: in CDATA, as miniupnpd sends it (miniupnpc does not unescape).
        return Ok("GetListOfPortMappings", ("NewPortListing", "<![CDATA[" + listing + "]]>"));
    }

    private byte[] AddPinhole(Func<string, string> arg)
    {
        int lease = int.Parse(arg("LeaseTime"), CultureInfo.InvariantCulture);
        if (lease is < 1 or > 86400)
        {
            return Fault(402);
        }
        lock (_gate)
        {
            int id = _nextPinhole++;
            _pinholes[id] = (arg("InternalClient"), int.Parse(arg("InternalPort"), CultureInfo.InvariantCulture), lease);
            return Ok("AddPinhole", ("UniqueID", id.ToString(CultureInfo.InvariantCulture)));
        }
    }

    private byte[] UpdatePinhole(Func<string, string> arg)
    {
        lock (_gate)
        {
            int id = int.Parse(arg("UniqueID"), CultureInfo.InvariantCulture);
            return _pinholes.ContainsKey(id) ? Ok("UpdatePinhole") : Fault(704);
        }
    }

    private byte[] DeletePinhole(Func<string, string> arg)
    {
        lock (_gate)
        {
            return _pinholes.Remove(int.Parse(arg("UniqueID"), CultureInfo.InvariantCulture)) ? Ok("DeletePinhole") : Fault(704);
        }
    }

    private byte[] CheckPinhole(Func<string, string> arg)
    {
        lock (_gate)
        {
            return _pinholes.ContainsKey(int.Parse(arg("UniqueID"), CultureInfo.InvariantCulture)) ? Fault(709) : Fault(704);
        }
    }

    private string Description()
    {
        string host = ControlHost ?? $"{Address}:{HttpPort}";
        string v = IgdV2 ? "2" : "1";
        string firewall = WithFirewall
            ? "<service><serviceType>urn:schemas-upnp-org:service:WANIPv6FirewallControl:1</serviceType><serviceId>urn:upnp-org:serviceId:WANIPv6Firewall1</serviceId>" +
              $"<controlURL>http://{host}/ctl/IP6FCtl</controlURL><eventSubURL>/evt/IP6FCtl</eventSubURL><SCPDURL>/WANIP6FC.xml</SCPDURL></service>"
            : string.Empty;
        return "<?xml version=\"1.0\"?><root xmlns=\"urn:schemas-upnp-org:device-1-0\"><specVersion><major>1</major><minor>1</minor></specVersion>" +
               $"<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:{v}</deviceType><friendlyName>fake</friendlyName>" +
               $"<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:{v}</deviceType><serviceList><service>" +
               "<serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType><serviceId>urn:upnp-org:serviceId:WANCommonIFC1</serviceId>" +
               $"<controlURL>http://{host}/ctl/CmnIfCfg</controlURL><eventSubURL>/evt/CmnIfCfg</eventSubURL><SCPDURL>/WANCfg.xml</SCPDURL></service></serviceList>" +
               $"<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:{v}</deviceType><serviceList><service>" +
               $"<serviceType>{ServiceType}</serviceType><serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>" +
               $"<controlURL>http://{host}/ctl/IPConn</controlURL><eventSubURL>/evt/IPConn</eventSubURL><SCPDURL>/WANIPCn.xml</SCPDURL></service>" +
               firewall + "</serviceList></device></deviceList></device></deviceList></device></root>";
    }

    private byte[] Ok(string action, params (string Name, string Value)[] values)
    {
        string args = string.Concat(values.Select(v => $"<{v.Name}>{v.Value}</{v.Name}>"));
        string type = action.Contains("Pinhole", StringComparison.Ordinal) || action == "GetFirewallStatus"
            ? "urn:schemas-upnp-org:service:WANIPv6FirewallControl:1"
            : ServiceType;
        return Http("200 OK", Envelope($"<u:{action}Response xmlns:u=\"{type}\">{args}</u:{action}Response>"));
    }

    private static byte[] Fault(int code) => Http("500 Internal Server Error", Envelope(
        "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>" +
        $"<UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode>{code}</errorCode><errorDescription>error</errorDescription></UPnPError>" +
        "</detail></s:Fault>"));

    private static string Envelope(string body) =>
        "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" " +
        $"s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>{body}</s:Body></s:Envelope>\r\n";

    private static byte[] Http(string status, string body)
    {
        byte[] content = Encoding.UTF8.GetBytes(body);
        byte[] headBytes = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status}\r\nContent-Type: text/xml; charset=\"utf-8\"\r\nContent-Length: {content.Length}\r\nConnection: close\r\n\r\n");
        return headBytes.Concat(content).ToArray();
    }

    private static TaskCompletionSource CompletedHang()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _hang.TrySetResult();
        _http.Stop();
        _ssdp.Dispose();
        try
        {
            Task.WaitAll(new[] { _httpLoop, _ssdpLoop }, TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
    }

    private sealed class Release(Action release) : IDisposable
    {
        public void Dispose() => release();
    }
}
