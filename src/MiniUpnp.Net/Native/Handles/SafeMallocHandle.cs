using System;
using System.Runtime.InteropServices;
using MiniUpnp.Net.Interop;

namespace MiniUpnp.Net.Native;

/// <summary>
/// Owns a buffer that miniupnpc allocated with the C runtime's <c>malloc</c> (the body returned by
/// <c>miniwget</c> and <c>miniwget_getaddr</c>); releasing it calls that runtime's <c>free</c>.
/// </summary>
public sealed class SafeMallocHandle : MiniupnpcSafeHandle
{
    /// <summary>An empty (invalid) handle.</summary>
    internal SafeMallocHandle()
    {
    }

    /// <summary>Takes ownership of <paramref name="pointer"/>, as miniupnpc returned it (null: an invalid handle).</summary>
    internal SafeMallocHandle(IntPtr pointer)
    {
        SetHandle(pointer);
    }

    /// <summary>Size of the buffer in bytes, as miniupnpc reported it (0 when unknown).</summary>
    public int Length { get; internal set; }

    /// <summary>Copies the buffer's <see cref="Length"/> bytes.</summary>
    public byte[] ToArray()
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        if (IsInvalid || Length <= 0)
        {
            return Array.Empty<byte>();
        }
        return Use(p =>
        {
            var copy = new byte[Length];
            Marshal.Copy(p, copy, 0, Length);
            return copy;
        });
    }

    /// <inheritdoc/>
    protected override unsafe bool ReleaseHandle()
    {
        CRuntime.Free((void*)handle);
        return true;
    }
}
