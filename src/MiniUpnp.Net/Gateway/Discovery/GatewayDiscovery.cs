using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace MiniUpnp.Net;

/// <summary>
/// Finds the Internet Gateway Device with SSDP and says why it chose it. Unlike miniupnpc's <c>upnpDiscover</c>,
/// which always waits out its whole delay (at least one second of silence), a discovery returns as soon as a
/// connected IGD is known: the search goes out by multicast and, by unicast, to the default gateway; each distinct
/// LOCATION that answers is fetched, parsed and validated by miniupnpc (<c>UPNP_GetIGDFromUrl</c>) and its state
/// derived exactly as <c>UPNP_GetValidIGD</c> does, while more answers are still arriving.
/// </summary>
/// <remarks>
/// <para>Security: by default a description is fetched only from the address that sent the answer, and control
/// requests go only to the host that served the description (see
/// <see cref="GatewayDiscoveryOptions.AllowForeignAddresses"/>).</para>
/// <para>Cancellation and timeouts: the returned task ends when the token is cancelled (with
/// <see cref="OperationCanceledException"/>) or when <see cref="GatewayDiscoveryOptions.Timeout"/> has passed (with
/// the best result so far). Description fetches still running then are abandoned: each goes on in the background
/// until miniupnpc gives up on its own (connect 3 s, each receive 5 s), frees what it allocated, and is ignored.</para>
/// </remarks>
public static class GatewayDiscovery
{
    // The search goes out in waves. The first sends only the first search target: a router answers every M-SEARCH
    // it gets, one after another, and serves no HTTP meanwhile (the lab's miniupnpd: a description fetch takes 300 ms
    // instead of 5 ms while it answers five targets by multicast and unicast). An IGD:2 answers a search for IGD:1,
    // so the first target finds both. Only when nothing at all has answered do the later waves send every target
    // again (UDP may be lost), as miniupnpc moves on to its next search type only when one gets no answer.
    private static readonly TimeSpan[] LaterWaves = { TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(1000) };

    // A receive that fails (an ICMP error reported on the socket) is retried, this many times at most.
    private const int MaxReceiveErrors = 32;

