using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net;

/// <summary>One search of <see cref="GatewayDiscovery"/>: the sockets, the candidates by LOCATION, and the probes
/// running on them. Used once.</summary>
internal sealed class SsdpSearch
{
    // The search goes out in waves. The first sends only the first search target: a router answers every M-SEARCH
    // it gets, one after another, and serves no HTTP meanwhile (in the lab, a description fetch is many times slower while
    // miniupnpd answers five targets by multicast and unicast: bench/README.md). An IGD:2 answers a search for IGD:1,
    // so the first target finds both. Only when nothing at all has answered do the later waves send every target
    // again (UDP may be lost), as miniupnpc moves on to its next search type only when one gets no answer.
    private static readonly TimeSpan[] LaterWaves = { TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(1000) };

    // A receive that fails (an ICMP error reported on the socket) is retried, this many times at most.
    private const int MaxReceiveErrors = 32;

    private readonly GatewayDiscoveryOptions _options;
    private readonly Dictionary<string, Candidate> _candidates = new(StringComparer.Ordinal);
    private readonly List<Candidate> _order = new();
    private readonly Stopwatch _watch = new();
    private int _ignored;
    private int _answers;

    // What RunAsync has set up (it owns and disposes the sockets), and the state of the waves.
    private Listener? _v4;
    private Listener? _v6;
    private Listener[] _listeners = Array.Empty<Listener>();
    private readonly List<IPEndPoint> _targets = new();
    private IReadOnlyList<int> _v6Interfaces = Array.Empty<int>();
    private string? _sendError;
    private int _wave;
    private Task? _resendTimer;

    internal SsdpSearch(GatewayDiscoveryOptions options) => _options = options;

    /// <summary>The whole search, from the first M-SEARCH to the choice; the sockets are closed when it returns.</summary>
    internal async Task<GatewayDiscoveryResult> RunAsync(CancellationToken cancellationToken)
    {
        _watch.Start();
        bool wantIPv4 = _options.SearchMulticast || _options.SearchDefaultGateways
            || _options.UnicastTargets.Any(t => t.AddressFamily == AddressFamily.InterNetwork);
        bool wantIPv6 = _options.SearchIPv6Multicast
            || _options.UnicastTargets.Any(t => t.AddressFamily == AddressFamily.InterNetworkV6);
        if (!wantIPv4 && !wantIPv6)
        {
            return Result(null, "nothing to search: multicast, default gateways and unicast targets are all off");
        }
        using var v4 = wantIPv4 ? Listener.Open(AddressFamily.InterNetwork, _options.LocalAddress, ref _sendError) : null;
        using var v6 = wantIPv6 ? Listener.Open(AddressFamily.InterNetworkV6, null, ref _sendError) : null;
        (_v4, _v6) = (v4, v6);
        _listeners = new[] { v4, v6 }.Where(l => l is not null).Select(l => l!).ToArray();

        // Multicast and the configured targets first, before anything else is set up: the router takes tens of
        // milliseconds to answer (bench/README.md), and the rest is done meanwhile. The default gateways are looked up then, and
        // searched right after. Sends are synchronous: a datagram is queued at once (SendTimeout bounds the rare
        // full buffer), and the asynchronous machinery would cost a fresh process milliseconds before the first.
        var firstTarget = new[] { _options.SearchTargets[0] };
        SendFirstSearch(firstTarget);
        // The timeout counts from the start of the search.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var left = _options.Timeout - _watch.Elapsed;
        stop.CancelAfter(left < TimeSpan.Zero ? TimeSpan.Zero : left);
        SendRestOfFirstWave(firstTarget);
        if (_targets.Count == 0 && _v6Interfaces.Count == 0)
        {
            return Result(null, "nothing to search: multicast is off and there is no default gateway, IPv6 interface or unicast target"
                + (_sendError is null ? "" : $" ({_sendError})"));
        }
        StartListening(stop.Token);
        var chosen = await ListenUntilChosenAsync(stop, cancellationToken).ConfigureAwait(false);
        return Result(chosen, Reason(chosen, _sendError));
    }

