using System;
using System.Runtime.InteropServices;
using MiniUpnp.Net.Interop;

namespace MiniUpnp.Net.Native;

/// <summary>
/// Owns a C <c>natpmp_t</c> (allocated here) and the UDP socket <c>initnatpmp</c> opens in it; releasing it closes the
/// socket (C <c>closenatpmp</c>) and frees the struct. In C the struct is the caller's (<c>natpmp_t n;
/// initnatpmp(&amp;n, 0, 0);</c>); here <c>new SafeNatpmpHandle()</c> takes its place, then
/// <see cref="Libnatpmp.initnatpmp"/>, and <c>using</c> or <see cref="SafeHandle.Dispose()"/> instead of the final
/// <c>closenatpmp</c>.
/// </summary>
public sealed unsafe class SafeNatpmpHandle : MiniupnpcSafeHandle
{
    /// <summary>Allocates a <c>natpmp_t</c> without a socket (<see cref="s"/> is -1) for <see cref="Libnatpmp.initnatpmp"/>.</summary>
    public SafeNatpmpHandle()
    {
        var p = (natpmp_tStruct*)NativeMemory.AllocZeroed((nuint)sizeof(natpmp_tStruct));
        p->s = -1; // zeroed, it would name descriptor 0 (stdin), which release would close
        SetHandle((IntPtr)p);
    }

    /// <summary>The UDP socket (C <c>natpmp_t.s</c>) to wait on, as natpmpc's <c>select</c> does; -1 when none is open.</summary>
    public int s => Read(static p => p->s);

    /// <summary>The gateway's IPv4 address in network byte order (C <c>natpmp_t.gateway</c>), as <c>initnatpmp</c> set it.</summary>
    public uint gateway => Read(static p => p->gateway);

    private delegate T Selector<T>(natpmp_tStruct* p);

    private T Read<T>(Selector<T> field)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        return Use(p => field((natpmp_tStruct*)p));
    }

    /// <summary>
    /// Closes the socket if one is open (C <c>closenatpmp</c>) and marks it closed, so that neither a second close nor
    /// the release closes a descriptor number that may by then belong to someone else. Returns closenatpmp's code, or
    /// <see cref="Libnatpmp.NATPMP_ERR_CLOSEERR"/> when no socket was open (what C's close of a closed descriptor gives).
    /// </summary>
    internal int CloseSocket() => Use(static h =>
    {
        var p = (natpmp_tStruct*)h;
        if (p->s < 0)
        {
            return Libnatpmp.NATPMP_ERR_CLOSEERR;
        }
        int r = NatpmpNativeMethods.closenatpmp(p);
        p->s = -1; // close() releases the descriptor even when it reports an error
        return r;
    });

    /// <inheritdoc/>
    protected override bool ReleaseHandle()
    {
        var p = (natpmp_tStruct*)handle;
        // initnatpmp opens its socket first and returns an error without closing it when a later step fails
        // (fcntl, the default gateway, connect: natpmp.c, initnatpmp, libnatpmp 20230423 and upstream HEAD), so the
        // socket is closed whenever one is open, whatever initnatpmp returned. No socket, no call: a handle that was
        // never initialised does not load libnatpmp.
        if (p->s >= 0)
        {
            NatpmpNativeMethods.closenatpmp(p);
        }
        NativeMemory.Free(p);
        return true;
    }
}
