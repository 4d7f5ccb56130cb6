using System;
#if !NETSTANDARD2_0
using System.Collections.Generic;
#endif
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

using MiniUpnp.Net.Native;

namespace MiniUpnp.Net;

/// <summary>
/// A NAT-PMP client (RFC 6886) for one gateway, through libnatpmp: the gateway's public address, and mappings of this
/// host's ports that it creates, renews and deletes.
/// </summary>
/// <remarks>
/// <para>
/// Each call opens libnatpmp's socket to the gateway (<c>initnatpmp</c> with the address named), sends its request and
/// waits as libnatpmp asks (it sends again after 250 ms, then doubling), on a thread of the library's own, until the
/// answer, <see cref="OperationTimeout"/> (then <see cref="TimeoutException"/>) or the token (then
/// <see cref="OperationCanceledException"/>). An error from the gateway or from libnatpmp throws
/// <see cref="NatpmpException"/> with libnatpmp's code and text; a gateway that refuses the port at once (ICMP port
/// unreachable) gives <c>NATPMP_ERR_NOGATEWAYSUPPORT</c>, "the gateway does not support nat-pmp". A datagram that
/// cannot be the answer (not version 0, not the response to this request's opcode, a mapping answer for another internal
/// port, shorter than 8 bytes) is ignored and the wait goes on; libnatpmp alone would take some of them as an error.
/// </para>
/// <para>
/// Every answer's epoch is checked (RFC 6886 §3.6, with RFC 6887 §8.5's stricter rule, which also catches an epoch
/// that jumps ahead): when it shows the gateway lost its mappings, the result says so
/// (<see cref="NatpmpMapping.ServerStateLost"/>, <see cref="NatpmpPublicAddress.ServerStateLost"/>). An instance holds
/// no socket between calls, needs no disposal, and may be used from several threads at once.
/// </para>
/// </remarks>
/// <example><code>
/// var natpmp = NatpmpClient.ForDefaultGateway() ?? throw new InvalidOperationException("no default gateway");
/// var address = await natpmp.GetPublicAddressAsync();
/// var mapping = await natpmp.MapAsync(new NatpmpMapRequest(PortMappingProtocol.Udp, 6881));
/// Console.WriteLine($"{address.Address}:{mapping.ExternalPort}");
/// await natpmp.DeleteAsync(mapping);
/// </code></example>
public sealed class NatpmpClient
{
    /// <summary>The NAT-PMP port (RFC 6886 §3), shared with PCP.</summary>
    public const int ServerPort = 5351;

    /// <summary>The longest lifetime asked for and reported: 24 hours (RFC 6886 §3.3 recommends 7200 s).</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromHours(24);

    // How often a waiting call looks at its token and deadline: it ends at most this long after either.
    private static readonly TimeSpan WakeInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(1);
    private static readonly Stopwatch s_processClock = Stopwatch.StartNew();

