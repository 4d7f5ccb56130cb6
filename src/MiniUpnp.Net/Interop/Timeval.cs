#if NETSTANDARD2_0
using System;
#endif
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
/// <para>netstandard2.0 has no <see cref="CLong"/> whose size follows the platform: there the struct is two pointer-sized
/// words (at least the C size everywhere; <c>retry_time</c> is natpmp_t's last field, so natpmp_t is never smaller than
/// C's), read as two <c>long</c>s of 32 bits where a C <c>long</c> is 32 bits and a pointer is not (64-bit Windows).</para>
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
internal struct timevalStruct
{
#if NETSTANDARD2_0
    private nint _first;
    private nint _second;

    /// <summary>Seconds (C <c>tv_sec</c>).</summary>
    public readonly CLong tv_sec => new(LongIs32BitsInAWord ? unchecked((int)(long)_first) : _first);

    /// <summary>Microseconds (C <c>tv_usec</c>).</summary>
    public readonly CLong tv_usec => new(LongIs32BitsInAWord ? unchecked((int)((long)_first >> 32)) : _second);

    private static bool LongIs32BitsInAWord => IntPtr.Size == 8 && RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
#else
    /// <summary>Seconds (C <c>tv_sec</c>).</summary>
    public CLong tv_sec;

    /// <summary>Microseconds (C <c>tv_usec</c>).</summary>
    public CLong tv_usec;
#endif
}
