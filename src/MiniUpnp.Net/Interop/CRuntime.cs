using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MiniUpnp.Net.Interop;

/// <summary>The C runtime that miniupnpc allocates with, for the buffers it hands over to its caller.</summary>
internal static unsafe partial class CRuntime
{
    /// <summary>
    /// Frees memory miniupnpc allocated with malloc. On Unix that is the process's libc, the same one
    /// <see cref="NativeMemory.Free"/> calls. Our Windows build is MinGW's and links msvcrt.dll
    /// (design.md, "Building for other platforms"), whose heap is not the UCRT heap that .NET frees into.
    /// </summary>
    internal static void Free(void* pointer)
    {
        if (OperatingSystem.IsWindows())
        {
            MsvcrtFree(pointer);
        }
        else
        {
            NativeMemory.Free(pointer);
        }
    }

    [LibraryImport("msvcrt", EntryPoint = "free")]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static partial void MsvcrtFree(void* pointer);
}
