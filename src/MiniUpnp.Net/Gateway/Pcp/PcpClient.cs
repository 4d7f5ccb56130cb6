using System;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net;

/// <summary>
/// A PCP client (Port Control Protocol, RFC 6887, version 2) for one server: the router's PCP server on UDP 5351.
/// ANNOUNCE tells whether it speaks PCP; MAP creates, renews and deletes mappings of this host's ports.
/// </summary>
/// <remarks>
/// <para>
/// Each request is sent from a UDP socket of its own, connected to the server, so the client address written in the
/// request is this host's source address toward the server (a wrong one gets ADDRESS_MISMATCH). Requests are
/// retransmitted as RFC 6887 §8.1.1 says (first after <see cref="InitialRetransmissionInterval"/> ± 10 %, then doubling,
/// at most 1024 s apart) until a valid answer comes, <see cref="OperationTimeout"/> passes (then
/// <see cref="TimeoutException"/>) or the token is cancelled (then <see cref="OperationCanceledException"/>). Replies
/// that are not the answer (another sender, too short, longer than 1100 bytes, another version or opcode, another
/// nonce) are ignored, as the RFC asks; the timeout's message counts them.
/// </para>
/// <para>
/// An error answer throws <see cref="PcpException"/>. Every answer's epoch is checked (RFC 6887 §8.5): when it shows
/// that the server lost its state, the result says so (<see cref="PcpMapping.ServerStateLost"/>,
/// <see cref="PcpAnnouncement.ServerStateLost"/>), and the caller must create its other mappings again. An instance
/// holds no socket between calls, needs no disposal, and may be used from several threads at once.
/// </para>
/// </remarks>
/// <example><code>
/// var pcp = PcpClient.ForDefaultGateway() ?? throw new InvalidOperationException("no default gateway");
/// var mapping = await pcp.MapAsync(new PcpMapRequest(PortMappingProtocol.Tcp, 6881));
/// // ... renew at half the lifetime with RenewAsync(mapping), and at the end:
/// await pcp.DeleteAsync(mapping);
/// </code></example>
public sealed class PcpClient
{
    /// <summary>The PCP server port (RFC 6887 §19.1), shared with NAT-PMP.</summary>
    public const int ServerPort = 5351;

    /// <summary>The longest lifetime reported (and asked for): 24 hours, RFC 6887 §15's default maximum. A server that
    /// grants more is renewed sooner than it needs, never later.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromHours(24);

    /// <summary>RFC 6887 §8.1.1's MRT: retransmissions are at most this far apart.</summary>
    private static readonly TimeSpan MaxRetransmissionInterval = TimeSpan.FromSeconds(1024);

    private static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(1);

    /// <summary>The clock the epoch check compares with the server's (monotonic, one per process).</summary>
    private static readonly Stopwatch s_processClock = Stopwatch.StartNew();

    private readonly PcpEpoch _epoch = new();
    private readonly TimeSpan _operationTimeout = TimeSpan.FromSeconds(10);
    private readonly TimeSpan _initialRetransmission = TimeSpan.FromSeconds(3);

