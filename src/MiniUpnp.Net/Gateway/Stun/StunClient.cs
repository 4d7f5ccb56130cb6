using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net;

/// <summary>
/// A STUN client (RFC 8489 Binding over UDP, IPv4 or IPv6): asks a server which public address and port a local port is
/// seen from, and, with a server that supports RFC 5780, how the NAT in between maps and filters.
/// </summary>
/// <remarks>
/// <para>
/// The library never picks a STUN server: the application gives one (applications commonly use public servers, or one of
/// their own; only a server with an alternate address, RFC 5780, can tell the NAT's behaviour). Nothing is sent until a
/// method is called.
/// </para>
/// <para>
/// Each request has a new random 96-bit transaction id and is retransmitted as RFC 8489 §6.2.1 says (after
/// <see cref="InitialRetransmissionInterval"/>, then doubling; at most <see cref="MaxRequests"/> requests, then 16 times
/// the initial interval of waiting) until a valid answer comes, <see cref="OperationTimeout"/> passes (then
/// <see cref="TimeoutException"/>) or the token is cancelled (then <see cref="OperationCanceledException"/>). Datagrams
/// that are not the answer (another sender, too short, no magic cookie, a bad length or attribute, another transaction id)
/// are ignored; the timeout's message counts them. An error response throws <see cref="StunException"/>.
/// </para>
/// <para>
/// What a verdict about a port needs is the mapping of that port: set <see cref="LocalEndPoint"/> (the client binds a
/// socket of its own there for each call) or pass the application's own UDP socket (the client sends and receives on it
/// during the call and never disposes it). An instance holds no socket between calls and may be used from several threads
/// at once (a socket passed in must not be read by anything else during the call: what arrives then is taken and dropped).
/// </para>
/// </remarks>
/// <example><code>
/// var stun = new StunClient { LocalEndPoint = new IPEndPoint(IPAddress.Any, 6881) };
/// var binding = await stun.QueryAsync(new IPEndPoint(serverAddress, StunClient.DefaultPort));
/// Console.WriteLine($"local port 6881 is seen as {binding.MappedEndPoint}");
/// </code></example>
public sealed class StunClient
{
    /// <summary>The STUN port (RFC 8489 §18.3: 3478 over UDP).</summary>
    public const int DefaultPort = 3478;

    /// <summary>RFC 8489 §6.2.1's Rm: after the last request, wait this many initial intervals for its answer.</summary>
    private const int FinalWaitFactor = 16;

    private const int MaxRequestsLimit = 16;
    private const int ReceiveBufferBytes = 2048;

    private static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(1);
    private static readonly TimeSpan MaxRetransmissionInterval = TimeSpan.FromMinutes(1);

    private readonly TimeSpan _operationTimeout = TimeSpan.FromSeconds(3);
    private readonly TimeSpan _initialRetransmission = TimeSpan.FromMilliseconds(500);
    private readonly int _maxRequests = 7;
    private readonly IPEndPoint? _localEndPoint;

    /// <summary>How long one request waits for a valid answer, retransmissions included (default 3 s, at most one hour).
    /// <see cref="DetectBehaviourAsync(IPEndPoint, CancellationToken)"/> runs up to five requests, each so bounded.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not above zero, or above one hour.</exception>
    public TimeSpan OperationTimeout
    {
        get => _operationTimeout;
        init
        {
            Check.Positive(value, MaxTimeout, nameof(OperationTimeout));
            _operationTimeout = value;
        }
    }

    /// <summary>The wait before the first retransmission (RFC 8489 §6.2.1's initial RTO: 500 ms, the default); each later
    /// wait doubles.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not above zero, or above one minute.</exception>
    public TimeSpan InitialRetransmissionInterval
    {
        get => _initialRetransmission;
        init
        {
            Check.Positive(value, MaxRetransmissionInterval, nameof(InitialRetransmissionInterval));
            _initialRetransmission = value;
        }
    }

    /// <summary>How many times a request is sent at most (RFC 8489 §6.2.1's Rc: 7, the default; 1 to 16).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Below 1 or above 16.</exception>
    public int MaxRequests
    {
        get => _maxRequests;
        init
        {
            if (value is < 1 or > MaxRequestsLimit)
            {
                throw new ArgumentOutOfRangeException(nameof(MaxRequests), value, $"The value must be between 1 and {MaxRequestsLimit}.");
            }
            _maxRequests = value;
        }
    }