    /// <summary>The first M-SEARCH: the first search target, by multicast and to the configured unicast targets.</summary>
    private void SendFirstSearch(IReadOnlyList<string> firstTarget)
    {
        if (_options.SearchMulticast && _v4 is not null)
        {
            _targets.Add(Ssdp.MulticastEndPoint);
        }
        _targets.AddRange(_options.UnicastTargets.Distinct());
        _sendError = Send(_targets, firstTarget) ?? _sendError;
    }

    /// <summary>The rest of the first wave, still the first search target alone: IPv6 multicast, then the default
    /// gateways by unicast (those not already among the configured targets).</summary>
    private void SendRestOfFirstWave(IReadOnlyList<string> firstTarget)
    {
        // IPv6: site-local multicast first on every interface, as miniupnpc does; link-local only in the later waves.
        _v6Interfaces = _v6 is not null && _options.SearchIPv6Multicast ? Ssdp.IPv6MulticastInterfaces() : Array.Empty<int>();
        if (_v6 is not null)
        {
            _sendError = _v6.SendMulticast(Ssdp.SiteLocalMulticastEndPoint, _v6Interfaces, firstTarget) ?? _sendError;
        }
        if (_options.SearchDefaultGateways && _v4 is not null)
        {
            var gateways = Ssdp.DefaultGateways().Select(g => new IPEndPoint(g, Ssdp.MulticastEndPoint.Port)).Except(_targets).ToList();
            _sendError = Send(gateways, firstTarget) ?? _sendError;
            _targets.AddRange(gateways);
        }
    }

    /// <summary>A receive on each socket, and the timer of the first later wave.</summary>
    private void StartListening(CancellationToken token)
    {
        foreach (var listener in _listeners)
        {
            listener.Receive(token);
        }
        _resendTimer = Task.Delay(LaterWaves[0], token);
    }

    /// <summary>Listens until a candidate is chosen, or the deadline passes (then the best examined one, or null);
    /// throws <see cref="OperationCanceledException"/> with the caller's token when the caller cancels.</summary>
    private async Task<Candidate?> ListenUntilChosenAsync(CancellationTokenSource stop, CancellationToken cancellationToken)
    {
        try
        {
            return await ListenAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Choose(final: true); // the timeout: the best of what has been examined
        }
        catch (OperationCanceledException)
        {
            throw new OperationCanceledException("The gateway discovery was cancelled.", null, cancellationToken);
        }
        finally
        {
            stop.Cancel(); // ends the pending receives and abandons probes still running
        }
    }

    /// <summary>The loop: takes each receive, resend time or probe as it finishes, until <see cref="Choose"/> takes a
    /// candidate. Only the token ends it otherwise (an <see cref="OperationCanceledException"/>).</summary>
    private async Task<Candidate> ListenAsync(CancellationToken token)
    {
        Candidate? chosen = null;
        while (chosen is null)
        {
            var done = await NextAsync(token).ConfigureAwait(false);
            if (Array.Find(_listeners, l => l.Pending == done) is { } from)
            {
                if (!await ReceivedAsync(from, token).ConfigureAwait(false))
                {
                    continue; // too many errors: stop listening on it, let running probes finish
                }
            }
            else if (done == _resendTimer)
            {
                SendLaterWave(token);
            }
            chosen = Choose(final: false);
        }
        return chosen;
    }

    /// <summary>The first to finish of the pending receives, the resend timer and the running probes; with none of
    /// them left, waits for the token.</summary>
    private async Task<Task> NextAsync(CancellationToken token)
    {
        var waitingFor = new List<Task>(_order.Count + 3);
        waitingFor.AddRange(_listeners.Where(l => l.Pending is not null).Select(l => l.Pending!));
        if (_resendTimer is not null)
        {
            waitingFor.Add(_resendTimer);
        }
        waitingFor.AddRange(_order.Where(c => c.Probe is { IsCompleted: false }).Select(c => c.Probe!));
        if (waitingFor.Count == 0)
        {
            await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
        }
        var done = await Task.WhenAny(waitingFor).ConfigureAwait(false);
        token.ThrowIfCancellationRequested();
        return done;
    }

