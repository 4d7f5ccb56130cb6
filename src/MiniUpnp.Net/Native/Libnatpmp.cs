using System;
using System.Net;
using MiniUpnp.Net.Interop;

namespace MiniUpnp.Net.Native;

/// <summary>
/// The seven functions of libnatpmp's natpmp.h under their C names, so that C code ports line by line
/// (<c>using static MiniUpnp.Net.Native.Libnatpmp;</c>). Return codes come back unchanged (<c>NATPMP_TRYAGAIN</c>,
/// <c>NATPMP_ERR_*</c>) and a gateway's refusal never throws; the <c>natpmp_t</c> is a <see cref="SafeNatpmpHandle"/>,
/// the <c>natpmpresp_t</c> a <see cref="natpmpresp_t"/>, the <c>struct timeval</c> a <see cref="TimeSpan"/>. Only
/// programming errors throw, before anything is sent: <see cref="ArgumentNullException"/> for a null handle,
/// <see cref="ObjectDisposedException"/> for a disposed one, <see cref="ArgumentOutOfRangeException"/> for a value C
/// cannot take. The constants are natpmp.h's own <c>#define</c>s.
/// </summary>
public static partial class Libnatpmp
{
    /// <summary>Opens the UDP socket to the gateway's NAT-PMP port (C <c>initnatpmp</c>).</summary>
    /// <param name="p">A new handle, or one to initialise again: its previous socket is closed first (C would lose it).</param>
    /// <param name="forcegw">0: find the default gateway; 1: use <paramref name="forcedgw"/>.</param>
    /// <param name="forcedgw">The gateway's IPv4 address in network byte order (C <c>in_addr_t</c>, what <c>inet_addr</c>
    /// returns): <c>BitConverter.ToUInt32(address.GetAddressBytes())</c>.</param>
    /// <returns>0, or <see cref="NATPMP_ERR_SOCKETERROR"/>, <see cref="NATPMP_ERR_FCNTLERROR"/>,
    /// <see cref="NATPMP_ERR_CANNOTGETGATEWAY"/>, <see cref="NATPMP_ERR_CONNECTERR"/>. On an error the socket may be open
    /// (upstream does not close it): disposing the handle closes it.</returns>
    public static int initnatpmp(SafeNatpmpHandle p, int forcegw, uint forcedgw)
    {
        ThrowIfUnusable(p);
        p.CloseSocket();
        return NatpmpNativeMethods.initnatpmp(p, forcegw, forcedgw);
    }

    /// <summary>Closes the socket (C <c>closenatpmp</c>). The handle stays allocated (and can be initialised again)
    /// until it is disposed; disposing alone also closes the socket.</summary>
    /// <param name="p">The handle.</param>
    /// <returns>0, or <see cref="NATPMP_ERR_CLOSEERR"/> (also when no socket is open: a second close).</returns>
    public static int closenatpmp(SafeNatpmpHandle p)
    {
        ThrowIfUnusable(p);
        return p.CloseSocket();
    }

    /// <summary>Sends a public address request (C <c>sendpublicaddressrequest</c>).</summary>
    /// <param name="p">An initialised handle.</param>
    /// <returns>2 (the request's size), or <see cref="NATPMP_ERR_SENDERR"/>.</returns>
    public static int sendpublicaddressrequest(SafeNatpmpHandle p)
    {
        ThrowIfUnusable(p);
        return NatpmpNativeMethods.sendpublicaddressrequest(p);
    }

    /// <summary>Sends a port mapping request (C <c>sendnewportmappingrequest</c>): a lifetime of 0 removes the mapping,
    /// and with both ports 0 every mapping of this host.</summary>
    /// <param name="p">An initialised handle.</param>
    /// <param name="protocol"><see cref="NATPMP_PROTOCOL_UDP"/> or <see cref="NATPMP_PROTOCOL_TCP"/> (C returns
    /// <see cref="NATPMP_ERR_INVALIDARGS"/> for another value; here it throws, like every value C cannot take).</param>
    /// <param name="privateport">The local port, 0 to 65535 (C <c>uint16_t</c>).</param>
    /// <param name="publicport">The suggested public port, 0 to 65535 (C <c>uint16_t</c>).</param>
    /// <param name="lifetime">Seconds, 0 to 4294967295 (C <c>uint32_t</c>).</param>
    /// <returns>12 (the request's size), or <see cref="NATPMP_ERR_SENDERR"/>.</returns>
    public static int sendnewportmappingrequest(SafeNatpmpHandle p, int protocol, int privateport, int publicport, long lifetime)
    {
        ThrowIfUnusable(p);
        if (protocol is not (NATPMP_PROTOCOL_UDP or NATPMP_PROTOCOL_TCP))
        {
            throw new ArgumentOutOfRangeException(nameof(protocol), protocol,
                $"NATPMP_PROTOCOL_UDP ({NATPMP_PROTOCOL_UDP}) or NATPMP_PROTOCOL_TCP ({NATPMP_PROTOCOL_TCP}).");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(privateport);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(privateport, ushort.MaxValue);
        ArgumentOutOfRangeException.ThrowIfNegative(publicport);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(publicport, ushort.MaxValue);
        ArgumentOutOfRangeException.ThrowIfNegative(lifetime);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lifetime, uint.MaxValue);
        return NatpmpNativeMethods.sendnewportmappingrequest(p, protocol, (ushort)privateport, (ushort)publicport, (uint)lifetime);
    }