    private readonly PcpEpoch _epoch = new();
    private readonly TimeSpan _operationTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A client for the NAT-PMP gateway at <paramref name="gateway"/> (UDP port 5351).</summary>
    /// <param name="gateway">The gateway: the default one (see <see cref="ForDefaultGateway"/>) or another IPv4 address.</param>
    /// <exception cref="ArgumentException">Not a unicast IPv4 address (NAT-PMP is IPv4 only).</exception>
    public NatpmpClient(IPAddress gateway)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        if (gateway.IsIPv4MappedToIPv6)
        {
            gateway = gateway.MapToIPv4();
        }
        if (gateway.AddressFamily != AddressFamily.InterNetwork || gateway.Equals(IPAddress.Any)
            || gateway.Equals(IPAddress.Broadcast) || gateway.GetAddressBytes()[0] >= 224)
        {
            throw new ArgumentException("The NAT-PMP gateway must be a unicast IPv4 address.", nameof(gateway));
        }
        Gateway = gateway;
    }

    /// <summary>A client for this host's first IPv4 default gateway (the home router), or null when there is none.</summary>
    /// <returns>The client, or null.</returns>
    public static NatpmpClient? ForDefaultGateway()
    {
        var gateways = Ssdp.DefaultGateways();
        return gateways.Count == 0 ? null : new NatpmpClient(gateways[0]);
    }

    /// <summary>The gateway's address.</summary>
    public IPAddress Gateway { get; }

    /// <summary>How long one call waits for the answer, libnatpmp's retries included (default 10 s, at most one day).</summary>
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

    /// <summary>The epoch of the last answer from this gateway, or null before the first.</summary>
    public uint? LastEpoch => _epoch.Last;

    /// <summary>Asks for the gateway's public address (RFC 6886 §3.2): also tells whether it speaks NAT-PMP.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The address and the gateway's epoch.</returns>
    /// <exception cref="NatpmpException">libnatpmp's error (the gateway does not support NAT-PMP, refused, …).</exception>
    /// <exception cref="TimeoutException">No answer within <see cref="OperationTimeout"/>.</exception>
    public async Task<NatpmpPublicAddress> GetPublicAddressAsync(CancellationToken cancellationToken = default)
    {
        var (response, lost) = await ExchangeAsync("public address request", static h => Libnatpmp.sendpublicaddressrequest(h),
            PublicAddressOpcode, 0, cancellationToken).ConfigureAwait(false);
        return new NatpmpPublicAddress(response.publicaddress ?? IPAddress.Any, response.epoch, lost);
    }

    /// <summary>Asks for a mapping of this host's port (RFC 6886 §3.3).</summary>
    /// <param name="request">The protocol, internal port, suggested external port and lifetime.</param>
    /// <param name="cancellationToken">Stops waiting (the gateway may have created the mapping already: it expires).</param>
    /// <returns>The mapping the gateway granted.</returns>
    /// <exception cref="ArgumentException">A bad request, before any network I/O.</exception>
    /// <exception cref="NatpmpException">The gateway refused, or libnatpmp failed.</exception>
    /// <exception cref="TimeoutException">No answer within <see cref="OperationTimeout"/>.</exception>
    public Task<NatpmpMapping> MapAsync(NatpmpMapRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        uint lifetime = CheckRequest(request);
        return SendMapAsync(request, request.ExternalPort, lifetime, cancellationToken);
    }

    /// <summary>Renews a mapping (RFC 6886 §3.3.1): the same request, with the external port granted as the suggestion. A
    /// gateway that lost the mapping creates it again, perhaps on another port: use the returned mapping from then on.</summary>
    /// <param name="mapping">A mapping this or another client for the same gateway returned.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The renewed mapping.</returns>
    /// <exception cref="NatpmpException">The gateway refused, or libnatpmp failed.</exception>
    /// <exception cref="TimeoutException">No answer within <see cref="OperationTimeout"/>.</exception>
    public Task<NatpmpMapping> RenewAsync(NatpmpMapping mapping, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        uint lifetime = CheckRequest(mapping.Request);
        return SendMapAsync(mapping.Request, mapping.ExternalPort, lifetime, cancellationToken);
    }

    /// <summary>Deletes a mapping (RFC 6886 §3.4: the request with a lifetime of 0).</summary>
    /// <param name="mapping">A mapping <see cref="MapAsync"/> or <see cref="RenewAsync"/> returned.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>True when the answer's epoch shows the gateway lost its state (the mapping was gone already).</returns>
    /// <exception cref="NatpmpException">The gateway refused, or libnatpmp failed.</exception>
    /// <exception cref="TimeoutException">No answer within <see cref="OperationTimeout"/>.</exception>
    public async Task<bool> DeleteAsync(NatpmpMapping mapping, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        int protocol = NativeProtocol(mapping.Protocol);
        int internalPort = mapping.InternalPort, externalPort = mapping.ExternalPort;
        var (_, lost) = await ExchangeAsync("mapping delete",
            h => Libnatpmp.sendnewportmappingrequest(h, protocol, internalPort, externalPort, 0), (byte)protocol, internalPort,
            cancellationToken).ConfigureAwait(false);
        return lost;
    }

    private async Task<NatpmpMapping> SendMapAsync(NatpmpMapRequest request, int externalPort, uint lifetime,
        CancellationToken cancellationToken)
    {
        int protocol = NativeProtocol(request.Protocol);
        var (response, lost) = await ExchangeAsync("mapping request",
            h => Libnatpmp.sendnewportmappingrequest(h, protocol, request.InternalPort, externalPort, lifetime), (byte)protocol,
            request.InternalPort, cancellationToken).ConfigureAwait(false);
        if (response.privateport != request.InternalPort || response.lifetime == 0 || response.mappedpublicport == 0)
        {
            // RFC 6886 §3.3: a success must name our port, a lifetime and a public port; anything else maps nothing.
            throw new NatpmpException(Libnatpmp.NATPMP_ERR_UNSUPPORTEDOPCODE,
                $"NAT-PMP mapping request to {Gateway}: the answer maps nothing usable (internal port {response.privateport}, "
                + $"external port {response.mappedpublicport}, lifetime {response.lifetime} s).");
        }
        return new NatpmpMapping(request, response.mappedpublicport,
            TimeSpan.FromSeconds(Math.Min(response.lifetime, MaxLifetime.TotalSeconds)), response.epoch, lost);
    }

    private static uint CheckRequest(NatpmpMapRequest request)
    {
        Check.Protocol(request.Protocol, nameof(NatpmpMapRequest.Protocol));
        Check.Port(request.InternalPort, nameof(NatpmpMapRequest.InternalPort));
        if (request.ExternalPort is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(NatpmpMapRequest.ExternalPort), request.ExternalPort,
                "The external port must be 0 (no suggestion) to 65535.");
        }
        Check.Positive(request.Lifetime, MaxLifetime, nameof(NatpmpMapRequest.Lifetime));
        return (uint)Math.Ceiling(request.Lifetime.TotalSeconds);
    }

    private static int NativeProtocol(PortMappingProtocol protocol) =>
        protocol == PortMappingProtocol.Tcp ? Libnatpmp.NATPMP_PROTOCOL_TCP : Libnatpmp.NATPMP_PROTOCOL_UDP;

    /// <summary>One request and its answer, on a native-call thread: the C loop of natpmpc (send, then <c>select</c> on
    /// getnatpmprequesttimeout and readnatpmpresponseorretry while it answers TRYAGAIN), bounded by the timeout and the
    /// token.</summary>
    private async Task<(natpmpresp_t Response, bool StateLost)> ExchangeAsync(string what, Func<SafeNatpmpHandle, int> send,
        byte opcode, int internalPort, CancellationToken cancellationToken)
    {
        var gateway = Gateway;
        var timeout = _operationTimeout;
        uint address = BitConverter.ToUInt32(gateway.GetAddressBytes());
        // The thread's own loop ends at the deadline or on the token; the await's bound (a little later) is only the
        // backstop should the native calls themselves hang.
        var response = await NativeCall.RunAsync(() => Exchange(address, send, opcode, internalPort, timeout, what, gateway, cancellationToken),
            timeout + TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        bool lost = _epoch.Observe(response.epoch, s_processClock.Elapsed);
        return (response, lost);
    }

    private static natpmpresp_t Exchange(uint gatewayAddress, Func<SafeNatpmpHandle, int> send, byte opcode, int internalPort,
        TimeSpan timeout, string what, IPAddress gateway, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        using var natpmp = new SafeNatpmpHandle();
        int r = Libnatpmp.initnatpmp(natpmp, 1, gatewayAddress);
        if (r < 0)
        {
            throw Error(r, what, gateway);
        }
        r = send(natpmp);
        if (r < 0)
        {
            throw Error(r, what, gateway);
        }
#if NETSTANDARD2_0
        // No Socket over libnatpmp's descriptor there: sleep in short slices and let readnatpmpresponseorretry (non-blocking)
        // look, so an answer waits PollInterval at most; the not-the-answer filter needs the peek, so it is not applied.
        while (true)
        {
            _ = Libnatpmp.getnatpmprequesttimeout(natpmp, out var retryIn);
            var until = Stopwatch.GetElapsedTime(start) + (retryIn > TimeSpan.Zero ? retryIn : TimeSpan.Zero);
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var elapsed = Stopwatch.GetElapsedTime(start);
                if (elapsed >= timeout)
                {
                    throw new TimeoutException(
                        $"NAT-PMP {what}: no answer from {gateway}:{ServerPort} within {timeout.TotalMilliseconds:0} ms.");
                }
                r = Libnatpmp.readnatpmpresponseorretry(natpmp, out var response);
                if (r == 0)
                {
                    return response;
                }
                if (r != Libnatpmp.NATPMP_TRYAGAIN)
                {
                    throw Error(r, what, gateway);
                }
                var left = until - elapsed;
                if (left <= TimeSpan.Zero)
                {
                    break;
                }
                Thread.Sleep(Min(Min(left, PollInterval), timeout - elapsed));
            }
        }
#else
        // initnatpmp made the socket non-blocking: say so, or .NET refuses the synchronous peek below.
        using var socket = new Socket(new SafeSocketHandle((IntPtr)natpmp.s, ownsHandle: false)) { Blocking = false };
        var peek = new byte[PeekBytes];
        var readableList = new List<Socket>(1);
        var failedList = new List<Socket>(1);
        while (true)
        {
            _ = Libnatpmp.getnatpmprequesttimeout(natpmp, out var retryIn);
            var until = Stopwatch.GetElapsedTime(start) + (retryIn > TimeSpan.Zero ? retryIn : TimeSpan.Zero);
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var elapsed = Stopwatch.GetElapsedTime(start);
                if (elapsed >= timeout)
                {
                    throw new TimeoutException(
                        $"NAT-PMP {what}: no answer from {gateway}:{ServerPort} within {timeout.TotalMilliseconds:0} ms.");
                }
                var left = until - elapsed;
                if (left <= TimeSpan.Zero)
                {
                    break;
                }
                var slice = Min(Min(left, WakeInterval), timeout - elapsed);
                // Readable, or an error pending (an ICMP port unreachable: recvfrom then reports it, which libnatpmp turns
                // into NATPMP_ERR_NOGATEWAYSUPPORT at once rather than at its next retry).
                readableList.Clear();
                readableList.Add(socket);
                failedList.Clear();
                failedList.Add(socket);
                Socket.Select(readableList, null, failedList, Math.Max(1, (int)(slice.Ticks / TimeSpan.TicksPerMicrosecond)));
                if (readableList.Count > 0 || failedList.Count > 0)
                {
                    if (DroppedNotTheAnswer(socket, peek, opcode, internalPort))
                    {
                        continue;
                    }
                    break;
                }
            }
            // Also when the retry time has come with datagrams queued: libnatpmp reads the first of them.
            for (int dropped = 0; dropped < MaxDroppedPerRead && DroppedNotTheAnswer(socket, peek, opcode, internalPort); dropped++)
            {
            }
            r = Libnatpmp.readnatpmpresponseorretry(natpmp, out var response);
            if (r == 0)
            {
                return response;
            }
            if (r != Libnatpmp.NATPMP_TRYAGAIN)
            {
                throw Error(r, what, gateway);
            }
        }
