using System;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Threading;

using MiniUpnp.Net.Native;

namespace MiniUpnp.Net.Python;

/// <summary>
/// A member-by-member port of the Python module's <c>libnatpmp.NATPMP</c> class (libnatpmp 20230423,
/// <c>libnatpmpmodule.c</c>): same members, defaults, results and error texts, so Python code ports line by line.
/// Python's <c>Exception(strnatpmperr(r))</c> becomes <see cref="NatpmpException"/> with the same text and the code
/// (<see cref="NatpmpException.Code"/>).
/// </summary>
/// <remarks>
/// As in Python, the constructor opens the socket to the default gateway (<c>initnatpmp(&amp;n, 0, 0)</c>) and ignores
/// its result: with no default gateway, the first call fails with "send() failed". Each call sends its request, then
/// waits as the module does (<c>select</c> on <c>getnatpmprequesttimeout</c>, then <c>readnatpmpresponseorretry</c>,
/// while it answers <c>NATPMP_TRYAGAIN</c>): libnatpmp sends again after 250 ms, then doubling, 9 tries in all, and
/// gives up with "the gateway does not support nat-pmp" 127.75 s after the first (sooner when the gateway refuses with
/// an ICMP port unreachable).
/// <para>
/// Differences, all on the safe side: the object is <see cref="IDisposable"/> (Python closes the socket when the object
/// is collected) and throws <see cref="ObjectDisposedException"/> after <see cref="Dispose"/>, also from a call that is
/// waiting when another thread disposes it; it may be used from several threads at once, and calls run one at a time
/// (Python's module holds the GIL through a call, so its calls never overlap: they share one socket and one pending
/// request); every call ends within <see cref="CallTimeout"/> (the one member Python does not have); and the datagrams
/// already queued on the socket when a call starts are dropped before its request is sent (Python reads a late answer
/// to an earlier request, or an error sent after it, as the new call's answer).
/// </para>
/// <para>
/// Arguments are taken as Python takes them: ports and lifetime are converted "without overflow checking"
/// (<c>PyArg_ParseTuple</c> formats <c>H</c> and <c>I</c>), so a port of 65536 + 80 is port 80 and -1 is 65535, and a
/// protocol is recognised by its first three letters, ignoring ASCII case (<c>strncasecmp(…, 3)</c>: "TCPX" is TCP,
/// "tc" is an "Unknown protocol" <see cref="NatpmpException"/>). Only what Python refuses before any I/O throws
/// <see cref="ArgumentException"/>: a null protocol (Python: TypeError), one containing NUL (ValueError) or a lone
/// surrogate (UnicodeEncodeError). Callers that need validated values use the async layer.
/// </para>
/// </remarks>
public sealed class NATPMP : IDisposable
{
    // The longest single wait between two looks at the disposed flag: a Dispose from another thread ends a waiting
    // call within it. Not a retry: readnatpmpresponseorretry is still called only when the socket is readable or
    // libnatpmp's own timeout has passed, as the module does.
    private static readonly TimeSpan DisposeCheckInterval = TimeSpan.FromMilliseconds(100);

    private static readonly Encoding StrictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // Serialises calls, as the GIL does in Python: one socket, one pending request. Dispose never takes it.
    private readonly object _callGate = new();
    private readonly SafeNatpmpHandle _natpmp;
    private volatile bool _disposed;
    private uint _discoverDelay;
    private long _callTimeoutTicks = DefaultCallTimeout.Ticks;

    /// <summary>
    /// The default of <see cref="CallTimeout"/>: 130 s, a little more than libnatpmp's own 127.75 s of retries (250 ms,
    /// then doubling, 9 tries), so that with any gateway, or none, libnatpmp gives up first and the call ends with
    /// Python's result.
    /// </summary>
    public static readonly TimeSpan DefaultCallTimeout = TimeSpan.FromSeconds(130);

    /// <summary>Python: <c>NATPMP()</c>. Opens the UDP socket to the default gateway's NAT-PMP port (C
    /// <c>initnatpmp(&amp;n, 0, 0)</c>); a failure is not reported here (Python ignores it): the calls report it.</summary>
    public NATPMP() : this(0, 0)
    {
    }