    /// <summary>How long until the pending request's next retry (C <c>getnatpmprequesttimeout</c>): what C passes to
    /// <c>select</c>, here a <see cref="TimeSpan"/> (exact: <c>struct timeval</c> counts microseconds), for
    /// <c>Socket.Poll</c>, a wait handle or <c>Task.Delay</c>.</summary>
    /// <param name="p">An initialised handle with a request pending.</param>
    /// <param name="timeout">The time left; zero on an error. Negative once the retry time has passed (C's value,
    /// unchanged).</param>
    /// <returns>0, or <see cref="NATPMP_ERR_NOPENDINGREQ"/>, <see cref="NATPMP_ERR_GETTIMEOFDAYERR"/>.</returns>
    public static unsafe int getnatpmprequesttimeout(SafeNatpmpHandle p, out TimeSpan timeout)
    {
        ThrowIfUnusable(p);
        timevalStruct tv = default; // zeroed: see Timeval.cs (macOS writes a 32-bit tv_usec)
        int r = NatpmpNativeMethods.getnatpmprequesttimeout(p, &tv);
        timeout = r == 0
            ? TimeSpan.FromTicks(checked((tv.tv_sec.Value * 1_000_000L + tv.tv_usec.Value) * TimeSpan.TicksPerMicrosecond))
            : TimeSpan.Zero;
        return r;
    }

    /// <summary>Reads the gateway's answer, or sends the request again when its retry time has come (C
    /// <c>readnatpmpresponseorretry</c>); call it when the socket is readable or the timeout has passed.</summary>
    /// <param name="p">An initialised handle with a request pending.</param>
    /// <param name="response">The answer as far as C filled it (all zero when nothing was read): complete on 0; only the
    /// result code and epoch on a gateway's refusal (<see cref="NATPMP_ERR_NOTAUTHORIZED"/>, …: libnatpmp sets the type
    /// of successes only, so it reads 0 then).</param>
    /// <returns>0, <see cref="NATPMP_TRYAGAIN"/> (nothing yet), or an <c>NATPMP_ERR_*</c> code
    /// (<see cref="NATPMP_ERR_NOGATEWAYSUPPORT"/> after the last retry).</returns>
    public static unsafe int readnatpmpresponseorretry(SafeNatpmpHandle p, out natpmpresp_t response)
    {
        ThrowIfUnusable(p);
        natpmpresp_tStruct native = default;
        int r = NatpmpNativeMethods.readnatpmpresponseorretry(p, &native);
        response = new natpmpresp_t(native);
        return r;
    }

    /// <summary>The text of a libnatpmp code (C <c>strnatpmperr</c>), "Unknown libnatpmp error" for an unknown one.</summary>
    /// <param name="t">A code returned by one of these functions.</param>
    /// <returns>libnatpmp's own English text.</returns>
    public static unsafe string strnatpmperr(int t) => NativeString.Read(NatpmpNativeMethods.strnatpmperr(t));

    private static void ThrowIfUnusable(SafeNatpmpHandle p)
    {
        ArgumentNullException.ThrowIfNull(p);
        ObjectDisposedException.ThrowIf(p.IsClosed, p);
    }
}

/// <summary>
/// A NAT-PMP answer (C <c>natpmpresp_t</c>), filled by <see cref="Libnatpmp.readnatpmpresponseorretry"/>. C keeps the
/// public address and the mapping in one union (<c>pnu</c>); here each is read only for the answer that carries it,
/// and the other is empty.
/// </summary>
public sealed class natpmpresp_t
{
    internal natpmpresp_t(in natpmpresp_tStruct native)
    {
        type = native.type;
        resultcode = native.resultcode;
        epoch = native.epoch;
        if (type == Libnatpmp.NATPMP_RESPTYPE_PUBLICADDRESS)
        {
            publicaddress = new IPAddress(native.pnu_publicaddress_addr); // network byte order, as IPAddress(long) takes it
        }
        else
        {
            privateport = native.pnu_newportmapping_privateport;
            mappedpublicport = native.pnu_newportmapping_mappedpublicport;
            lifetime = native.pnu_newportmapping_lifetime;
        }
    }

    /// <summary><see cref="Libnatpmp.NATPMP_RESPTYPE_PUBLICADDRESS"/>, <see cref="Libnatpmp.NATPMP_RESPTYPE_UDPPORTMAPPING"/>
    /// or <see cref="Libnatpmp.NATPMP_RESPTYPE_TCPPORTMAPPING"/> (C <c>type</c>).</summary>
    public ushort type { get; }

    /// <summary>The gateway's result code, 0 for success (C <c>resultcode</c>).</summary>
    public ushort resultcode { get; }

    /// <summary>Seconds since the gateway's mapping table was (re)started (C <c>epoch</c>).</summary>
    public uint epoch { get; }

    /// <summary>The gateway's public address (C <c>pnu.publicaddress.addr</c>); null unless <see cref="type"/> is
    /// <see cref="Libnatpmp.NATPMP_RESPTYPE_PUBLICADDRESS"/>.</summary>
    public IPAddress? publicaddress { get; }

    /// <summary>The mapping's local port (C <c>pnu.newportmapping.privateport</c>); 0 for a public address answer.</summary>
    public ushort privateport { get; }

    /// <summary>The public port the gateway mapped (C <c>pnu.newportmapping.mappedpublicport</c>); 0 for a public address answer.</summary>
    public ushort mappedpublicport { get; }

    /// <summary>The lifetime granted, in seconds (C <c>pnu.newportmapping.lifetime</c>); 0 for a public address answer.</summary>
    public uint lifetime { get; }
}
