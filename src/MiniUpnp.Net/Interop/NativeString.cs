using System;
#if !NETSTANDARD2_0
using System.Runtime.InteropServices;
#endif
using System.Text;

namespace MiniUpnp.Net.Interop;

/// <summary>Decoding of the NUL-terminated strings miniupnpc writes (always as UTF-8: never the ANSI code page).</summary>
internal static unsafe class NativeString
{
    /// <summary>A NUL-terminated string; empty for NULL.</summary>
#if NETSTANDARD2_0
    internal static string Read(byte* text)
    {
        if (text == null)
        {
            return string.Empty;
        }
        int length = 0;
        while (text[length] != 0)
        {
            length++;
        }
        return Encoding.UTF8.GetString(text, length);
    }

    /// <summary>
    /// <paramref name="text"/> as NUL-terminated UTF-8 for a C <c>const char *</c>, or null for null: the marshalling
    /// that LibraryImport's StringMarshalling.Utf8 does on net8.0, written out for netstandard2.0's DllImports.
    /// </summary>
    internal static byte[]? ToNullTerminatedUtf8(string? text)
    {
        if (text is null)
        {
            return null;
        }
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, 0, text.Length, bytes, 0);
        return bytes;
    }
#else
    internal static string Read(byte* text) => text == null ? string.Empty : Marshal.PtrToStringUTF8((IntPtr)text) ?? string.Empty;
#endif

    /// <summary>A string in a fixed-size C buffer: up to the first NUL, never past <paramref name="capacity"/>.</summary>
    internal static string Read(byte* buffer, int capacity) => Read(new ReadOnlySpan<byte>(buffer, capacity));

    /// <summary>A string in a C buffer: up to the first NUL or the end of the span.</summary>
    internal static string Read(ReadOnlySpan<byte> buffer)
    {
        int end = buffer.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? buffer : buffer[..end]);
    }
}