    /// <summary>Where the client's own socket is bound for each call (for example the unspecified address and the port an
    /// application will listen on, so that the answer tells that port's mapping), or null (the default) for an
    /// ephemeral port. Its address family must be the server's. The port must be free during the call.</summary>
    public IPEndPoint? LocalEndPoint
    {
        get => _localEndPoint;
        init => _localEndPoint = value is null ? null : new IPEndPoint(value.Address, value.Port);
    }

    /// <summary>Sends a Binding request from a socket of the client's own (bound to <see cref="LocalEndPoint"/>, if set) and
    /// returns what the server saw.</summary>
    /// <param name="server">The STUN server (its port is usually <see cref="DefaultPort"/>).</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The mapped address and port, and what else the server said.</returns>
    /// <exception cref="ArgumentException">A bad server or <see cref="LocalEndPoint"/>, before any network I/O.</exception>
    /// <exception cref="StunException">The server answered with an error response.</exception>
    /// <exception cref="TimeoutException">No valid answer within <see cref="OperationTimeout"/> or <see cref="MaxRequests"/>.</exception>
    /// <exception cref="SocketException">The local endpoint cannot be bound, or the server cannot be reached at all.</exception>
    public Task<StunBinding> QueryAsync(IPEndPoint server, CancellationToken cancellationToken = default)
    {
        server = CheckServer(server);
        CheckLocalEndPoint(server);
        return WithOwnSocketAsync(server, QueryCoreAsync, cancellationToken);
    }

    /// <summary>Sends a Binding request from the application's own UDP socket and returns what the server saw: the mapping
    /// of exactly that socket's port. The socket is not disposed; nothing else may read from it during the call.</summary>
    /// <param name="socket">A UDP socket, not connected; bound (else sending binds it to an ephemeral port). An IPv6 socket
    /// in dual mode also reaches IPv4 servers.</param>
    /// <param name="server">The STUN server.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The mapped address and port, and what else the server said.</returns>
    /// <exception cref="ArgumentException">A bad server or socket, before any network I/O.</exception>
    /// <exception cref="StunException">The server answered with an error response.</exception>
    /// <exception cref="TimeoutException">No valid answer within <see cref="OperationTimeout"/> or <see cref="MaxRequests"/>.</exception>
    /// <exception cref="SocketException">The server cannot be reached at all.</exception>
    public Task<StunBinding> QueryFromAsync(Socket socket, IPEndPoint server, CancellationToken cancellationToken = default)
    {
        server = CheckServer(server);
        CheckSocket(socket, server);
        return cancellationToken.IsCancellationRequested ? Task.FromCanceled<StunBinding>(cancellationToken)
            : QueryCoreAsync(socket, server, cancellationToken);
    }

    /// <summary>
    /// Finds the NAT's mapping and filtering behaviour as RFC 5780 §4.3 and §4.4 say, from a socket of the client's own
    /// (bound to <see cref="LocalEndPoint"/>, if set). With a server that sends no OTHER-ADDRESS, both are
    /// <see cref="StunMappingBehaviour.NotSupported"/>: the server cannot tell, and nothing is guessed.
    /// </summary>
    /// <param name="server">The STUN server's primary address and port.</param>
    /// <param name="cancellationToken">Stops the tests.</param>
    /// <returns>The behaviours and every test's evidence.</returns>
    /// <exception cref="ArgumentException">A bad server or <see cref="LocalEndPoint"/>, before any network I/O.</exception>
    /// <exception cref="StunException">The server answered test I (the plain request) with an error response.</exception>
    /// <exception cref="TimeoutException">Test I got no valid answer. (Later tests that get none are evidence, not errors.)</exception>
    /// <exception cref="SocketException">The local endpoint cannot be bound, or the server cannot be reached at all.</exception>
    /// <remarks>All tests go from one socket. The filtering tests run first: the mapping tests send to the alternate
    /// address, which would open an address-dependent filter to it.</remarks>
    public Task<StunNatBehaviour> DetectBehaviourAsync(IPEndPoint server, CancellationToken cancellationToken = default)
    {
        server = CheckServer(server);
        CheckLocalEndPoint(server);
        return WithOwnSocketAsync(server, DetectCoreAsync, cancellationToken);
    }

