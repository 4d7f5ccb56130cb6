using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net.Tests.Support;

/// <summary>One HTTP exchange handed to a responder: the request read so far and the connection to answer on.</summary>
internal sealed class RouterExchange
{
    internal RouterExchange(Socket socket, NetworkStream stream, string head, string path, string action, string body, CancellationToken stop)
    {
        Socket = socket;
        Stream = stream;
        Head = head;
        Path = path;
        Action = action;
        Body = body;
        Stop = stop;
    }

    internal Socket Socket { get; }
    internal NetworkStream Stream { get; }

    /// <summary>The request line and headers.</summary>
    internal string Head { get; }
    internal string Path { get; }

    /// <summary>The SOAP action name (AddPortMapping, …); empty for a GET.</summary>
    internal string Action { get; }
    internal string Body { get; }

    /// <summary>Cancelled when the router is disposed.</summary>
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

/// <summary>
/// The one fake router of the tests, in the test process: an HTTP server on <see cref="Address"/> (loopback by
/// default), an SSDP responder on UDP (unicast M-SEARCH), and on request a minissdpd look-alike on a unix socket in a
/// temp directory (miniupnpc's upnpDiscover asks it first). miniupnpc itself talks to it, so requests and answers go
/// through the real native code. Unless a test plugs in its own responder (<see cref="HttpResponder"/>,
/// <see cref="SsdpResponder"/>, <see cref="MinissdpdResponder"/>), it is a small in-memory IGD with a mapping table:
/// not miniupnpd (the lab tests cover that), but what the lab cannot be: routers that only take permanent leases,
/// IGDv1 without AddAnyPortMapping, a hung or absent router, answers the async layer must refuse. The hostile
/// router (Hostile/HostileRouter.cs) is this router with its three responders replaced by a hostile case's; a fixed
/// document server is <see cref="Serving"/>. Every loop here ends with the router (Dispose) and is bounded by the sizes
/// of the requests it reads.
/// </summary>
internal sealed class FakeRouter : IDisposable
{
    private readonly TcpListener _http;
    private readonly UdpClient _ssdp;
    private readonly Socket? _minissdpd;
    private readonly string? _minissdpdDir;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lazy<int> _closedPort;
    private readonly object _gate = new();
    private readonly Dictionary<(string Proto, int Port), Mapping> _mappings = new();
    private readonly Dictionary<int, (string Client, int Port, int Lease)> _pinholes = new();
    private readonly ConcurrentQueue<string> _actions = new();
    private readonly ConcurrentQueue<string> _searches = new();
    private TaskCompletionSource _hang = CompletedHang();
    private int _requests;
    private int _nextPinhole = 1;

    internal FakeRouter(IPAddress? address = null, bool withMinissdpd = false)
    {
        Address = address ?? IPAddress.Loopback;
        _http = new TcpListener(Address, 0);
        _http.Start(64);
        _ssdp = new UdpClient(new IPEndPoint(Address, 0));
        _closedPort = new Lazy<int>(() => FindClosedPort(Address));
        _ = Task.Run(ServeHttpAsync);
        _ = Task.Run(ServeSsdpAsync);
        if (withMinissdpd)
        {
            _minissdpdDir = Directory.CreateTempSubdirectory("mu-fake-router-").FullName;
            MinissdpdSocket = System.IO.Path.Combine(_minissdpdDir, "minissdpd.sock");
            _minissdpd = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            _minissdpd.Bind(new UnixDomainSocketEndPoint(MinissdpdSocket));
            _minissdpd.Listen(16);
            _ = Task.Run(ServeMinissdpdAsync);
        }
    }

    /// <summary>A router that answers every HTTP request with one fixed document (a description for miniupnpc to fetch).</summary>
    internal static FakeRouter Serving(string body)
    {
        byte[] response = RouterExchange.Response(200, "OK", Encoding.UTF8.GetBytes(body));
        return new FakeRouter { HttpResponder = x => x.WriteAsync(response) };
    }

    internal sealed record Mapping(string Client, int InternalPort, string Description, int Lease, string RemoteHost);

    internal IPAddress Address { get; }
    internal int HttpPort => ((IPEndPoint)_http.LocalEndpoint).Port;
    internal IPEndPoint SsdpEndPoint => (IPEndPoint)_ssdp.Client.LocalEndPoint!;
    internal string? MinissdpdSocket { get; }

    /// <summary>A port on <see cref="Address"/> where nothing listens (found once, on first use).</summary>
    internal int ClosedPort => _closedPort.Value;

    internal string Url(string path) => $"http://{Host}:{HttpPort}{path}";
    internal Uri RootUrl => new(Url("/rootDesc.xml"));

    /// <summary>The root description URL the router names (SSDP LOCATION, minissdpd): <see cref="AnnouncedLocation"/> or its own.</summary>
    internal string DescriptionUrl => AnnouncedLocation ?? RootUrl.ToString();

    private string Host => Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{Address}]" : Address.ToString();

    /// <summary>HTTP requests received (description fetches and SOAP calls), answered or not.</summary>
    internal int Requests => Volatile.Read(ref _requests);

    // ---- responders: null is the IGD below

    /// <summary>Answers every HTTP exchange instead of the IGD (the request is read and counted first).</summary>
    internal Func<RouterExchange, Task>? HttpResponder { get; set; }

