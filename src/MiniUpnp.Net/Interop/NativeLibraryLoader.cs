using System;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

using MiniUpnp.Net.Native;

namespace MiniUpnp.Net.Interop;

/// <summary>
/// Loads miniupnpc and libnatpmp for this assembly's P/Invokes and refuses an ABI-incompatible one before any call is
/// made: a distribution's older miniupnpc (API 17, for instance) has different signatures, and calling it would
/// corrupt memory instead of failing; a libnatpmp without one of natpmp.h's seven functions fails at the call that
/// needs it, which is refused up front instead.
/// </summary>
internal static partial class NativeLibraryLoader
{
    /// <summary>Environment variable naming a miniupnpc library file to load instead of the bundled one.</summary>
    internal const string PathVariable = "MINIUPNPNET_NATIVE_LIBRARY";

    /// <summary>A function that exists only from API 21 on (miniupnpc 2.3.0): its presence identifies the ABI.</summary>
    internal const string Api21Marker = "UPNP_GetGenericPortMappingEntryExt";

    /// <summary>Environment variable naming a libnatpmp library file to load instead of the bundled one.</summary>
    internal const string NatpmpPathVariable = "MINIUPNPNET_NATPMP_LIBRARY";

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "The resolver must be in place before the first P/Invoke; it only registers a callback.")]
    internal static void Register() => NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        bool natpmp = libraryName == NatpmpNativeMethods.LibraryName;
        if (libraryName != NativeMethods.LibraryName && !natpmp)
        {
            return IntPtr.Zero; // the default probing (msvcrt for CRuntime, for instance)
        }
        EnsureWinsock();
        string? path = Environment.GetEnvironmentVariable(natpmp ? NatpmpPathVariable : PathVariable);
        if (!string.IsNullOrEmpty(path))
        {
            return natpmp ? LoadNatpmpFrom(path) : LoadFrom(path);
        }
        if (!NativeLibrary.TryLoad(libraryName, assembly, searchPath, out var library))
        {
            return IntPtr.Zero; // the runtime then reports its usual DllNotFoundException
        }
        Check(library, libraryName, natpmp ? EnsureNatpmpCompatible : EnsureCompatible);
        return library;
    }

    /// <summary>Loads the library file at <paramref name="path"/> and checks its ABI.</summary>
    internal static IntPtr LoadFrom(string path)
    {
        IntPtr library = NativeLibrary.Load(path);
        Check(library, path, EnsureCompatible);
        return library;
    }

    /// <summary>Loads the libnatpmp file at <paramref name="path"/> and checks it exports the seven functions.</summary>
    internal static IntPtr LoadNatpmpFrom(string path)
    {
        IntPtr library = NativeLibrary.Load(path);
        Check(library, path, EnsureNatpmpCompatible);
        return library;
    }

    private static void Check(IntPtr library, string name, Action<IntPtr, string> ensure)
    {
        try
        {
            ensure(library, name);
        }
        catch
        {
            NativeLibrary.Free(library);
            throw;
        }
    }

    /// <summary>Throws <see cref="IncompatibleNativeLibraryException"/> unless <paramref name="library"/> is API 21.</summary>
    internal static void EnsureCompatible(IntPtr library, string name)
    {
        if (!NativeLibrary.TryGetExport(library, Api21Marker, out _))
        {
            throw new IncompatibleNativeLibraryException(
                $"The miniupnpc library loaded from '{name}' is not API version {Miniupnpc.MINIUPNPC_API_VERSION} " +
                $"(miniupnpc {Miniupnpc.MINIUPNPC_VERSION}): it lacks {Api21Marker}. Calling an older miniupnpc " +
                "would corrupt memory, because its functions have other signatures. Use the library shipped in the " +
                $"MiniUpnp.Net runtime packages, or point {PathVariable} at a miniupnpc {Miniupnpc.MINIUPNPC_VERSION} build.");
        }
    }

    /// <summary>
    /// Throws <see cref="IncompatibleNativeLibraryException"/> unless <paramref name="library"/> exports the seven
    /// functions natpmp.h marks NATPMP_LIBSPEC. strnatpmperr is the one a build can lack: upstream compiles it only with
    /// ENABLE_STRNATPMPERR (its Makefile and CMakeLists.txt define it; a build by other means may not).
    /// </summary>
    internal static void EnsureNatpmpCompatible(IntPtr library, string name)
    {
        var missing = Array.FindAll(NatpmpNativeMethods.Exports, e => !NativeLibrary.TryGetExport(library, e, out _));
        if (missing.Length > 0)
        {
            throw new IncompatibleNativeLibraryException(
                $"The libnatpmp library loaded from '{name}' lacks {string.Join(", ", missing)}: MiniUpnp.Net calls all seven " +
                "functions of natpmp.h (strnatpmperr exists only in a build with ENABLE_STRNATPMPERR). Use the library " +
                $"shipped in the MiniUpnp.Net runtime packages, or point {NatpmpPathVariable} at a libnatpmp 20230423 build " +
                "with ENABLE_STRNATPMPERR.");
        }
    }

    /// <summary>
    /// miniupnpc's and libnatpmp's sockets need Winsock initialised. The Python module calls WSAStartup when it is imported;
    /// .NET calls it only once System.Net.Sockets is used, which a program using only this binding may never do.
    /// WSAStartup is reference-counted, so an extra call is harmless; like Python, we never call WSACleanup.
    /// </summary>
    private static unsafe void EnsureWinsock()
    {
        if (OperatingSystem.IsWindows())
        {
            byte* wsaData = stackalloc byte[1024]; // WSADATA is 408 bytes on 64-bit Windows, 400 on 32-bit
            int error = WSAStartup(0x0202, wsaData);
            if (error != 0)
            {
                throw new DllNotFoundException($"WSAStartup failed with error {error}: miniupnpc and libnatpmp cannot use sockets.");
            }
        }
    }

    [LibraryImport("ws2_32")]
    private static unsafe partial int WSAStartup(ushort versionRequested, byte* wsaData);
}
