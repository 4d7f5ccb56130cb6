using System;
using System.Runtime.InteropServices;
using System.Text;

namespace MiniUpnp.Net.Interop;

/// <summary>Decoding of the NUL-terminated strings miniupnpc writes (always as UTF-8: never the ANSI code page).</summary>
internal static unsafe class NativeString
{
    /// <summary>A NUL-terminated string; empty for NULL.</summary>
    internal static string Read(byte* text) => text == null ? string.Empty : Marshal.PtrToStringUTF8((IntPtr)text) ?? string.Empty;

    /// <summary>A string in a fixed-size C buffer: up to the first NUL, never past <paramref name="capacity"/>.</summary>
    internal static string Read(byte* buffer, int capacity) => Read(new ReadOnlySpan<byte>(buffer, capacity));

    /// <summary>A string in a C buffer: up to the first NUL or the end of the span.</summary>
    internal static string Read(ReadOnlySpan<byte> buffer)
    {
        int end = buffer.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? buffer : buffer[..end]);
    }
}