    /// <summary>Finds the NAT's mapping and filtering behaviour (RFC 5780) for the application's own UDP socket, as
    /// <see cref="DetectBehaviourAsync(IPEndPoint, CancellationToken)"/> does. The socket is not disposed; nothing else may
    /// read from it during the call.</summary>
    /// <param name="socket">A UDP socket, not connected.</param>
    /// <param name="server">The STUN server's primary address and port.</param>
    /// <param name="cancellationToken">Stops the tests.</param>
    /// <returns>The behaviours and every test's evidence.</returns>
    /// <exception cref="ArgumentException">A bad server or socket, before any network I/O.</exception>
    /// <exception cref="StunException">The server answered test I with an error response.</exception>
    /// <exception cref="TimeoutException">Test I got no valid answer.</exception>
    /// <exception cref="SocketException">The server cannot be reached at all.</exception>
    public Task<StunNatBehaviour> DetectBehaviourFromAsync(Socket socket, IPEndPoint server, CancellationToken cancellationToken = default)
    {
        server = CheckServer(server);
        CheckSocket(socket, server);
        return cancellationToken.IsCancellationRequested ? Task.FromCanceled<StunNatBehaviour>(cancellationToken)
            : DetectCoreAsync(socket, server, cancellationToken);
    }

    private static IPEndPoint CheckServer(IPEndPoint server)
    {
        ArgumentNullException.ThrowIfNull(server);
        var address = StunMessage.Plain(server.Address);
        if (!IsUnicast(address))
        {
            throw new ArgumentException("The STUN server must be a unicast IPv4 or IPv6 address.", nameof(server));
        }
        Check.Port(server.Port, nameof(server));
        return new IPEndPoint(address, server.Port);
    }

