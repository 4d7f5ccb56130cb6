namespace System.Runtime.InteropServices;

/// <summary>
/// netstandard2.0 stand-in for .NET 6's NativeMemory, for the binding's own allocations only (each is freed by
/// <see cref="Free"/>, never by native code): the process heap through <see cref="Marshal.AllocHGlobal(IntPtr)"/>.
/// Memory miniupnpc allocates is freed by Interop/CRuntime.cs, with the C runtime's own free.
/// </summary>
internal static unsafe class NativeMemory
{
    internal static void* AllocZeroed(nuint byteCount) => AllocZeroed(byteCount, 1);

    internal static void* AllocZeroed(nuint elementCount, nuint elementSize)
    {
        ulong size = checked((ulong)elementCount * elementSize);
        var pointer = (byte*)Marshal.AllocHGlobal(checked((nint)Math.Max(size, 1)));
        new Span<byte>(pointer, checked((int)size)).Clear();
        return pointer;
    }

    internal static void Free(void* pointer)
    {
        if (pointer != null)
        {
            Marshal.FreeHGlobal((IntPtr)pointer);
        }
    }
}