#endif
    }
#if NETSTANDARD2_0

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);
#endif

    /// <summary>
    /// Reads and drops the queued datagram when it cannot be the answer to the pending request: another version, an
    /// opcode that is not the response to ours (a request echoed, another request's answer), or a mapping answer for
    /// another internal port. libnatpmp 20230423 checks the result code before the opcode, so it would take another
    /// request's error answer (or such a datagram) as this request's error (docs/reliability.md, "kept upstream").
    /// RFC 6886 §3.5 answers carry version 0 and the request's opcode + 128. Returns false (libnatpmp reads it) when
    /// nothing is queued (an ICMP error may be pending: a peek would consume it) or the datagram may be the answer.
    /// </summary>
    private static bool DroppedNotTheAnswer(Socket socket, byte[] peek, byte opcode, int internalPort)
    {
        int n;
        try
        {
            if (socket.Available <= 0)
            {
                return false;
            }
            n = socket.Receive(peek, SocketFlags.Peek);
        }
        catch (SocketException)
        {
            return false;
        }
        // Shorter than 8 bytes: libnatpmp ignores it itself (our patch ours-readnatpmpresponse-length).
        bool ours = n < 8 || (peek[0] == 0 && peek[1] == (byte)(ResponseBit | opcode)
            && (opcode == PublicAddressOpcode || n < 10 || ((peek[8] << 8) | peek[9]) == internalPort));
        if (ours)
        {
            return false;
        }
        try
        {
            _ = socket.Receive(peek);
        }
        catch (SocketException)
        {
            // Gone or refused meanwhile: libnatpmp's next read reports what is left.
        }
        return true;
    }

    private const byte PublicAddressOpcode = 0;
    private const byte ResponseBit = 0x80;
    private const int PeekBytes = 16;
    private const int MaxDroppedPerRead = 64;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static NatpmpException Error(int code, string what, IPAddress gateway) =>
        new(code, $"NAT-PMP {what} to {gateway}: {Libnatpmp.strnatpmperr(code)} (libnatpmp {code}).");
}
