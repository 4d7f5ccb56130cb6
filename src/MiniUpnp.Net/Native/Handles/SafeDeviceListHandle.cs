using System;
using System.Collections.Generic;
using MiniUpnp.Net.Interop;

namespace MiniUpnp.Net.Native;

/// <summary>
/// Owns the chained list of devices returned by <c>upnpDiscover</c> and its siblings; releasing it calls
/// <c>freeUPNPDevlist</c>. An empty discovery result is an invalid (zero) handle.
/// </summary>
public sealed class SafeDeviceListHandle : MiniupnpcSafeHandle
{
    /// <summary>An empty (invalid) handle.</summary>
    internal SafeDeviceListHandle()
    {
    }

    /// <summary>Takes ownership of <paramref name="pointer"/>, as miniupnpc returned it (null: an invalid handle).</summary>
    internal SafeDeviceListHandle(IntPtr pointer)
    {
        SetHandle(pointer);
    }

    /// <summary>A copy of the devices in the list, in list order (empty for an invalid or closed handle).</summary>
    public IReadOnlyList<UPNPDev> Devices => IsInvalid || IsClosed ? Array.Empty<UPNPDev>() : Use(ReadDevices);

    private static unsafe IReadOnlyList<UPNPDev> ReadDevices(IntPtr head)
    {
        var devices = new List<UPNPDev>();
        for (var dev = (Interop.UPNPDevStruct*)head; dev != null; dev = dev->pNext)
        {
            devices.Add(new UPNPDev(
                NativeString.Read(dev->descURL),
                NativeString.Read(dev->st),
                NativeString.Read(dev->usn),
                dev->scope_id));
        }
        return devices;
    }

    /// <inheritdoc/>
    protected override unsafe bool ReleaseHandle()
    {
        NativeMethods.freeUPNPDevlist((Interop.UPNPDevStruct*)handle);
        return true;
    }
}

/// <summary>One device of a discovery result (C <c>struct UPNPDev</c>, copied).</summary>
/// <param name="descURL">URL of the device's root description.</param>
/// <param name="st">The search target it answered (its device or service type).</param>
/// <param name="usn">Its unique service name.</param>
/// <param name="scope_id">IPv6 scope id of the interface it was seen on (0 for IPv4).</param>
public sealed record UPNPDev(string descURL, string st, string usn, uint scope_id);
