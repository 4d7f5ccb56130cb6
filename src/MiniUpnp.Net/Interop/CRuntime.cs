#if !NETSTANDARD2_0
using System;
using System.Runtime.CompilerServices;
#endif
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
#if NETSTANDARD2_0
    internal static void Free(void* pointer)
    {
        // netstandard2.0: NativeMemory is a polyfill over the runtime's HGlobal heap there (Mono's allocator may be a custom
        // one, as in Unity), so the C runtime's free is called by name: "libc", which Mono maps to the platform's C library
        // (its dllmap configuration).
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            MsvcrtFree(pointer);
        }
        else
        {
            LibcFree(pointer);
        }
    }

    [DllImport("msvcrt", EntryPoint = "free", CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern void MsvcrtFree(void* pointer);

    [DllImport("libc", EntryPoint = "free", CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern void LibcFree(void* pointer);
#else
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
#endif
}