    /// <summary>The datagrams sent back to one M-SEARCH, for its ST, instead of the IGD's answer.</summary>
    internal Func<string, IReadOnlyList<byte[]>>? SsdpResponder { get; set; }

    /// <summary>minissdpd's answer to a request for an ST: null closes without one, an empty array stays silent (30 s).</summary>
    internal Func<string, byte[]?>? MinissdpdResponder { get; set; }

    /// <summary>False: a responder that can turn hostile plays a plain IGD until armed (read by the hostile responders).</summary>
    internal bool Armed { get; set; } = true;

    // ---- the IGD's behaviour, settable by tests
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
    /// <summary>How long the SSDP responder waits before it answers (it serves one search at a time).</summary>
    internal TimeSpan SsdpDelay { get; set; }
    /// <summary>Answers to GetSpecificPortMappingEntry / generic entries can be forced to carry this internal client.</summary>
    internal string? ForcedInternalClient { get; set; }
    /// <summary>HTTP requests get the connection closed without an answer (a router that is down).</summary>
    internal bool Down { get; set; }

    /// <summary>The IGD's HTTP requests in order: "GET" for a description, else the SOAP action.</summary>
    internal IReadOnlyList<string> Actions => _actions.ToArray();
    /// <summary>The ST of every search received, answered or not.</summary>
    internal IReadOnlyList<string> Searches => _searches.ToArray();
    internal int Count(string action) => _actions.Count(a => a == action);

    /// <summary>Until the returned object is disposed, the IGD reads requests but never answers (a hung router).</summary>
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
            var exchange = new RouterExchange(socket, stream, head, path, action, body, _stop.Token);
            await (HttpResponder ?? IgdAsync)(exchange).ConfigureAwait(false);
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
                return; // stopped
            }
            string text = Encoding.ASCII.GetString(request.Buffer);
            string st = Regex.Match(text, @"^ST:\s*(.*?)\r?$", RegexOptions.Multiline | RegexOptions.IgnoreCase).Groups[1].Value;
            _searches.Enqueue(st);
            var answers = SsdpResponder is { } responder ? responder(st) : IgdSsdp(text, st);
            try
            {
                if (answers.Count > 0 && SsdpDelay > TimeSpan.Zero)
                {
                    await Task.Delay(SsdpDelay, _stop.Token).ConfigureAwait(false);
                }
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
                return; // stopped
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
                        var reply = MinissdpdResponder is { } responder
                            ? responder(st)
                            : MinissdpdReply.Devices((DescriptionUrl, "urn:schemas-upnp-org:device:InternetGatewayDevice:1", $"uuid:{Uuid}::igd"));
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

    // ---------------------------------------------------------------- the IGD

    private IReadOnlyList<byte[]> IgdSsdp(string request, string st)
    {
        if (!request.StartsWith("M-SEARCH", StringComparison.Ordinal) || (AnsweredTargets is { } only && !only.Contains(st)))
        {
            return Array.Empty<byte[]>();
        }
        return new[]
        {
            Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n" +
                                    $"ST: {st}\r\nUSN: uuid:{Uuid}::{st}\r\nEXT:\r\nSERVER: Fake/1.0 UPnP/1.1 FakeRouter/1.0\r\n" +
                                    $"LOCATION: {DescriptionUrl}\r\n\r\n"),
        };
    }

    private async Task IgdAsync(RouterExchange exchange)
    {
        if (Down)
        {
            return; // close without an answer
        }
        await _hang.Task.WaitAsync(exchange.Stop).ConfigureAwait(false);
        await exchange.WriteAsync(Respond(exchange.Head, exchange.Body)).ConfigureAwait(false);
    }

    private string ServiceType => IgdV2 ? "urn:schemas-upnp-org:service:WANIPConnection:2" : "urn:schemas-upnp-org:service:WANIPConnection:1";

    private byte[] Respond(string head, string body)
    {
        if (head.StartsWith("GET ", StringComparison.Ordinal))
        {
            _actions.Enqueue("GET");
            return HttpResponse(200, "OK", Description());
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
        string host = ControlHost ?? $"{Host}:{HttpPort}";
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
        return HttpResponse(200, "OK", Envelope($"<u:{action}Response xmlns:u=\"{type}\">{args}</u:{action}Response>"));
    }

    private static byte[] Fault(int code) => HttpResponse(500, "Internal Server Error", Envelope(
        "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>" +
        $"<UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode>{code}</errorCode><errorDescription>error</errorDescription></UPnPError>" +
        "</detail></s:Fault>"));

    private static string Envelope(string body) =>
        "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" " +
        $"s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>{body}</s:Body></s:Envelope>\r\n";

    private static byte[] HttpResponse(int status, string reason, string body) => RouterExchange.Response(status, reason, Encoding.UTF8.GetBytes(body));

    private static TaskCompletionSource CompletedHang()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
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
        _hang.TrySetResult();
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

    private sealed class Release(Action release) : IDisposable
    {
        public void Dispose() => release();
    }
}

/// <summary>minissdpd's answer format (minissdpc.c receiveDevicesFromMiniSSDPD): a device count byte, then for each
/// device three strings (URL, ST, USN), each preceded by its length coded 7 bits a byte, high bit = more.</summary>
internal static class MinissdpdReply
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
