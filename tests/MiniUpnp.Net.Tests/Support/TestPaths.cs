using System;
using System.IO;
using System.Runtime.InteropServices;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Support;

/// <summary>Where the build put what the tests read: the pinned upstream source and the native artifacts.</summary>
internal static class TestPaths
{
    internal static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The verified, patched miniupnpc source tree (./build.sh native extracts it).</summary>
    internal static string UpstreamSource => Path.Combine(RepoRoot, "artifacts", "src", "miniupnpc-2.3.3");

    internal static string HostRid => RuntimeInformation.RuntimeIdentifier;

    /// <summary>artifacts/native/&lt;host rid&gt;/ : the staged library and our native tools.</summary>
    internal static string NativeDir => Path.Combine(RepoRoot, "artifacts", "native", HostRid);

    internal static string NativeTool(string name) => Path.Combine(NativeDir, "tools", name);

    /// <summary>The staged miniupnpc library file of the host.</summary>
    internal static string NativeLibraryFile => Path.Combine(NativeDir,
        OperatingSystem.IsWindows() ? "libminiupnpc.dll" : OperatingSystem.IsMacOS() ? "libminiupnpc.dylib" : "libminiupnpc.so");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MiniUpnp.Net.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("MiniUpnp.Net.sln not found above " + AppContext.BaseDirectory);
    }
}
