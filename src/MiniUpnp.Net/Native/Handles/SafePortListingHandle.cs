using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using MiniUpnp.Net.Interop;

namespace MiniUpnp.Net.Native;

/// <summary>
/// Owns a C <c>struct PortMappingParserData</c> (allocated here, zeroed) and the list miniupnpc builds in it
/// (<c>UPNP_GetListOfPortMappings</c>, <c>ParsePortListing</c>); releasing it calls <c>FreePortListing</c>
/// and frees the struct.
/// </summary>
public sealed class SafePortListingHandle : MiniupnpcSafeHandle
{
    /// <summary>Allocates an empty <c>struct PortMappingParserData</c>.</summary>
    public unsafe SafePortListingHandle()
    {
        SetHandle((IntPtr)NativeMemory.AllocZeroed((nuint)sizeof(PortMappingParserDataStruct)));
    }

    /// <summary>A copy of the parsed entries, in list order.</summary>
    public IReadOnlyList<PortMapping> Entries
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return Use(ReadEntries);
        }
    }

    private static unsafe IReadOnlyList<PortMapping> ReadEntries(IntPtr data)
    {
        var entries = new List<PortMapping>();
        for (var pm = ((PortMappingParserDataStruct*)data)->l_head; pm != null; pm = pm->l_next)
        {
            entries.Add(new PortMapping(
                pm->leaseTime,
                pm->externalPort,
                pm->internalPort,
                NativeString.Read(pm->remoteHost, 64),
                NativeString.Read(pm->internalClient, 64),
                NativeString.Read(pm->description, 64),
                NativeString.Read(pm->protocol, 4),
                pm->enabled));
        }
        return entries;
    }

    /// <summary>Empties the list (C <c>FreePortListing</c>), keeping the struct for another parse.</summary>
    internal unsafe void FreeList() => Use(static p =>
    {
        NativeMethods.FreePortListing((PortMappingParserDataStruct*)p);
        return 0;
    });

    /// <inheritdoc/>
    protected override unsafe bool ReleaseHandle()
    {
        NativeMethods.FreePortListing((PortMappingParserDataStruct*)handle);
        NativeMemory.Free((void*)handle);
        return true;
    }
}

/// <summary>One entry of a port listing (C <c>struct PortMapping</c>, copied).</summary>
/// <param name="leaseTime">Remaining lease in seconds (0: permanent).</param>
/// <param name="externalPort">External port.</param>
/// <param name="internalPort">Internal port.</param>
/// <param name="remoteHost">Remote host, empty for a wildcard.</param>
/// <param name="internalClient">Internal IP address.</param>
/// <param name="description">Description.</param>
/// <param name="protocol"><c>TCP</c> or <c>UDP</c>.</param>
/// <param name="enabled">0 (false) or 1 (true).</param>
public sealed record PortMapping(
    ulong leaseTime,
    ushort externalPort,
    ushort internalPort,
    string remoteHost,
    string internalClient,
    string description,
    string protocol,
    byte enabled);
