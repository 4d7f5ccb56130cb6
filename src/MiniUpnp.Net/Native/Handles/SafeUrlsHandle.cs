using System;
using System.Runtime.InteropServices;
using MiniUpnp.Net.Interop;

namespace MiniUpnp.Net.Native;

/// <summary>
/// Owns a C <c>struct UPNPUrls</c> (allocated here, zeroed) and the URL strings miniupnpc puts in it;
/// releasing it calls <c>FreeUPNPUrls</c> and frees the struct. Pass a new one to <c>UPNP_GetValidIGD</c>,
/// <c>UPNP_GetIGDFromUrl</c> or <c>GetUPNPUrls</c>, as C code passes <c>&amp;urls</c>.
/// </summary>
public sealed unsafe class SafeUrlsHandle : MiniupnpcSafeHandle
{
    /// <summary>Allocates an empty <c>struct UPNPUrls</c>.</summary>
    public unsafe SafeUrlsHandle()
    {
        SetHandle((IntPtr)NativeMemory.AllocZeroed((nuint)sizeof(UPNPUrlsStruct)));
    }

    /// <summary>controlURL of the WANIPConnection (or WANPPPConnection) service; empty when not set.</summary>
    public string controlURL => Read(static u => u->controlURL);

    /// <summary>URL of the description of the WANIPConnection service.</summary>
    public string ipcondescURL => Read(static u => u->ipcondescURL);

    /// <summary>controlURL of the WANCommonInterfaceConfig service.</summary>
    public string controlURL_CIF => Read(static u => u->controlURL_CIF);

    /// <summary>controlURL of the WANIPv6FirewallControl service.</summary>
    public string controlURL_6FC => Read(static u => u->controlURL_6FC);

    /// <summary>URL of the root description.</summary>
    public string rootdescURL => Read(static u => u->rootdescURL);

    private unsafe delegate byte* FieldSelector(UPNPUrlsStruct* urls);

    private unsafe string Read(FieldSelector field)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        return Use(p => NativeString.Read(field((UPNPUrlsStruct*)p)));
    }

    /// <summary>
    /// Frees the URL strings (C <c>FreeUPNPUrls</c>) and leaves the struct empty, ready to be filled again.
    /// miniupnpc's functions overwrite the struct without freeing what it held, so the C-named API calls this
    /// before every refill: reusing one handle never leaks (the Python module does leak there).
    /// </summary>
    internal unsafe void FreeUrls() => Use(static p =>
    {
        NativeMethods.FreeUPNPUrls((UPNPUrlsStruct*)p);
        return 0;
    });

    /// <inheritdoc/>
    protected override unsafe bool ReleaseHandle()
    {
        NativeMethods.FreeUPNPUrls((UPNPUrlsStruct*)handle);
        NativeMemory.Free((void*)handle);
        return true;
    }
}