    /// <summary>A client for the PCP server at <paramref name="server"/> (UDP port 5351).</summary>
    /// <param name="server">The server: the default gateway (see <see cref="ForDefaultGateway"/>) or another address.</param>
    /// <exception cref="ArgumentException">Not a unicast IPv4 or IPv6 address.</exception>
    public PcpClient(IPAddress server)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (server.IsIPv4MappedToIPv6)
        {
            server = server.MapToIPv4();
        }
        if (server.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
            || server.Equals(IPAddress.Any) || server.Equals(IPAddress.IPv6Any) || server.Equals(IPAddress.Broadcast)
            || server.IsIPv6Multicast || (server.AddressFamily == AddressFamily.InterNetwork && server.GetAddressBytes()[0] >= 224))
        {
            throw new ArgumentException("The PCP server must be a unicast IPv4 or IPv6 address.", nameof(server));
        }
        Server = server;
    }

    /// <summary>A client for the PCP server on this host's first IPv4 default gateway (the home router), or null when
    /// there is none.</summary>
    /// <returns>The client, or null.</returns>
    public static PcpClient? ForDefaultGateway()
    {
        var gateways = Ssdp.DefaultGateways();
        return gateways.Count == 0 ? null : new PcpClient(gateways[0]);
    }

    /// <summary>The server's address.</summary>
    public IPAddress Server { get; }

    /// <summary>The server's UDP port: <see cref="ServerPort"/>, another one in tests.</summary>
    internal int Port { get; init; } = ServerPort;

    /// <summary>How long one call waits for a valid answer, retransmissions included (default 10 s, at most one day).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not above zero, or above one day.</exception>
    public TimeSpan OperationTimeout
    {
        get => _operationTimeout;
        init
        {
            Check.Positive(value, MaxTimeout, nameof(OperationTimeout));
            _operationTimeout = value;
        }
    }

    /// <summary>The wait before the first retransmission (RFC 6887 §8.1.1's IRT: 3 s, the default); each later wait
    /// doubles, with ±10 % jitter. A probe that must decide fast takes less (Tailscale's: 250 ms).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not above zero, or above 1024 s.</exception>
    public TimeSpan InitialRetransmissionInterval
    {
        get => _initialRetransmission;
        init
        {
            Check.Positive(value, MaxRetransmissionInterval, nameof(InitialRetransmissionInterval));
            _initialRetransmission = value;
        }
    }

    /// <summary>The epoch of the last answer from this server, or null before the first.</summary>
    public uint? LastEpoch => _epoch.Last;

    /// <summary>Sends ANNOUNCE (RFC 6887 §14.1): tells whether the server speaks PCP, and its epoch.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The server's epoch, and whether it shows lost state.</returns>
    /// <exception cref="PcpException">The server answered with an error (<see cref="PcpResultCode.UnsuppVersion"/>: it
    /// speaks another version; the message says when it speaks NAT-PMP instead).</exception>
    /// <exception cref="TimeoutException">No valid answer within <see cref="OperationTimeout"/>.</exception>
    /// <exception cref="SocketException">The server cannot be reached at all (no route).</exception>
    public async Task<PcpAnnouncement> AnnounceAsync(CancellationToken cancellationToken = default)
    {
        var (response, local, lost) = await ExchangeAsync(PcpMessage.OpcodeAnnounce, PcpMessage.Announce,
            default, default, 0, 0, "ANNOUNCE", cancellationToken).ConfigureAwait(false);
        return new PcpAnnouncement(response.Epoch, lost, local);
    }

    /// <summary>Asks for a new mapping (MAP, RFC 6887 §11) with a new random nonce.</summary>
    /// <param name="request">The protocol, internal port, suggestions and lifetime.</param>
    /// <param name="cancellationToken">Stops waiting (the server may have created the mapping already: it expires).</param>
    /// <returns>The mapping the server granted.</returns>
    /// <exception cref="ArgumentException">A bad request, before any network I/O.</exception>
    /// <exception cref="PcpException">The server refused.</exception>
    /// <exception cref="TimeoutException">No valid answer within <see cref="OperationTimeout"/>.</exception>
    /// <exception cref="SocketException">The server cannot be reached at all (no route).</exception>
    public Task<PcpMapping> MapAsync(PcpMapRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        uint lifetime = CheckRequest(request);
        var nonce = RandomNumberGenerator.GetBytes(PcpMessage.NonceBytes);
        return SendMapAsync(request, nonce, lifetime, request.ExternalPort, request.ExternalAddress, cancellationToken);
    }

    /// <summary>Renews a mapping (RFC 6887 §11.2.1): the same nonce, protocol and internal port, the lifetime first asked
    /// for, the external port and address assigned as suggestions. A server that lost the mapping creates it again,
    /// perhaps on another port: use the returned mapping from then on.</summary>
    /// <param name="mapping">A mapping this or another <see cref="PcpClient"/> for the same server returned.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The renewed mapping (same nonce).</returns>
    /// <exception cref="PcpException">The server refused.</exception>
    /// <exception cref="TimeoutException">No valid answer within <see cref="OperationTimeout"/>.</exception>
    /// <exception cref="SocketException">The server cannot be reached at all (no route).</exception>
    public Task<PcpMapping> RenewAsync(PcpMapping mapping, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        uint lifetime = CheckRequest(mapping.Request);
        return SendMapAsync(mapping.Request, mapping.Nonce, lifetime, mapping.ExternalEndPoint.Port, mapping.ExternalEndPoint.Address,
            cancellationToken);
    }

    /// <summary>Deletes a mapping (RFC 6887 §15: MAP with lifetime 0 and the mapping's nonce; miniupnpd answers
    /// NOT_AUTHORIZED to a delete with another nonce).</summary>
    /// <param name="mapping">A mapping <see cref="MapAsync"/> or <see cref="RenewAsync"/> returned.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>True when the answer's epoch shows the server lost its state (the mapping was gone already).</returns>
    /// <exception cref="PcpException">The server refused (<see cref="PcpResultCode.NotAuthorized"/> from miniupnpd: the
    /// mapping's nonce is no longer this one, a MAP with another nonce took it over).</exception>
    /// <exception cref="TimeoutException">No valid answer within <see cref="OperationTimeout"/>.</exception>
    /// <exception cref="SocketException">The server cannot be reached at all (no route).</exception>
    public async Task<bool> DeleteAsync(PcpMapping mapping, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        var request = mapping.Request;
        var nonce = mapping.Nonce;
        var external = mapping.ExternalEndPoint;
        var (_, _, lost) = await ExchangeAsync(PcpMessage.OpcodeMap,
            client => PcpMessage.Map(client, 0, nonce, request.Protocol, request.InternalPort, external.Port, external.Address),
            nonce, request.Protocol, request.InternalPort, 0, "MAP delete", cancellationToken).ConfigureAwait(false);
        return lost;
    }

    /// <summary>A delete or renewal of <paramref name="mapping"/> carrying another nonce: what a client that lost the
    /// nonce would send (tests show the server refuses it).</summary>
    internal Task<PcpMapping> MapWithNonceAsync(PcpMapping mapping, byte[] nonce, uint lifetime, CancellationToken cancellationToken) =>
        SendMapAsync(mapping.Request, nonce, lifetime, mapping.ExternalEndPoint.Port, mapping.ExternalEndPoint.Address, cancellationToken);

    private async Task<PcpMapping> SendMapAsync(PcpMapRequest request, byte[] nonce, uint lifetime, int externalPort,
        IPAddress? externalAddress, CancellationToken cancellationToken)
    {
        var (response, local, lost) = await ExchangeAsync(PcpMessage.OpcodeMap,
            client => PcpMessage.Map(client, lifetime, nonce, request.Protocol, request.InternalPort, externalPort, externalAddress),
            nonce, request.Protocol, request.InternalPort, lifetime, lifetime == 0 ? "MAP delete" : "MAP", cancellationToken)
            .ConfigureAwait(false);
        return new PcpMapping(request, nonce, local, new IPEndPoint(response.ExternalAddress!, response.ExternalPort),
            Capped(response.Lifetime), response.Epoch, lost);
    }

    /// <summary>Checks a request (the parameter names are its properties'); returns the lifetime in whole seconds.</summary>
    private static uint CheckRequest(PcpMapRequest request)
    {
        Check.Protocol(request.Protocol, nameof(PcpMapRequest.Protocol));
        Check.Port(request.InternalPort, nameof(PcpMapRequest.InternalPort));
        if (request.ExternalPort is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(PcpMapRequest.ExternalPort), request.ExternalPort,
                "The external port must be 0 (no suggestion) to 65535.");
        }
        if (request.ExternalAddress is { AddressFamily: not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6) })
        {
            throw new ArgumentException("The suggested external address must be IPv4 or IPv6.", nameof(PcpMapRequest.ExternalAddress));
        }
        Check.Positive(request.Lifetime, MaxLifetime, nameof(PcpMapRequest.Lifetime));
        return (uint)Math.Ceiling(request.Lifetime.TotalSeconds);
    }

    private static TimeSpan Capped(uint seconds) => TimeSpan.FromSeconds(Math.Min(seconds, MaxLifetime.TotalSeconds));

    /// <summary>
    /// Sends the request built for our source address toward the server and retransmits it (RFC 6887 §8.1.1) until a
    /// valid answer comes from the server's address and port; ignores everything else. An error answer throws.
    /// </summary>
    private async Task<(PcpResponse Response, IPAddress Local, bool StateLost)> ExchangeAsync(byte opcode,
        Func<IPAddress, byte[]> build, byte[]? nonce, PortMappingProtocol protocol, int internalPort, uint lifetime,
        string what, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var server = new IPEndPoint(Server, Port);
        using var socket = new Socket(Server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        // Connecting a UDP socket sends nothing: it picks the route, hence our source address, and has the kernel drop
        // datagrams from other senders (checked again below, for systems that do not).
        socket.Connect(server);
        var local = ((IPEndPoint)socket.LocalEndPoint!).Address;
        if (local.IsIPv4MappedToIPv6)
        {
            local = local.MapToIPv4();
        }
        byte[] request = build(local);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_operationTimeout);
        var buffer = new byte[PcpMessage.MaxMessageBytes + 1];
        EndPoint anySender = new IPEndPoint(Server.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        var clock = Stopwatch.StartNew();
        var interval = Jitter(_initialRetransmission);
        int sent = 0, ignored = 0, refused = 0;
        PcpReplyProblem lastProblem = PcpReplyProblem.None;
        try
        {
            while (true)
            {
                try
                {
                    await socket.SendAsync(request, SocketFlags.None, deadline.Token).ConfigureAwait(false);
                    sent++;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused)
                {
                    // Linux reports an ICMP port unreachable that came after the last receive on the next send, which
                    // then sends nothing: wait out this interval, the next one sends again.
                    refused++;
                }
                var retransmitAt = clock.Elapsed + interval;
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
                        // ICMP port unreachable for an earlier datagram: no PCP server there (yet). RFC 6887 §8.1.1 keeps
                        // retransmitting; the timeout's message says it.
                        refused++;
                        continue;
                    }
                    catch (SocketException e) when (e.SocketErrorCode == SocketError.MessageSize)
                    {
                        ignored++;
                        lastProblem = PcpReplyProblem.TooLong;
                        continue;
                    }
                    var problem = received.RemoteEndPoint is IPEndPoint from && Same(from, server)
                        ? PcpMessage.TryParse(buffer.AsSpan(0, received.ReceivedBytes), opcode, nonce, protocol, internalPort, lifetime, out var response)
                        : Ignore(out response);
                    if (problem != PcpReplyProblem.None)
                    {
                        ignored++;
                        lastProblem = problem;
                        continue;
                    }
                    bool lost = _epoch.Observe(response.Epoch, s_processClock.Elapsed);
                    if (response.ResultCode != PcpResultCode.Success)
                    {
                        throw Error(response, what);
                    }
                    return (response, local, lost);
                }
                interval = Jitter(interval + interval);
                if (interval > MaxRetransmissionInterval)
                {
                    interval = Jitter(MaxRetransmissionInterval);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            string replies = ignored == 0 ? "no reply" :
                $"{ignored} {(ignored == 1 ? "reply" : "replies")} ignored (the last {PcpMessage.Describe(lastProblem)})";
            string icmp = refused == 0 ? string.Empty : $"; {refused} ICMP port unreachable (no PCP server on that port?)";
            throw new TimeoutException(
                $"PCP {what}: no valid answer from {server} within {_operationTimeout.TotalMilliseconds:0} ms ({sent} sent, {replies}{icmp}).");
        }
    }

    private static PcpReplyProblem Ignore(out PcpResponse response)
    {
        response = default;
        return PcpReplyProblem.WrongSender;
    }

    private static bool Same(IPEndPoint from, IPEndPoint server)
    {
        var address = from.Address.IsIPv4MappedToIPv6 ? from.Address.MapToIPv4() : from.Address;
        return from.Port == server.Port && address.Equals(server.Address);
    }

    private PcpException Error(PcpResponse response, string what)
    {
        string version = response.Version == PcpMessage.Version ? string.Empty
            : response.Version == 0 ? " The server answered as NAT-PMP (version 0): it speaks NAT-PMP, not PCP."
            : $" The server speaks PCP version {response.Version}.";
        return new PcpException(response.ResultCode,
            $"PCP {what} refused by {Server}: {PcpException.Describe(response.ResultCode)}{version}",
            Capped(response.Lifetime), response.Version);
    }

    /// <summary>RFC 6887 §8.1.1: RAND is uniform in -0.1 .. +0.1.</summary>
    private static TimeSpan Jitter(TimeSpan interval) => interval * (1 + (Random.Shared.NextDouble() * 0.2 - 0.1));
}