    /// <summary>Takes the finished receive of <paramref name="from"/> (an answer, or an error counted) and listens
    /// again; false when that socket has failed <see cref="MaxReceiveErrors"/> times and is given up.</summary>
    private async Task<bool> ReceivedAsync(Listener from, CancellationToken token)
    {
        var receive = from.Pending!;
        from.Pending = null;
        try
        {
            var datagram = await receive.ConfigureAwait(false);
            OnAnswer(from.Buffer.AsSpan(0, datagram.ReceivedBytes), ((IPEndPoint)datagram.RemoteEndPoint).Address, token);
        }
        catch (SocketException e) when (++from.Errors < MaxReceiveErrors)
        {
            _sendError ??= e.Message; // an ICMP error for one of our datagrams; keep listening
        }
        catch (SocketException)
        {
            return false;
        }
        from.Receive(token);
        return true;
    }

    /// <summary>A later wave, when the resend timer fires: every search target again, by unicast and multicast (IPv6:
    /// site-local, then link-local), unless something has answered; then the timer of the next wave, if any.</summary>
    private void SendLaterWave(CancellationToken token)
    {
        if (_answers == 0)
        {
            var all = _options.SearchTargets.ToArray();
            // Every send is made; the first error is the one kept (`x ??= Send()` would skip the send once x is set).
            _sendError = FirstError(_sendError, Send(_targets, all));
            if (_v6 is not null)
            {
                _sendError = FirstError(_sendError, _v6.SendMulticast(Ssdp.SiteLocalMulticastEndPoint, _v6Interfaces, all));
                _sendError = FirstError(_sendError, _v6.SendMulticast(Ssdp.LinkLocalMulticastEndPoint, _v6Interfaces, all));
            }
        }
        _wave++;
        _resendTimer = _wave < LaterWaves.Length && _answers == 0
            ? Task.Delay(LaterWaves[_wave] - LaterWaves[_wave - 1], token)
            : null;
    }

    /// <summary>The error to report: the first one seen (both sends were made before this is called).</summary>
    private static string? FirstError(string? first, string? next) => first ?? next;

    /// <summary>Sends each search target to each target, through the socket of the target's address family.</summary>
    private string? Send(List<IPEndPoint> targets, IReadOnlyList<string> searchTargets)
    {
        string? error = null;
        foreach (var target in targets)
        {
            var listener = target.AddressFamily == AddressFamily.InterNetworkV6 ? _v6 : _v4;
            if (listener is not null)
            {
                error = FirstError(error, listener.Send(target, searchTargets));
            }
        }
        return error;
    }

    /// <summary>Records an answer; a LOCATION seen for the first time gets a probe, unless it must be ignored.</summary>
    private void OnAnswer(ReadOnlySpan<byte> datagram, IPAddress responder, CancellationToken token)
    {
        var answer = Ssdp.Parse(datagram);
        if (answer is null)
        {
            return;
        }
        _answers++;
        if (_candidates.TryGetValue(answer.Location, out var known))
        {
            known.AddUuid(answer.UniqueServiceName);
            if (!known.SearchTargets.Contains(answer.SearchTarget) && known.SearchTargets.Count < 16)
            {
                known.SearchTargets.Add(answer.SearchTarget);
            }
            return;
        }
        if (_candidates.Count >= _options.MaxCandidates)
        {
            _ignored++;
            return;
        }
        var candidate = new Candidate(answer, responder, _watch.Elapsed);
        _candidates.Add(answer.Location, candidate);
        _order.Add(candidate);

        if (!IgdProbe.IsHttpUrl(answer.Location, out var location))
        {
            candidate.Note = "ignored: LOCATION is not an absolute http:// URL";
        }
        else if (!_options.AllowForeignAddresses && !NamesAddress(location, responder))
        {
            candidate.Note = $"ignored: LOCATION names {location.Host}, but the answer came from {responder} (AllowForeignAddresses is off)";
        }
        else
        {
            string url = location.AbsoluteUri;
            bool allowForeign = _options.AllowForeignAddresses;
            // No timeout of its own: the search's deadline (the token) bounds the wait.
            candidate.Probe = NativeCall.RunAsync(() => IgdProbe.Probe(url, checkState: true, allowForeign),
                Timeout.InfiniteTimeSpan, token);
        }
    }

    private static bool NamesAddress(Uri location, IPAddress responder) =>
        location.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6
        && IPAddress.TryParse(location.IdnHost, out var host)
        && SameAddress(host, responder);

