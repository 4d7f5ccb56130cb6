using System.Runtime.InteropServices;

namespace MiniUpnp.Net.Interop;

/// <summary>
/// The C <c>struct timeval</c> of <c>getnatpmprequesttimeout</c> and <c>natpmp_t.retry_time</c>. Hand-written, not
/// generated: its layout is the C library's, not libnatpmp's, and differs between the platforms the binding ships for.
/// </summary>
/// <remarks>
/// <para>Two C <c>long</c>s, which is what <see cref="CLong"/> is on every platform: Windows (winsock2.h:
/// <c>long tv_sec, tv_usec</c>, 32 bits each on win-x64 and win-x86: 8 bytes); 64-bit Linux, glibc and musl
/// (<c>time_t</c> and <c>suseconds_t</c> are <c>long</c>: 16 bytes). macOS declares <c>tv_usec</c> as a 32-bit
/// <c>int</c> followed by 4 bytes of padding: the same size and offsets, and the callee writes only the low half of a
/// zeroed, little-endian <c>tv_usec</c>, so a struct that starts as <c>default</c> reads back right. Not covered: a
/// 32-bit Linux with a 64-bit <c>time_t</c> (no runtime package for one). layout_probe.c checks it on the test host.</para>
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
internal struct timevalStruct
{
    /// <summary>Seconds (C <c>tv_sec</c>).</summary>
    public CLong tv_sec;

    /// <summary>Microseconds (C <c>tv_usec</c>).</summary>
    public CLong tv_usec;
}