    /// <summary>For tests: a gateway named, not found (C <c>initnatpmp(&amp;n, 1, forcedgw)</c>), e.g. a responder on a
    /// loopback address.</summary>
    internal NATPMP(int forcegw, uint forcedgw)
    {
        _natpmp = new SafeNatpmpHandle();
        try
        {
            // libnatpmpmodule.c, NATPMPObject_new: the result is not checked.
            _ = Libnatpmp.initnatpmp(_natpmp, forcegw, forcedgw);
        }
        catch
        {
            _natpmp.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Python <c>discoverdelay</c>: "value in ms used to wait for NATPMP responses" (read-write, 0 by default). As in
    /// Python's module, nothing reads it: the waits are libnatpmp's own (250 ms, doubling).
    /// </summary>
    public uint DiscoverDelay
    {
        get => Volatile.Read(ref _discoverDelay);
        set => Volatile.Write(ref _discoverDelay, value);
    }

    /// <summary>
    /// The longest any member waits for the gateway (not in Python's module): <see cref="DefaultCallTimeout"/> (130 s)
    /// by default, so that libnatpmp's own retries end first. A member that reaches it throws
    /// <see cref="TimeoutException"/>; the request is abandoned, and the next call sends its own.
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits as long as libnatpmp does, as Python does.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Zero or negative, other than <see cref="Timeout.InfiniteTimeSpan"/>.</exception>
    public TimeSpan CallTimeout
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _callTimeoutTicks));
        set
        {
            if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "A call timeout must be positive, or Timeout.InfiniteTimeSpan.");
            }
            Volatile.Write(ref _callTimeoutTicks, value.Ticks);
        }
    }

    /// <summary>Python <c>externalipaddress()</c>: "return external IP address".</summary>
    /// <returns>The gateway's public IPv4 address in dotted form (C <c>inet_ntoa</c>).</returns>
    /// <exception cref="NatpmpException">libnatpmp's error, with its text ("send() failed", "the gateway does not support
    /// nat-pmp", …) and code.</exception>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    /// <exception cref="ObjectDisposedException">The object was disposed, before or during the call.</exception>
    public string ExternalIpAddress()
    {
        lock (_callGate)
        {
            ThrowIfDisposed();
            var response = Exchange(nameof(ExternalIpAddress), static p => Libnatpmp.sendpublicaddressrequest(p));
            return response.publicaddress?.ToString() ?? "0.0.0.0";
        }
    }

    /// <summary>Python <c>addportmapping(eport, proto, iport, lifetime)</c>: "add a port mapping".</summary>
    /// <param name="eport">The suggested public port, taken modulo 65536 as Python does.</param>
    /// <param name="proto">"TCP" or "UDP": the first three letters count, in any ASCII case.</param>
    /// <param name="iport">The local port, taken modulo 65536 as Python does.</param>
    /// <param name="lifetime">Seconds, taken modulo 2^32 as Python does; 0 removes the mapping.</param>
    /// <returns>The public port the gateway mapped (which may differ from <paramref name="eport"/>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="proto"/> is null (Python: TypeError).</exception>
    /// <exception cref="ArgumentException"><paramref name="proto"/> contains NUL or a lone surrogate (Python:
    /// ValueError, UnicodeEncodeError).</exception>
    /// <exception cref="NatpmpException">"Unknown protocol", or libnatpmp's error with its text and code ("not
    /// authorized", …).</exception>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    /// <exception cref="ObjectDisposedException">The object was disposed, before or during the call.</exception>
    public int AddPortMapping(int eport, string proto, int iport, long lifetime) =>
        DoMapping(nameof(AddPortMapping), eport, iport, proto, unchecked((uint)lifetime));

    /// <summary>Python <c>deleteportmapping(eport, proto, iport)</c>: "delete a port mapping" (a mapping request with a
    /// lifetime of 0).</summary>
    /// <param name="eport">The public port, taken modulo 65536 as Python does.</param>
    /// <param name="proto">"TCP" or "UDP": the first three letters count, in any ASCII case.</param>
    /// <param name="iport">The local port of the mapping, taken modulo 65536 as Python does.</param>
    /// <returns>The public port in the gateway's answer (0 from miniupnpd).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="proto"/> is null (Python: TypeError).</exception>
    /// <exception cref="ArgumentException"><paramref name="proto"/> contains NUL or a lone surrogate (Python:
    /// ValueError, UnicodeEncodeError).</exception>
    /// <exception cref="NatpmpException">"Unknown protocol", or libnatpmp's error with its text and code.</exception>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    /// <exception cref="ObjectDisposedException">The object was disposed, before or during the call.</exception>
    public int DeletePortMapping(int eport, string proto, int iport) =>
        DoMapping(nameof(DeletePortMapping), eport, iport, proto, 0);

    /// <summary>
    /// Closes the socket, without waiting for a call already running: it ends with <see cref="ObjectDisposedException"/>
    /// within a fraction of a second (the socket stays open until it has let go of it); later calls throw
    /// <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void Dispose()
    {
        _disposed = true;
        _natpmp.Dispose();
    }

    /// <summary>
    /// The module's protocol test (libnatpmpmodule.c, NATPMP_domapping): <c>strncasecmp("tcp", protocol, 3)</c>, then
    /// "udp"; 0 when neither. Case is folded for ASCII letters only (what strncasecmp does with UTF-8 bytes).
    /// </summary>
    internal static int MatchProtocol(string protocol)
    {
        static bool StartsWith3(string s, string lower)
        {
            for (int i = 0; i < 3; i++)
            {
                char c = i < s.Length ? s[i] : '\0'; // the C string ends here
                if (c is >= 'A' and <= 'Z')
                {
                    c = (char)(c + ('a' - 'A'));
                }
                if (c != lower[i])
                {
                    return false;
                }
            }
            return true;
        }
        return StartsWith3(protocol, "tcp") ? Libnatpmp.NATPMP_PROTOCOL_TCP
            : StartsWith3(protocol, "udp") ? Libnatpmp.NATPMP_PROTOCOL_UDP
            : 0;
    }

    /// <summary>NATPMP_domapping: the argument checks Python makes, the protocol test, then the exchange.</summary>
    private int DoMapping(string member, int eport, int iport, string proto, uint lifetime)
    {
        // PyArg_ParseTuple's "s": not None, no NUL, encodable as UTF-8.
        ArgumentNullException.ThrowIfNull(proto);
        if (proto.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("embedded null character", nameof(proto));
        }
        try
        {
            _ = StrictUtf8.GetByteCount(proto);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException("The protocol is not valid UTF-16 (a lone surrogate); Python refuses it too.", nameof(proto), e);
        }
        // "H" and "I": no overflow checking, the value is masked.
        int publicPort = unchecked((ushort)eport), privatePort = unchecked((ushort)iport);
        lock (_callGate)
        {
            ThrowIfDisposed();
            int protocol = MatchProtocol(proto);
            if (protocol == 0)
            {
                throw new NatpmpException(Libnatpmp.NATPMP_ERR_INVALIDARGS, "Unknown protocol");
            }
            var response = Exchange(member, p => Libnatpmp.sendnewportmappingrequest(p, protocol, privatePort, publicPort, lifetime));
            return response.mappedpublicport;
        }
    }

    /// <summary>
    /// The module's loop: send; then, while readnatpmpresponseorretry answers NATPMP_TRYAGAIN, wait until the socket is
    /// readable or getnatpmprequesttimeout's time has passed (C: <c>select</c>) and read again. Called under the gate.
    /// </summary>
    private natpmpresp_t Exchange(string member, Func<SafeNatpmpHandle, int> send)
    {
        long start = Stopwatch.GetTimestamp();
        var bound = CallTimeout;
        bool added = false;
        try
        {
            // Keeps the socket open while we wait on it, even if Dispose runs meanwhile (the release is deferred).
            _natpmp.DangerousAddRef(ref added);
#if NETSTANDARD2_0
            object? socket = null; // no Socket over a native descriptor there: WaitReadable polls
#else
            using var socket = _natpmp.s >= 0 ? new Socket(new SafeSocketHandle((IntPtr)_natpmp.s, ownsHandle: false)) : null;
            DropQueuedDatagrams(socket);
#endif
            int r = send(_natpmp);
            if (r < 0)
            {
                throw new NatpmpException(r);
            }
            natpmpresp_t response;
            do
            {
                // C ignores getnatpmprequesttimeout's result; with a request pending it cannot fail.
                _ = Libnatpmp.getnatpmprequesttimeout(_natpmp, out var timeout);
                WaitReadable(socket!, timeout, start, bound, member);
                r = Libnatpmp.readnatpmpresponseorretry(_natpmp, out response);
                if (r < 0 && r != Libnatpmp.NATPMP_TRYAGAIN)
                {
                    throw new NatpmpException(r);
                }
            }
            while (r == Libnatpmp.NATPMP_TRYAGAIN);
            return response;
        }
        catch (ObjectDisposedException) when (_disposed)
        {
            throw new ObjectDisposedException(GetType().FullName);
        }
        finally
        {
            if (added)
            {
                _natpmp.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Drops the datagrams queued on the object's socket before a request is sent: none of them can be its answer (a
    /// late answer to a request that timed out, a retry's second answer, an error sent after a success). Python's module
    /// reads them as the next call's answer: libnatpmp 20230423 takes any error answer, whatever its opcode, and a
    /// mapping answer of the same type and internal port. Not in Python; only those misreadings differ. At most
    /// <see cref="MaxStaleDatagrams"/>; a pending ICMP error is left to libnatpmp (a peek would consume it).
    /// </summary>
    private static void DropQueuedDatagrams(Socket? socket)
    {
        if (socket is null)
        {
            return;
        }
        // initnatpmp made the socket non-blocking: say so, or .NET refuses a synchronous receive on it.
        socket.Blocking = false;
        var buffer = new byte[16];
        for (int i = 0; i < MaxStaleDatagrams; i++)
        {
            try
            {
                if (socket.Available <= 0)
                {
                    return;
                }
                _ = socket.Receive(buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.MessageSize)
            {
                // A datagram longer than the buffer: dropped all the same.
            }
            catch (SocketException)
            {
                return; // the socket is not usable: send reports it, as in Python
            }
        }
    }

    private const int MaxStaleDatagrams = 64;

    /// <summary>C <c>select</c> on the socket for <paramref name="timeout"/> (a negative timeout, which makes select fail
    /// at once, returns at once), no later than the call's bound, and looking at the disposed flag meanwhile.</summary>
    /// <remarks>netstandard2.0 cannot wrap libnatpmp's descriptor in a Socket: instead of select, it sleeps 5 ms at most
    /// and returns, and readnatpmpresponseorretry (non-blocking) looks again.</remarks>
#if NETSTANDARD2_0
    private void WaitReadable(object? socket, TimeSpan timeout, long start, TimeSpan bound, string member)
#else
    private void WaitReadable(Socket socket, TimeSpan timeout, long start, TimeSpan bound, string member)
#endif
    {
        long until = Stopwatch.GetTimestamp() + (long)(Math.Max(timeout.TotalSeconds, 0) * Stopwatch.Frequency);
        while (true)
        {
            ThrowIfDisposed();
            var elapsed = Stopwatch.GetElapsedTime(start);
            if (bound != Timeout.InfiniteTimeSpan && elapsed >= bound)
            {
                throw new TimeoutException($"NATPMP.{member} did not end within {bound.TotalSeconds:0.###} s (NATPMP.CallTimeout): "
                    + "the gateway has not answered.");
            }
            var left = TimeSpan.FromSeconds((double)(until - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
            if (left <= TimeSpan.Zero)
            {
                return;
            }
            var slice = left < DisposeCheckInterval ? left : DisposeCheckInterval;
            if (bound != Timeout.InfiniteTimeSpan && bound - elapsed < slice)
            {
                slice = bound - elapsed;
            }
#if NETSTANDARD2_0
            _ = socket;
            Thread.Sleep(slice < PollInterval ? slice : PollInterval);
            return;
#else
            try
            {
                if (socket.Poll(Math.Max(1, (int)(slice.Ticks / TimeSpan.TicksPerMicrosecond)), SelectMode.SelectRead))
                {
                    return;
                }
            }
            catch (SocketException)
            {
                return; // C ignores select's result and reads: so do we
            }
#endif
        }
    }
#if NETSTANDARD2_0

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);
#endif

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