    // An IPv6 link-local responder carries its interface (scope id), a LOCATION usually not: compare the addresses.
    private static bool SameAddress(IPAddress a, IPAddress b) =>
        a.AddressFamily == b.AddressFamily && a.GetAddressBytes().AsSpan().SequenceEqual(b.GetAddressBytes());

    /// <summary>
    /// The candidate to return now, or null to keep listening. A connected IGD with a public address is taken at
    /// once; one with a reserved address once no other probe is still running (a better one may be on its way);
    /// on the final call (the timeout), the best examined, as <c>UPNP_GetValidIGD</c> ranks them.
    /// </summary>
    private Candidate? Choose(bool final)
    {
        var examined = _order.Where(c => c.Result?.Description is not null && c.Result.State != GatewayState.UnrecognizedDevice).ToList();
        var best = examined.OrderBy(c => (int)c.Result!.State).FirstOrDefault();
        if (best is null || (_options.WaitForAllAnswers && !final))
        {
            return final ? best : null;
        }
        if (best.Result!.State == GatewayState.Connected || final)
        {
            return best;
        }
        bool probing = _order.Any(c => c.Probe is { IsCompleted: false });
        return best.Result.State == GatewayState.ConnectedWithReservedAddress && !probing ? best : null;
    }

    private string Reason(Candidate? chosen, string? sendError)
    {
        long ms = _watch.ElapsedMilliseconds;
        string seen = $"{_order.Count} candidate{(_order.Count == 1 ? "" : "s")}{(_ignored > 0 ? $", {_ignored} more ignored" : "")}";
        if (chosen is null)
        {
            if (_order.Count == 0)
            {
                return $"no answer to the SSDP search within {_options.Timeout.TotalMilliseconds:0} ms"
                    + (sendError is null ? "" : $" ({sendError})");
            }
            var notes = _order.Select(c => $"{c.Answer.Location}: {c.Note ?? c.Result?.Failure ?? "still being examined"}");
            return $"no usable IGD within {_options.Timeout.TotalMilliseconds:0} ms ({seen}: {string.Join("; ", notes)})";
        }
        var r = chosen.Result!;
        string how = _options.WaitForAllAnswers ? $"the best of {seen} after waiting {ms} ms" : $"{seen}, chosen after {ms} ms";
        return r.State switch
        {
            GatewayState.Connected => $"{chosen.Answer.Location}: connected IGD, public address {r.ExternalAddress} ({how})",
            GatewayState.ConnectedWithReservedAddress =>
                $"{chosen.Answer.Location}: connected IGD with a reserved external address {r.ExternalAddress?.ToString() ?? "(unreadable)"}, " +
                $"private or carrier-grade NAT: mapped ports are reachable only from that network ({how})",
            _ => $"{chosen.Answer.Location}: the only IGD found reports its WAN connection down ({how})",
        };
    }

    private GatewayDiscoveryResult Result(Candidate? chosen, string reason)
    {
        UpnpGateway? gateway = chosen is null
            ? null
            : new UpnpGateway(chosen.Result!.Description!, chosen.Result.State, chosen.Result.ExternalAddress,
                _options.OperationTimeout, _options.AllowForeignAddresses) { DeviceUuids = chosen.Uuids.ToArray(), DiscoveryOptions = _options }; // the search's private copy, read-only from here
        var candidates = _order.Select(c => c.ToPublic()).ToArray();
        return new GatewayDiscoveryResult(gateway, candidates, reason, _watch.Elapsed, usedRememberedUrl: false);
    }

    /// <summary>One socket of a search (IPv4 or IPv6), its receive buffer and its pending receive.</summary>
    private sealed class Listener : IDisposable
    {
        private readonly Socket _socket;

        // A send waits only when the socket's buffer is full (never seen: a search is a few datagrams). Sends do not
        // watch the token: in that unseen case a wave (at most 16 targets × 16 search targets) could end late.
        private const int SendTimeoutMs = 1000;

        private Listener(Socket socket) => _socket = socket;

        internal byte[] Buffer { get; } = new byte[Ssdp.MaxDatagram];

        internal Task<SocketReceiveFromResult>? Pending { get; set; }

        internal int Errors { get; set; }

