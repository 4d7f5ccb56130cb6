namespace MiniUpnp.Net.Interop;

/// <summary>The native libnatpmp entry points. The declarations are generated (NatpmpNativeMethods.g.cs); this part is hand-written.</summary>
internal static partial class NatpmpNativeMethods
{
    /// <summary>
    /// The one name under which the binding loads libnatpmp. Our CMake (native/libnatpmp/CMakeLists.txt) names the file
    /// libnatpmp.so, libnatpmp.dylib and (MinGW) libnatpmp.dll, so the "lib" prefix is part of the name on every platform.
    /// </summary>
    internal const string LibraryName = "libnatpmp";
#if NETSTANDARD2_0

    /// <summary>netstandard2.0: the export check, before the first call of every generated method (NativeLibraryLoader).</summary>
    private static void EnsureLoaded() => NativeLibraryLoader.EnsureNatpmp();
#endif

    /// <summary>The seven functions natpmp.h marks NATPMP_LIBSPEC, all of which the binding calls.</summary>
    internal static readonly string[] Exports =
    [
        "initnatpmp", "closenatpmp", "sendpublicaddressrequest", "sendnewportmappingrequest",
        "getnatpmprequesttimeout", "readnatpmpresponseorretry", "strnatpmperr",
    ];
}