    internal static bool IsUnicast(IPAddress address) =>
        address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6
        && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any) && !address.Equals(IPAddress.Broadcast)
        && !address.IsIPv6Multicast && !(address.AddressFamily == AddressFamily.InterNetwork && address.GetAddressBytes()[0] >= 224);

    private void CheckLocalEndPoint(IPEndPoint server)
    {
        if (_localEndPoint is { } local && StunMessage.Plain(local.Address).AddressFamily != server.AddressFamily)
        {
            throw new ArgumentException("The local endpoint's address family must be the STUN server's.", nameof(LocalEndPoint));
        }
    }

    private static void CheckSocket(Socket socket, IPEndPoint server)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (socket.SocketType != SocketType.Dgram || socket.ProtocolType != ProtocolType.Udp)
        {
            throw new ArgumentException("The socket must be a UDP socket.", nameof(socket));
        }
        if (socket.Connected)
        {
            throw new ArgumentException("The socket must not be connected: STUN answers may come from other addresses.", nameof(socket));
        }
        bool fits = socket.AddressFamily == server.AddressFamily
            || (socket.AddressFamily == AddressFamily.InterNetworkV6 && server.AddressFamily == AddressFamily.InterNetwork && socket.DualMode);
        if (!fits)
        {
            throw new ArgumentException("The socket cannot reach the STUN server's address family (an IPv6 socket reaches IPv4 only in dual mode).",
                nameof(socket));
        }
    }

    private async Task<T> WithOwnSocketAsync<T>(IPEndPoint server, Func<Socket, IPEndPoint, CancellationToken, Task<T>> run,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var socket = OwnSocket(server);
        return await run(socket, server, cancellationToken).ConfigureAwait(false);
    }

    private Socket OwnSocket(IPEndPoint server)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            var local = _localEndPoint is null
                ? new IPEndPoint(server.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0)
                : new IPEndPoint(StunMessage.Plain(_localEndPoint.Address), _localEndPoint.Port);
            socket.Bind(local);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task<StunBinding> QueryCoreAsync(Socket socket, IPEndPoint server, CancellationToken cancellationToken)
    {
        return await ExchangeAsync(socket, server, StunChangeRequest.None, server, null, "Binding", cancellationToken)
            .ConfigureAwait(false);
    }

    private async Task<StunNatBehaviour> DetectCoreAsync(Socket socket, IPEndPoint server, CancellationToken cancellationToken)
    {
        var tests = new List<StunBehaviourTest>();
        var first = await ExchangeAsync(socket, server, StunChangeRequest.None, server, null, "Binding", cancellationToken)
            .ConfigureAwait(false);
        tests.Add(new StunBehaviourTest(StunBehaviourTestKind.Binding, server, StunChangeRequest.None, server, first, null));

        if (first.OtherAddress is not { } other)
        {
            return new StunNatBehaviour(server, first, StunMappingBehaviour.NotSupported, StunFilteringBehaviour.NotSupported, tests,
                $"The server {server} sent no OTHER-ADDRESS: it does not support RFC 5780 behaviour discovery; use a server that does.");
        }
        other = new IPEndPoint(StunMessage.Plain(other.Address), other.Port);
        if (other.AddressFamily != server.AddressFamily || !IsUnicast(other.Address) || other.Port == 0)
        {
            return new StunNatBehaviour(server, first, StunMappingBehaviour.Unknown, StunFilteringBehaviour.Unknown, tests,
                $"The server's OTHER-ADDRESS {other} is not a unicast address and port of the server's family: no test can use it.");
        }
        if (other.Address.Equals(server.Address) || other.Port == server.Port)
        {
            return new StunNatBehaviour(server, first, StunMappingBehaviour.Unknown, StunFilteringBehaviour.Unknown, tests,
                $"The server's OTHER-ADDRESS {other} does not differ from {server} in both address and port: the tests need an alternate IP address and port.");
        }

        // Filtering first (§4.4), so that no request has gone to the alternate address yet.
        var (filtering, filteringWhy) = await FilteringAsync(socket, server, other, tests, cancellationToken).ConfigureAwait(false);
        var (mapping, mappingWhy) = await MappingAsync(socket, server, other, first, tests, cancellationToken).ConfigureAwait(false);
        return new StunNatBehaviour(server, first, mapping, filtering, tests, mappingWhy + " " + filteringWhy);
    }

    private async Task<(StunFilteringBehaviour, string)> FilteringAsync(Socket socket, IPEndPoint server, IPEndPoint other,
        List<StunBehaviourTest> tests, CancellationToken cancellationToken)
    {
        var both = await TestAsync(socket, StunBehaviourTestKind.FilteringChangeAddressAndPort, server,
            StunChangeRequest.ChangeAddress | StunChangeRequest.ChangePort, other, server, cancellationToken).ConfigureAwait(false);
        tests.Add(both.Test);
        if (both.Test.Answered)
        {
            return (StunFilteringBehaviour.EndpointIndependent,
                $"Filtering: the answer from the alternate address and port {other} arrived.");
        }
        if (!both.Silent)
        {
            return (StunFilteringBehaviour.Unknown, $"Filtering: the change-address-and-port test failed ({both.Test.Failure}).");
        }
        var alternatePort = new IPEndPoint(server.Address, other.Port);
        var port = await TestAsync(socket, StunBehaviourTestKind.FilteringChangePort, server, StunChangeRequest.ChangePort,
            alternatePort, server, cancellationToken).ConfigureAwait(false);
        tests.Add(port.Test);
        if (port.Test.Answered)
        {
            return (StunFilteringBehaviour.AddressDependent,
                $"Filtering: no answer from the alternate address {other}, but one from the alternate port {alternatePort}.");
        }
        if (!port.Silent)
        {
            return (StunFilteringBehaviour.Unknown, $"Filtering: the change-port test failed ({port.Test.Failure}).");
        }
        return (StunFilteringBehaviour.AddressAndPortDependent,
            $"Filtering: no answer from the alternate address {other} nor from the alternate port {alternatePort}.");
    }

    private async Task<(StunMappingBehaviour, string)> MappingAsync(Socket socket, IPEndPoint server, IPEndPoint other,
        StunBinding first, List<StunBehaviourTest> tests, CancellationToken cancellationToken)
    {
        if (!first.IsTranslated)
        {
            return (StunMappingBehaviour.EndpointIndependent,
                $"Mapping: the server saw the local endpoint {first.LocalEndPoint} itself (no NAT).");
        }
        var alternateAddress = new IPEndPoint(other.Address, server.Port);
        var second = await TestAsync(socket, StunBehaviourTestKind.MappingAlternateAddress, alternateAddress, StunChangeRequest.None,
            alternateAddress, null, cancellationToken).ConfigureAwait(false);
        tests.Add(second.Test);
        if (!second.Test.Answered)
        {
            return (StunMappingBehaviour.Unknown, $"Mapping: the request to {alternateAddress} failed ({second.Test.Failure}).");
        }
        var secondMapped = second.Test.Binding!.MappedEndPoint;
        if (StunMessage.Same(secondMapped, first.MappedEndPoint))
        {
            return (StunMappingBehaviour.EndpointIndependent,
                $"Mapping: {first.MappedEndPoint} toward {server} and toward {alternateAddress}.");
        }
        var third = await TestAsync(socket, StunBehaviourTestKind.MappingAlternateAddressAndPort, other, StunChangeRequest.None,
            other, null, cancellationToken).ConfigureAwait(false);
        tests.Add(third.Test);
        if (!third.Test.Answered)
        {
            return (StunMappingBehaviour.Unknown, $"Mapping: the request to {other} failed ({third.Test.Failure}).");
        }
        var thirdMapped = third.Test.Binding!.MappedEndPoint;
        return StunMessage.Same(thirdMapped, secondMapped)
            ? (StunMappingBehaviour.AddressDependent,
                $"Mapping: {first.MappedEndPoint} toward {server}, {secondMapped} toward {other.Address} on either port.")
            : (StunMappingBehaviour.AddressAndPortDependent,
                $"Mapping: {first.MappedEndPoint} toward {server}, {secondMapped} toward {alternateAddress}, {thirdMapped} toward {other}.");
    }

    /// <summary>One test: its evidence, and whether it failed by silence (what the filtering verdict reads) rather than by
    /// an error answer or an answer from the wrong address.</summary>
    private async Task<(StunBehaviourTest Test, bool Silent)> TestAsync(Socket socket, StunBehaviourTestKind kind,
        IPEndPoint destination, StunChangeRequest change, IPEndPoint expected, IPEndPoint? unchanged, CancellationToken cancellationToken)
    {
        try
        {
            var binding = await ExchangeAsync(socket, destination, change, expected, unchanged, kind.ToString(), cancellationToken)
                .ConfigureAwait(false);
            string? failure = StunMessage.Same(binding.AnsweredFrom, expected) ? null
                : $"answered from {binding.AnsweredFrom}, not {expected}: the server does not honour CHANGE-REQUEST";
            return (new StunBehaviourTest(kind, destination, change, expected, binding, failure), false);
        }
        catch (StunException e)
        {
            return (new StunBehaviourTest(kind, destination, change, expected, null, $"error {e.Code} {e.Reason}"), false);
        }
        catch (TimeoutException e)
        {
            return (new StunBehaviourTest(kind, destination, change, expected, null, e.Message), true);
        }
        catch (SocketException e)
        {
            // The alternate address may be unroutable from here: evidence for an Unknown verdict, not the end of the others.
            return (new StunBehaviourTest(kind, destination, change, expected, null, $"socket error {e.SocketErrorCode}: {e.Message}"), false);
        }
    }

    /// <summary>
    /// Sends a Binding request to <paramref name="destination"/> and retransmits it (RFC 8489 §6.2.1) until a valid answer
    /// comes from <paramref name="expected"/> (or from <paramref name="unchanged"/>, the address a server that ignores
    /// CHANGE-REQUEST answers from); ignores everything else. An error response throws.
    /// </summary>
    private async Task<StunBinding> ExchangeAsync(Socket socket, IPEndPoint destination, StunChangeRequest change, IPEndPoint expected,
        IPEndPoint? unchanged, string what, CancellationToken cancellationToken)
    {
        var transactionId = RandomNumberGenerator.GetBytes(StunMessage.TransactionIdBytes);
        byte[] request = StunMessage.Request(transactionId, change);
        var target = socket.AddressFamily == AddressFamily.InterNetworkV6 && destination.AddressFamily == AddressFamily.InterNetwork
            ? new IPEndPoint(destination.Address.MapToIPv6(), destination.Port)
            : destination;

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_operationTimeout);
        var buffer = new byte[ReceiveBufferBytes];
        EndPoint anySender = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        var clock = Stopwatch.StartNew();
        var interval = _initialRetransmission;
        int sent = 0, ignored = 0, refused = 0;
        StunReplyProblem lastProblem = StunReplyProblem.None;
        try
        {
            while (true)
            {
                try
                {
                    await socket.SendToAsync(request, SocketFlags.None, target, deadline.Token).ConfigureAwait(false);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused)
                {
                    // An ICMP port unreachable for an earlier datagram, reported on this send (Windows): count it, go on.
                    refused++;
                }
                sent++;
                bool last = sent >= _maxRequests;
                var retransmitAt = clock.Elapsed + (last ? _initialRetransmission * FinalWaitFactor : interval);
                while (clock.Elapsed < retransmitAt)
                {
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
                    wait.CancelAfter(retransmitAt - clock.Elapsed);
                    SocketReceiveFromResult received;
                    try
                    {
                        received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, anySender, wait.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!deadline.IsCancellationRequested)
                    {
                        break;
                    }
                    catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused)
                    {
                        // ICMP port unreachable (reported on unconnected sockets by Windows): RFC 8489 keeps retransmitting.
                        refused++;
                        continue;
                    }
                    catch (SocketException e) when (e.SocketErrorCode == SocketError.MessageSize)
                    {
                        ignored++;
                        lastProblem = StunReplyProblem.BadLength;
                        continue;
                    }
                    var from = received.RemoteEndPoint as IPEndPoint;
                    bool fromExpected = from is not null && StunMessage.Same(from, expected);
                    var problem = fromExpected || (from is not null && unchanged is not null && StunMessage.Same(from, unchanged))
                        ? StunMessage.TryParse(buffer.AsSpan(0, received.ReceivedBytes), transactionId, out var response)
                        : Ignore(out response);
                    if (problem != StunReplyProblem.None)
                    {
                        ignored++;
                        lastProblem = problem;
                        continue;
                    }
                    if (response.IsError)
                    {
                        throw new StunException(response.ErrorCode, response.ErrorReason ?? string.Empty,
                            $"STUN {what} refused by {destination}: error {response.ErrorCode} {response.ErrorReason}".TrimEnd());
                    }
                    var roundTrip = clock.Elapsed;
                    var origin = new IPEndPoint(StunMessage.Plain(from!.Address), from.Port);
                    return new StunBinding(destination, LocalEndPointToward(socket, target), Normalize(response.Mapped!), response.IsXorMapped,
                        response.OtherAddress is null ? null : Normalize(response.OtherAddress),
                        response.ResponseOrigin is null ? null : Normalize(response.ResponseOrigin),
                        response.Software, roundTrip, sent, origin);
                }
                if (last)
                {
                    throw new TimeoutException(TimeoutMessage(what, destination, sent, ignored, refused, lastProblem,
                        $"after {sent} requests"));
                }
                interval += interval;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(TimeoutMessage(what, destination, sent, ignored, refused, lastProblem,
                $"within {_operationTimeout.TotalMilliseconds:0} ms"));
        }
    }

    private static string TimeoutMessage(string what, IPEndPoint destination, int sent, int ignored, int refused,
        StunReplyProblem lastProblem, string bound)
    {
        string replies = ignored == 0 ? "no reply" :
            $"{ignored} {(ignored == 1 ? "reply" : "replies")} ignored (the last {StunMessage.Describe(lastProblem)})";
        string icmp = refused == 0 ? string.Empty : $"; {refused} ICMP port unreachable (no STUN server on that port?)";
        return $"STUN {what}: no valid answer from {destination} {bound} ({sent} sent, {replies}{icmp}).";
    }

    private static StunReplyProblem Ignore(out StunResponse response)
    {
        response = default;
        return StunReplyProblem.WrongSender;
    }

    private static IPEndPoint Normalize(IPEndPoint endPoint) => new(StunMessage.Plain(endPoint.Address), endPoint.Port);

    /// <summary>The socket's port and, when it is bound to the unspecified address, the route's source address toward the
    /// server (a connected UDP socket of our own learns it and sends nothing).</summary>
    private static IPEndPoint LocalEndPointToward(Socket socket, IPEndPoint target)
    {
        var bound = (IPEndPoint)socket.LocalEndPoint!;
        var address = StunMessage.Plain(bound.Address);
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            using var probe = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            if (target.AddressFamily == AddressFamily.InterNetworkV6)
            {
                probe.DualMode = socket.AddressFamily == AddressFamily.InterNetworkV6 && socket.DualMode;
            }
            probe.Connect(target);
            address = StunMessage.Plain(((IPEndPoint)probe.LocalEndPoint!).Address);
        }
        return new IPEndPoint(address, bound.Port);
    }
}