        /// <summary>A bound UDP socket, or null (with the reason in <paramref name="error"/>) when the machine has no such
        /// stack: a host without IPv6 still searches over IPv4.</summary>
        internal static Listener? Open(AddressFamily family, IPAddress? localAddress, ref string? error)
        {
            Socket? socket = null;
            try
            {
                socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp) { SendTimeout = SendTimeoutMs };
                if (family == AddressFamily.InterNetworkV6)
                {
                    socket.DualMode = false;
                    socket.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
                    socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastTimeToLive, 2);
                }
                else
                {
                    socket.Bind(new IPEndPoint(localAddress ?? IPAddress.Any, 0));
                    socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 2);
                    if (localAddress is not null)
                    {
                        socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, localAddress.GetAddressBytes());
                    }
                }
                return new Listener(socket);
            }
            catch (SocketException e)
            {
                socket?.Dispose();
                error ??= $"no {(family == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4")} socket: {e.Message}";
                return null;
            }
        }

        internal void Receive(CancellationToken token)
        {
            var any = _socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
            // A receive cancelled when the search ends finishes faulted (an OperationCanceledException), not cancelled:
            // observed, or the finalizer would report it to TaskScheduler.UnobservedTaskException after every search.
            Pending = _socket.ReceiveFromAsync(Buffer, SocketFlags.None, new IPEndPoint(any, 0), token).AsTask().Observed();
        }

        internal string? Send(IPEndPoint target, IReadOnlyList<string> searchTargets)
        {
            string? error = null;
            foreach (string st in searchTargets)
            {
                try
                {
                    _socket.SendTo(Ssdp.Request(target, st), SocketFlags.None, target);
                }
                catch (SocketException e)
                {
                    error ??= $"sending to {target}: {e.Message}";
                }
            }
            return error;
        }

        /// <summary>IPv6 multicast goes out on one interface at a time (IPV6_MULTICAST_IF): send on each.</summary>
        internal string? SendMulticast(IPEndPoint group, IReadOnlyList<int> interfaces, IReadOnlyList<string> searchTargets)
        {
            string? error = null;
            foreach (int index in interfaces)
            {
                try
                {
                    _socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastInterface, index);
                }
                catch (SocketException e)
                {
                    error ??= $"choosing interface {index} for {group}: {e.Message}";
                    continue;
                }
                error = FirstError(error, Send(group, searchTargets));
            }
            return error;
        }

        public void Dispose() => _socket.Dispose();
    }

    /// <summary>One distinct LOCATION seen during a search.</summary>
    private sealed class Candidate
    {
        internal Candidate(Ssdp.Answer answer, IPAddress responder, TimeSpan answeredAfter)
        {
            Answer = answer;
            Responder = responder;
            AnsweredAfter = answeredAfter;
            SearchTargets.Add(answer.SearchTarget);
            AddUuid(answer.UniqueServiceName);
        }

        internal List<string> Uuids { get; } = new();

        internal void AddUuid(string? usn)
        {
            if (Ssdp.DeviceUuid(usn) is { } uuid && !Uuids.Contains(uuid, StringComparer.OrdinalIgnoreCase) && Uuids.Count < 8)
            {
                Uuids.Add(uuid);
            }
        }

        internal Ssdp.Answer Answer { get; }
        internal IPAddress Responder { get; }
        internal TimeSpan AnsweredAfter { get; }
        internal List<string> SearchTargets { get; } = new();
        internal Task<IgdProbe.Result>? Probe { get; set; }
        internal string? Note { get; set; }

        internal IgdProbe.Result? Result => Probe is { IsCompletedSuccessfully: true } p ? p.Result : null;

        internal GatewayCandidate ToPublic()
        {
            var result = Result;
            string? note = Note
                ?? result?.Failure
                ?? (Probe is null ? null : Probe.IsCompleted ? (result is null ? "examining it failed" : null) : "still being examined when the search ended");
            Uri location = Uri.TryCreate(Answer.Location, UriKind.Absolute, out var u) ? u : new Uri("urn:invalid-location");
            return new GatewayCandidate(location, Responder, SearchTargets.ToArray(), Answer.Server,
                result?.Description is null ? null : result.State, result?.ExternalAddress, AnsweredAfter, note);
        }
    }
}
