namespace MiniUpnp.Net.Interop;

/// <summary>The native miniupnpc entry points. The declarations are generated (NativeMethods.g.cs); this part is hand-written.</summary>
internal static partial class NativeMethods
{
    /// <summary>
    /// The one name under which the binding loads miniupnpc. Upstream's CMake names the file libminiupnpc.so,
    /// libminiupnpc.dylib and (MinGW) libminiupnpc.dll, so the "lib" prefix is part of the name on every platform.
    /// </summary>
    internal const string LibraryName = "libminiupnpc";
#if NETSTANDARD2_0

    /// <summary>netstandard2.0: the ABI guard, before the first call of every generated method (NativeLibraryLoader).</summary>
    private static void EnsureLoaded() => NativeLibraryLoader.EnsureMiniupnpc();
#endif
}
