using System;
#if NETSTANDARD2_0
using System.IO;
#else
using System.Diagnostics.CodeAnalysis;
#endif
using System.Reflection;
#if !NETSTANDARD2_0
using System.Runtime.CompilerServices;
#endif
using System.Runtime.InteropServices;
#if NETSTANDARD2_0
using System.Threading;
#endif

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

#if !NETSTANDARD2_0
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
            throw NotApi21(name);
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
            throw NatpmpLacks(name, missing);
        }
    }
#endif

    private static IncompatibleNativeLibraryException NotApi21(string name) => new(
        $"The miniupnpc library loaded from '{name}' is not API version {Miniupnpc.MINIUPNPC_API_VERSION} " +
        $"(miniupnpc {Miniupnpc.MINIUPNPC_VERSION}): it lacks {Api21Marker}. Calling an older miniupnpc " +
        "would corrupt memory, because its functions have other signatures. Use the library shipped in the " +
        $"MiniUpnp.Net runtime packages, or {Elsewhere(PathVariable)} a miniupnpc {Miniupnpc.MINIUPNPC_VERSION} build.");

    /// <summary>How to name another file: the variable on .NET 8+, the search path on netstandard2.0 (no resolver there).</summary>
#if NETSTANDARD2_0
    private static string Elsewhere(string variable) => $"(netstandard2.0, where {variable} is not read) put first on the library search path";
#else
    private static string Elsewhere(string variable) => $"point {variable} at";
#endif

    private static IncompatibleNativeLibraryException NatpmpLacks(string name, string[] missing) => new(
        $"The libnatpmp library loaded from '{name}' lacks {string.Join(", ", missing)}: MiniUpnp.Net calls all seven " +
        "functions of natpmp.h (strnatpmperr exists only in a build with ENABLE_STRNATPMPERR). Use the library " +
        $"shipped in the MiniUpnp.Net runtime packages, or {Elsewhere(NatpmpPathVariable)} a libnatpmp 20230423 build " +
        "with ENABLE_STRNATPMPERR.");

    /// <summary>
    /// miniupnpc's and libnatpmp's sockets need Winsock initialised. The Python module calls WSAStartup when it is imported;
    /// .NET calls it only once System.Net.Sockets is used, which a program using only this binding may never do.
    /// WSAStartup is reference-counted, so an extra call is harmless; like Python, we never call WSACleanup.
    /// </summary>
    private static unsafe void EnsureWinsock()
    {
        if (IsWindows)
        {
            byte* wsaData = stackalloc byte[1024]; // WSADATA is 408 bytes on 64-bit Windows, 400 on 32-bit
            int error = WSAStartup(0x0202, wsaData);
            if (error != 0)
            {
                throw new DllNotFoundException($"WSAStartup failed with error {error}: miniupnpc and libnatpmp cannot use sockets.");
            }
        }
    }

#if NETSTANDARD2_0
    private static bool IsWindows => RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

    [DllImport("ws2_32", ExactSpelling = true)]
    private static extern unsafe int WSAStartup(ushort versionRequested, byte* wsaData);
#else
    private static bool IsWindows => OperatingSystem.IsWindows();

    [LibraryImport("ws2_32")]
    private static unsafe partial int WSAStartup(ushort versionRequested, byte* wsaData);
#endif
#if NETSTANDARD2_0

    // ---- netstandard2.0 (.NET Framework, Mono, Unity): no NativeLibrary, so no resolver. The runtime's own DllImport
    // probing finds the library (next to the application or MiniUpnp.Net.dll, or where the platform's loader looks:
    // PATH, LD_LIBRARY_PATH, DYLD_LIBRARY_PATH); on Windows, a runtimes\win-<arch>\native\ folder under the
    // application is loaded first when the file is not next to it (README, "For Unity users"). The guard runs before the
    // first call of every generated method (EnsureLoaded): Marshal.Prelink binds the DllImport of the marker export, in
    // the very library the calls will use, and fails when it is missing. The variables above are not read there.

    private static readonly Lazy<bool> s_miniupnpc = new(LoadMiniupnpc, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<bool> s_natpmp = new(LoadNatpmp, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Makes sure miniupnpc is loaded and is API 21; the failure, if any, is thrown again on every call.</summary>
    internal static void EnsureMiniupnpc() => _ = s_miniupnpc.Value;

    /// <summary>Makes sure libnatpmp is loaded and exports natpmp.h's seven functions; a failure is thrown on every call.</summary>
    internal static void EnsureNatpmp() => _ = s_natpmp.Value;

    private static bool LoadMiniupnpc()
    {
        EnsureWinsock();
        string name = PreloadOnWindows(NativeMethods.LibraryName);
        if (!Binds(typeof(NativeMethods.Imports), Api21Marker, name))
        {
            throw NotApi21(name);
        }
        return true;
    }

    private static bool LoadNatpmp()
    {
        EnsureWinsock();
        string name = PreloadOnWindows(NatpmpNativeMethods.LibraryName);
        var missing = Array.FindAll(NatpmpNativeMethods.Exports, e => !Binds(typeof(NatpmpNativeMethods.Imports), e, name));
        if (missing.Length > 0)
        {
            throw NatpmpLacks(name, missing);
        }
        return true;
    }

    /// <summary>Whether the DllImport of <paramref name="export"/> in <paramref name="imports"/> binds.</summary>
    private static bool Binds(Type imports, string export, string name)
    {
        var method = imports.GetMethod(export, BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
            ?? throw new MissingMethodException(imports.FullName, export);
        try
        {
            Marshal.Prelink(method);
            return true;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
        catch (DllNotFoundException e)
        {
            throw new DllNotFoundException(
                $"The native library {name} was not found. On .NET Framework, put the file of the MiniUpnp.Net.Native.<rid> " +
                "package (runtimes/win-x64/native or win-x86) next to the application or keep that runtimes folder beside it; " +
                "on Mono, next to MiniUpnp.Net.dll or in a folder of LD_LIBRARY_PATH (DYLD_LIBRARY_PATH on macOS); in Unity, " +
                "under Assets/Plugins (README, \"For Unity users\").", e);
        }
    }

    /// <summary>
    /// On Windows, when <paramref name="libraryName"/>.dll is not next to the application, loads the one in
    /// runtimes\win-&lt;arch&gt;\native\ under it (the process's architecture): Windows then binds the DllImports, which
    /// name the module without a path, to that loaded module. Returns what to name in messages.
    /// </summary>
    private static string PreloadOnWindows(string libraryName)
    {
        if (!IsWindows)
        {
            return libraryName;
        }
        string directory = AppDomain.CurrentDomain.BaseDirectory ?? string.Empty;
        string file = libraryName + ".dll";
        string next = Path.Combine(directory, file);
        if (File.Exists(next))
        {
            return next;
        }
        string? rid = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "win-x64",
            Architecture.X86 => "win-x86",
            Architecture.Arm64 => "win-arm64",
            _ => null,
        };
        string candidate = rid is null ? string.Empty : Path.Combine(directory, "runtimes", rid, "native", file);
        if (rid is null || !File.Exists(candidate))
        {
            return libraryName;
        }
        if (LoadLibraryW(candidate) == IntPtr.Zero)
        {
            throw new DllNotFoundException($"LoadLibrary failed for {candidate} (Windows error {Marshal.GetLastWin32Error()}).");
        }
        return candidate; // never freed: the DllImports bind to it for the life of the process
    }

    [DllImport("kernel32", CharSet = CharSet.Unicode, ExactSpelling = true, SetLastError = true)]
    private static extern IntPtr LoadLibraryW(string fileName);
#endif
}