    /// <summary>Searches for gateways and chooses one, and reports why: every candidate seen and the reason for the
    /// choice (<see cref="UpnpGateway.DiscoverAsync"/> returns the chosen gateway alone).</summary>
    /// <param name="options">Options, or null for the defaults.</param>
    /// <param name="cancellationToken">Stops the search.</param>
    /// <returns>The chosen gateway (or none), every candidate seen, and the reason for the choice.</returns>
    /// <exception cref="ArgumentException">An option has a value a search cannot use.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public static async Task<GatewayDiscoveryResult> DiscoverWithReportAsync(GatewayDiscoveryOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options = options?.Clone() ?? new GatewayDiscoveryOptions(); // a private copy: the caller may change theirs
        options.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        var search = new Search(options);
        return Logged(options, await search.RunAsync(cancellationToken).ConfigureAwait(false));
    }

    private static GatewayDiscoveryResult Logged(GatewayDiscoveryOptions options, GatewayDiscoveryResult result)
    {
        var log = options.LoggerOrNull;
        foreach (var candidate in result.Candidates)
        {
            log.LogDebug("UPnP discovery: candidate {Location} from {Responder}: {State} {Note}", candidate.Location, candidate.Responder, candidate.State, candidate.Note);
        }
        if (result.Gateway is null)
        {
            log.LogWarning("UPnP discovery found no gateway in {Elapsed} ms: {Reason}", (long)result.Elapsed.TotalMilliseconds, result.Reason);
        }
        else
        {
            log.LogInformation("UPnP discovery chose {Gateway} in {Elapsed} ms: {Reason}", result.Gateway.RootDescriptionUrl,
                (long)result.Elapsed.TotalMilliseconds, result.Reason);
        }
        return result;
    }

    /// <summary>
    /// Warm start: reopens the gateway from a remembered root-description URL without SSDP (one description fetch,
    /// validated by miniupnpc), and falls back to <see cref="DiscoverWithReportAsync"/> when the URL is stale (no answer within
    /// <see cref="GatewayDiscoveryOptions.RememberedUrlTimeout"/>, or not an IGD any more).
    /// </summary>
    /// <param name="rememberedUrl">A <see cref="UpnpGateway.RootDescriptionUrl"/> from an earlier run, or null to
    /// discover straight away.</param>
    /// <param name="options">Options, or null for the defaults.</param>
    /// <param name="cancellationToken">Stops the whole operation.</param>
    /// <returns>The gateway and how it was found (<see cref="GatewayDiscoveryResult.UsedRememberedUrl"/>).</returns>
    /// <exception cref="ArgumentException"><paramref name="rememberedUrl"/> is not an absolute http URL, or an option is unusable.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public static async Task<GatewayDiscoveryResult> OpenOrDiscoverAsync(Uri? rememberedUrl, GatewayDiscoveryOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        string? url = rememberedUrl is null ? null : UpnpGateway.CheckRootUrl(rememberedUrl, nameof(rememberedUrl));
        options = (options ?? new GatewayDiscoveryOptions()).Clone();
        options.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        if (url is null)
        {
            return await DiscoverWithReportAsync(options, cancellationToken).ConfigureAwait(false);
        }

        var watch = Stopwatch.StartNew();
        string failure;
        try
        {
            var probe = await NativeCall.RunAsync(() => IgdProbe.Probe(url, checkState: false, options.AllowForeignAddresses),
                options.RememberedUrlTimeout, cancellationToken).ConfigureAwait(false);
            var gateway = UpnpGateway.FromProbe(probe, url, options);
            var candidate = new GatewayCandidate(gateway.RootDescriptionUrl, null, Array.Empty<string>(), null,
                GatewayState.NotChecked, null, watch.Elapsed, "remembered URL");
            return Logged(options, new GatewayDiscoveryResult(gateway, new[] { candidate },
                $"{url}: reopened from the remembered URL without SSDP (one description fetch, {watch.ElapsedMilliseconds} ms)",
                watch.Elapsed, usedRememberedUrl: true));
        }
        catch (UpnpException e)
        {
            failure = e.Message;
        }
        catch (TimeoutException)
        {
            failure = $"no answer within {options.RememberedUrlTimeout.TotalMilliseconds:0} ms";
        }

        var discovered = await DiscoverWithReportAsync(options, cancellationToken).ConfigureAwait(false);
        var stale = new GatewayCandidate(rememberedUrl!, null, Array.Empty<string>(), null, null, null, null,
            $"remembered URL, stale: {failure}");
        options.LoggerOrNull.LogInformation("UPnP: the remembered URL {Url} is stale ({Failure}); discovered instead", url, failure);
        return new GatewayDiscoveryResult(discovered.Gateway, discovered.Candidates.Prepend(stale).ToArray(),
            $"remembered URL {url} is stale ({failure}); discovery: {discovered.Reason}", watch.Elapsed, usedRememberedUrl: false);
    }

    /// <summary>One search: the socket, the candidates by LOCATION, and the probes running on them.</summary>
    private sealed class Search
    {
        private readonly GatewayDiscoveryOptions _options;
        private readonly Dictionary<string, Candidate> _candidates = new(StringComparer.Ordinal);
        private readonly List<Candidate> _order = new();
        private readonly Stopwatch _watch = new();
        private int _ignored;
        private int _answers;

        internal Search(GatewayDiscoveryOptions options) => _options = options;

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
            string? sendError = null;
            using var v4 = wantIPv4 ? Listener.Open(AddressFamily.InterNetwork, _options.LocalAddress, ref sendError) : null;
            using var v6 = wantIPv6 ? Listener.Open(AddressFamily.InterNetworkV6, null, ref sendError) : null;
            var listeners = new[] { v4, v6 }.Where(l => l is not null).Select(l => l!).ToArray();

            // Multicast and the configured targets first, before anything else is set up: the router's answer takes
            // 50-80 ms (the lab's miniupnpd), the rest is done meanwhile. The default gateways are looked up then, and
            // searched right after. Sends are synchronous: a datagram is queued at once (SendTimeout bounds the rare
            // full buffer), and the asynchronous machinery would cost a fresh process milliseconds before the first.
            var targets = new List<IPEndPoint>();
            if (_options.SearchMulticast && v4 is not null)
            {
                targets.Add(Ssdp.MulticastEndPoint);
            }
            targets.AddRange(_options.UnicastTargets.Distinct());
            var firstTarget = new[] { _options.SearchTargets[0] };
            sendError = Send(v4, v6, targets, firstTarget) ?? sendError;
            // The timeout counts from the start of the search.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var left = _options.Timeout - _watch.Elapsed;
            stop.CancelAfter(left < TimeSpan.Zero ? TimeSpan.Zero : left);
            // IPv6: site-local multicast first on every interface, as miniupnpc does; link-local only in the later waves.
            var v6Interfaces = v6 is not null && _options.SearchIPv6Multicast ? Ssdp.IPv6MulticastInterfaces() : Array.Empty<int>();
            if (v6 is not null)
            {
                sendError = v6.SendMulticast(Ssdp.SiteLocalMulticastEndPoint, v6Interfaces, firstTarget) ?? sendError;
            }
            if (_options.SearchDefaultGateways && v4 is not null)
            {
                var gateways = Ssdp.DefaultGateways().Select(g => new IPEndPoint(g, Ssdp.MulticastEndPoint.Port)).Except(targets).ToList();
                sendError = Send(v4, v6, gateways, firstTarget) ?? sendError;
                targets.AddRange(gateways);
            }
            if (targets.Count == 0 && v6Interfaces.Count == 0)
            {
                return Result(null, "nothing to search: multicast is off and there is no default gateway, IPv6 interface or unicast target"
                    + (sendError is null ? "" : $" ({sendError})"));
            }
            int wave = 0;
            foreach (var listener in listeners)
            {
                listener.Receive(stop.Token);
            }
            Task? resendTimer = Task.Delay(LaterWaves[0], stop.Token);
            Candidate? chosen = null;
            try
            {
                while (chosen is null)
                {
                    var waitingFor = new List<Task>(_order.Count + 3);
                    waitingFor.AddRange(listeners.Where(l => l.Pending is not null).Select(l => l.Pending!));
                    if (resendTimer is not null)
                    {
                        waitingFor.Add(resendTimer);
                    }
                    waitingFor.AddRange(_order.Where(c => c.Probe is { IsCompleted: false }).Select(c => c.Probe!));
                    if (waitingFor.Count == 0)
                    {
                        await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
                    }
                    var done = await Task.WhenAny(waitingFor).ConfigureAwait(false);
                    stop.Token.ThrowIfCancellationRequested();

                    if (Array.Find(listeners, l => l.Pending == done) is { } from)
                    {
                        from.Pending = null;
                        try
                        {
                            var datagram = await ((Task<SocketReceiveFromResult>)done).ConfigureAwait(false);
                            OnAnswer(from.Buffer.AsSpan(0, datagram.ReceivedBytes), ((IPEndPoint)datagram.RemoteEndPoint).Address, stop.Token);
                        }
                        catch (SocketException e) when (++from.Errors < MaxReceiveErrors)
                        {
                            sendError ??= e.Message; // an ICMP error for one of our datagrams; keep listening
                        }
                        catch (SocketException)
                        {
                            continue; // too many errors: stop listening on it, let running probes finish
                        }
                        from.Receive(stop.Token);
                    }
                    else if (done == resendTimer)
                    {
                        if (_answers == 0)
                        {
                            var all = _options.SearchTargets.ToArray();
                            sendError ??= Send(v4, v6, targets, all);
                            if (v6 is not null)
                            {
                                sendError ??= v6.SendMulticast(Ssdp.SiteLocalMulticastEndPoint, v6Interfaces, all);
                                sendError ??= v6.SendMulticast(Ssdp.LinkLocalMulticastEndPoint, v6Interfaces, all);
                            }
                        }
                        wave++;
                        resendTimer = wave < LaterWaves.Length && _answers == 0
                            ? Task.Delay(LaterWaves[wave] - LaterWaves[wave - 1], stop.Token)
                            : null;
                    }
                    chosen = Choose(final: false);
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                chosen = Choose(final: true); // the timeout: the best of what has been examined
            }
            catch (OperationCanceledException)
            {
                throw new OperationCanceledException("The gateway discovery was cancelled.", null, cancellationToken);
            }
            finally
            {
                stop.Cancel(); // ends the pending receives and abandons probes still running
            }
            return Result(chosen, Reason(chosen, sendError));
        }

        /// <summary>Sends each search target to each target, through the socket of the target's address family.</summary>
        private static string? Send(Listener? v4, Listener? v6, List<IPEndPoint> targets, IReadOnlyList<string> searchTargets)
        {
            string? error = null;
            foreach (var target in targets)
            {
                var listener = target.AddressFamily == AddressFamily.InterNetworkV6 ? v6 : v4;
                if (listener is not null)
                {
                    error ??= listener.Send(target, searchTargets);
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
                error ??= Send(group, searchTargets);
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

/// <summary>The outcome of a discovery: the gateway chosen, if any, every candidate seen, and why.</summary>
public sealed class GatewayDiscoveryResult
{
    internal GatewayDiscoveryResult(UpnpGateway? gateway, IReadOnlyList<GatewayCandidate> candidates, string reason, TimeSpan elapsed,
        bool usedRememberedUrl)
    {
        Gateway = gateway;
        Candidates = candidates;
        Reason = reason;
        Elapsed = elapsed;
        UsedRememberedUrl = usedRememberedUrl;
    }

    /// <summary>The chosen gateway, or null when no usable IGD was found.</summary>
    public UpnpGateway? Gateway { get; }

    /// <summary>The chosen gateway's state (<see cref="GatewayState.NotChecked"/> when there is none, or when it was
    /// reopened from a remembered URL).</summary>
    public GatewayState State => Gateway?.State ?? GatewayState.NotChecked;

    /// <summary>Our address towards the chosen gateway, or null.</summary>
    public IPAddress? LocalAddress => Gateway?.LocalAddress;

    /// <summary>Every distinct description URL seen, in the order the answers came (an IGD answering several search
    /// targets appears once, with each target listed).</summary>
    public IReadOnlyList<GatewayCandidate> Candidates { get; }

    /// <summary>One line saying what was chosen and why, or why nothing was.</summary>
    public string Reason { get; }

    /// <summary>How long the discovery took.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>True when the gateway was reopened from a remembered URL (no SSDP).</summary>
    public bool UsedRememberedUrl { get; }

    /// <summary>The reason.</summary>
    /// <returns><see cref="Reason"/>.</returns>
    public override string ToString() => Reason;
}

/// <summary>A device that answered the search (or a remembered URL), and what became of it.</summary>
/// <param name="Location">Its root description URL (the answer's LOCATION).</param>
/// <param name="Responder">The address the answer came from (null for a remembered URL).</param>
/// <param name="SearchTargets">The search targets it answered.</param>
/// <param name="Server">Its SERVER header (operating system, UPnP version, product), if given.</param>
/// <param name="State">Its state when examined; null when it was not (ignored, failed, or still running).</param>
/// <param name="ExternalAddress">The external address it reported, if examined and connected.</param>
/// <param name="AnsweredAfter">Time from the start of the search to its answer.</param>
/// <param name="Note">Why it was ignored or failed, or null.</param>
public sealed record GatewayCandidate(
    Uri Location,
    IPAddress? Responder,
    IReadOnlyList<string> SearchTargets,
    string? Server,
    GatewayState? State,
    IPAddress? ExternalAddress,
    TimeSpan? AnsweredAfter,
    string? Note);
