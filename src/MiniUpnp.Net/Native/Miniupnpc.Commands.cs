using System;
using MiniUpnp.Net.Interop;

namespace MiniUpnp.Net.Native;

// The SOAP commands of upnpcommands.h. controlURL may be null (miniupnpc then fails with an HTTP error code, as
// the Python module does before an IGD is selected); servicetype may not (C formats it with %s).
public static unsafe partial class Miniupnpc
{
    /// <summary>Total bytes sent by the IGD's WAN interface (C <c>UPNP_GetTotalBytesSent</c>, WANCommonInterfaceConfig).</summary>
    /// <param name="controlURL">The WANCommonInterfaceConfig control URL (<c>urls.controlURL_CIF</c>).</param>
    /// <param name="servicetype">Its service type (<c>data.CIF.servicetype</c>).</param>
    /// <returns>The counter; on failure a negative <c>UPNPCOMMAND_*</c> code cast to unsigned, as in C.</returns>
    public static ulong UPNP_GetTotalBytesSent(string? controlURL, string servicetype)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        return NativeMethods.UPNP_GetTotalBytesSent(controlURL, servicetype);
    }

    /// <summary>Total bytes received (C <c>UPNP_GetTotalBytesReceived</c>).</summary>
    /// <inheritdoc cref="UPNP_GetTotalBytesSent"/>
    public static ulong UPNP_GetTotalBytesReceived(string? controlURL, string servicetype)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        return NativeMethods.UPNP_GetTotalBytesReceived(controlURL, servicetype);
    }

    /// <summary>Total packets sent (C <c>UPNP_GetTotalPacketsSent</c>).</summary>
    /// <inheritdoc cref="UPNP_GetTotalBytesSent"/>
    public static ulong UPNP_GetTotalPacketsSent(string? controlURL, string servicetype)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        return NativeMethods.UPNP_GetTotalPacketsSent(controlURL, servicetype);
    }

    /// <summary>Total packets received (C <c>UPNP_GetTotalPacketsReceived</c>).</summary>
    /// <inheritdoc cref="UPNP_GetTotalBytesSent"/>
    public static ulong UPNP_GetTotalPacketsReceived(string? controlURL, string servicetype)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        return NativeMethods.UPNP_GetTotalPacketsReceived(controlURL, servicetype);
    }

    /// <summary>Connection status, uptime and last connection error (C <c>UPNP_GetStatusInfo</c>).</summary>
    /// <param name="controlURL">The WAN connection service's control URL (<c>urls.controlURL</c>).</param>
    /// <param name="servicetype">Its service type (<c>data.first.servicetype</c>).</param>
    /// <param name="status"><c>Unconfigured</c>, <c>Connecting</c>, <c>Connected</c>, …</param>
    /// <param name="uptime">Seconds since the connection came up.</param>
    /// <param name="lastconnerror"><c>ERROR_NONE</c>, …</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/>, a <c>UPNPCOMMAND_*</c> code, or a UPnP error code.</returns>
    public static int UPNP_GetStatusInfo(string? controlURL, string servicetype, out string status, out uint uptime, out string lastconnerror)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        byte* s = stackalloc byte[TextBuffer];
        byte* e = stackalloc byte[TextBuffer];
        uint up = 0;
        int r = NativeMethods.UPNP_GetStatusInfo(controlURL, servicetype, s, &up, e);
        status = NativeString.Read(s, TextBuffer);
        uptime = up;
        lastconnerror = NativeString.Read(e, TextBuffer);
        return r;
    }

    /// <summary>The WAN connection type (C <c>UPNP_GetConnectionTypeInfo</c>).</summary>
    /// <param name="controlURL">The WAN connection service's control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="connectionType"><c>IP_Routed</c>, <c>IP_Bridged</c>, …</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code.</returns>
    public static int UPNP_GetConnectionTypeInfo(string? controlURL, string servicetype, out string connectionType)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        byte* t = stackalloc byte[TextBuffer];
        int r = NativeMethods.UPNP_GetConnectionTypeInfo(controlURL, servicetype, t);
        connectionType = NativeString.Read(t, TextBuffer);
        return r;
    }

    /// <summary>The IGD's external IP address (C <c>UPNP_GetExternalIPAddress</c>).</summary>
    /// <param name="controlURL">The WAN connection service's control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="extIpAdd">The address as text.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code.</returns>
    public static int UPNP_GetExternalIPAddress(string? controlURL, string servicetype, out string extIpAdd)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        byte* a = stackalloc byte[AddressBuffer];
        int r = NativeMethods.UPNP_GetExternalIPAddress(controlURL, servicetype, a);
        extIpAdd = NativeString.Read(a, AddressBuffer);
        return r;
    }

    /// <summary>Maximum bit rates of the WAN link (C <c>UPNP_GetLinkLayerMaxBitRates</c>, WANCommonInterfaceConfig).</summary>
    /// <param name="controlURL">The WANCommonInterfaceConfig control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="bitrateDown">Downstream, bits per second.</param>
    /// <param name="bitrateUp">Upstream, bits per second.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code.</returns>
    public static int UPNP_GetLinkLayerMaxBitRates(string? controlURL, string servicetype, out uint bitrateDown, out uint bitrateUp)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        uint down = 0, up = 0;
        int r = NativeMethods.UPNP_GetLinkLayerMaxBitRates(controlURL, servicetype, &down, &up);
        bitrateDown = down;
        bitrateUp = up;
        return r;
    }

    /// <summary>Adds a port mapping (C <c>UPNP_AddPortMapping</c>). All numbers are passed as text, as in C.</summary>
    /// <param name="controlURL">The WAN connection service's control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="extPort">External port.</param>
    /// <param name="inPort">Internal port.</param>
    /// <param name="inClient">Internal client address.</param>
    /// <param name="desc">Description, or null.</param>
    /// <param name="proto"><c>TCP</c> or <c>UDP</c>.</param>
    /// <param name="remoteHost">Remote host, or null/empty for any.</param>
    /// <param name="leaseDuration">Lease in seconds, "0" or null for permanent.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/>, a <c>UPNPCOMMAND_*</c> code, or a UPnP error code (718: conflict, …).</returns>
    public static int UPNP_AddPortMapping(string? controlURL, string servicetype, string? extPort, string? inPort, string? inClient,
        string? desc, string? proto, string? remoteHost, string? leaseDuration)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        return NativeMethods.UPNP_AddPortMapping(controlURL, servicetype, extPort, inPort, inClient, desc, proto, remoteHost, leaseDuration);
    }

    /// <summary>Adds a port mapping, letting the IGD pick another external port if needed (C <c>UPNP_AddAnyPortMapping</c>, IGDv2).</summary>
    /// <param name="controlURL">The WAN connection service's control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="extPort">External port.</param>
    /// <param name="inPort">Internal port.</param>
    /// <param name="inClient">Internal client address.</param>
    /// <param name="desc">Description, or null.</param>
    /// <param name="proto"><c>TCP</c> or <c>UDP</c>.</param>
    /// <param name="remoteHost">Remote host, or null/empty for any.</param>
    /// <param name="leaseDuration">Lease in seconds, "0" or null for permanent.</param>
    /// <param name="reservedPort">The external port the IGD reserved.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code.</returns>
    public static int UPNP_AddAnyPortMapping(string? controlURL, string servicetype, string? extPort, string? inPort, string? inClient,
        string? desc, string? proto, string? remoteHost, string? leaseDuration, out string reservedPort)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        byte* p = stackalloc byte[ShortBuffer];
        int r = NativeMethods.UPNP_AddAnyPortMapping(controlURL, servicetype, extPort, inPort, inClient, desc, proto, remoteHost, leaseDuration, p);
        reservedPort = NativeString.Read(p, ShortBuffer);
        return r;
    }

    /// <summary>Deletes a port mapping (C <c>UPNP_DeletePortMapping</c>).</summary>
    /// <param name="controlURL">The WAN connection service's control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="extPort">External port.</param>
    /// <param name="proto"><c>TCP</c> or <c>UDP</c>.</param>
    /// <param name="remoteHost">Remote host, or null/empty.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code (714: no such entry, …).</returns>
    public static int UPNP_DeletePortMapping(string? controlURL, string servicetype, string? extPort, string? proto, string? remoteHost)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        return NativeMethods.UPNP_DeletePortMapping(controlURL, servicetype, extPort, proto, remoteHost);
    }

    /// <summary>Deletes the mappings of a port range (C <c>UPNP_DeletePortMappingRange</c>, IGDv2).</summary>
    /// <param name="controlURL">The WAN connection service's control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="extPortStart">First external port.</param>
    /// <param name="extPortEnd">Last external port.</param>
    /// <param name="proto"><c>TCP</c> or <c>UDP</c>.</param>
    /// <param name="manage">"0": only this client's mappings; "1": all it may manage.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code (730: none in range, …).</returns>
    public static int UPNP_DeletePortMappingRange(string? controlURL, string servicetype, string? extPortStart, string? extPortEnd, string? proto, string? manage)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        return NativeMethods.UPNP_DeletePortMappingRange(controlURL, servicetype, extPortStart, extPortEnd, proto, manage);
    }

    /// <summary>Number of port mappings (C <c>UPNP_GetPortMappingNumberOfEntries</c>; not every IGD has it).</summary>
    /// <param name="controlURL">The WAN connection service's control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="numEntries">The count.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code.</returns>
    public static int UPNP_GetPortMappingNumberOfEntries(string? controlURL, string servicetype, out uint numEntries)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        uint n = 0;
        int r = NativeMethods.UPNP_GetPortMappingNumberOfEntries(controlURL, servicetype, &n);
        numEntries = n;
        return r;
    }

    /// <summary>Reads the mapping of one external port (C <c>UPNP_GetSpecificPortMappingEntry</c>).</summary>
    /// <param name="controlURL">The WAN connection service's control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="extPort">External port.</param>
    /// <param name="proto"><c>TCP</c> or <c>UDP</c>.</param>
    /// <param name="remoteHost">Remote host, or null/empty.</param>
    /// <param name="intClient">Internal client address (empty when none).</param>
    /// <param name="intPort">Internal port.</param>
    /// <param name="desc">Description (at most 79 bytes).</param>
    /// <param name="enabled">"1" or "0".</param>
    /// <param name="leaseDuration">Remaining lease in seconds.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code (714: no such entry, …).</returns>
    public static int UPNP_GetSpecificPortMappingEntry(string? controlURL, string servicetype, string? extPort, string? proto, string? remoteHost,
        out string intClient, out string intPort, out string desc, out string enabled, out string leaseDuration)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        byte* client = stackalloc byte[AddressBuffer];
        byte* port = stackalloc byte[ShortBuffer];
        byte* d = stackalloc byte[DescriptionBuffer];
        byte* en = stackalloc byte[ShortBuffer];
        byte* lease = stackalloc byte[AddressBuffer];
        int r = NativeMethods.UPNP_GetSpecificPortMappingEntry(controlURL, servicetype, extPort, proto, remoteHost, client, port, d, en, lease);
        intClient = NativeString.Read(client, AddressBuffer);
        intPort = NativeString.Read(port, ShortBuffer);
        desc = NativeString.Read(d, DescriptionBuffer);
        enabled = NativeString.Read(en, ShortBuffer);
        leaseDuration = NativeString.Read(lease, AddressBuffer);
        return r;
    }

    /// <summary>Like <see cref="UPNP_GetSpecificPortMappingEntry"/> with a description buffer of <paramref name="desclen"/> bytes
    /// (C <c>UPNP_GetSpecificPortMappingEntryExt</c>, API 21).</summary>
    /// <param name="controlURL">The WAN connection service's control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="extPort">External port.</param>
    /// <param name="proto"><c>TCP</c> or <c>UDP</c>.</param>
    /// <param name="remoteHost">Remote host, or null/empty.</param>
    /// <param name="intClient">Internal client address (empty when none).</param>
    /// <param name="intPort">Internal port.</param>
    /// <param name="desc">Description.</param>
    /// <param name="desclen">Size of the description buffer in bytes, 1 to 65536 (the description is cut to desclen-1 bytes).</param>
    /// <param name="enabled">"1" or "0".</param>
    /// <param name="leaseDuration">Remaining lease in seconds.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code (714: no such entry, …).</returns>
    public static int UPNP_GetSpecificPortMappingEntryExt(string? controlURL, string servicetype, string? extPort, string? proto, string? remoteHost,
        out string intClient, out string intPort, out string desc, int desclen, out string enabled, out string leaseDuration)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        ArgumentOutOfRangeException.ThrowIfLessThan(desclen, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(desclen, 65536);
        byte* client = stackalloc byte[AddressBuffer];
        byte* port = stackalloc byte[ShortBuffer];
        byte[] d = new byte[desclen];
        byte* en = stackalloc byte[ShortBuffer];
        byte* lease = stackalloc byte[AddressBuffer];
        int r;
        fixed (byte* dp = d)
        {
            r = NativeMethods.UPNP_GetSpecificPortMappingEntryExt(controlURL, servicetype, extPort, proto, remoteHost, client, port, dp, (nuint)desclen, en, lease);
        }
        intClient = NativeString.Read(client, AddressBuffer);
        intPort = NativeString.Read(port, ShortBuffer);
        desc = NativeString.Read(d);
        enabled = NativeString.Read(en, ShortBuffer);
        leaseDuration = NativeString.Read(lease, AddressBuffer);
        return r;
    }

    /// <summary>Reads the mapping at position <paramref name="index"/> (C <c>UPNP_GetGenericPortMappingEntry</c>).</summary>
    /// <param name="controlURL">The WAN connection service's control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="index">Position, from "0".</param>
    /// <param name="extPort">External port.</param>
    /// <param name="intClient">Internal client address.</param>
    /// <param name="intPort">Internal port.</param>
    /// <param name="protocol"><c>TCP</c> or <c>UDP</c>.</param>
    /// <param name="desc">Description (at most 79 bytes).</param>
    /// <param name="enabled">"1" or "0".</param>
    /// <param name="rHost">Remote host (at most 63 bytes).</param>
    /// <param name="duration">Remaining lease in seconds.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code (713: index out of range, …).</returns>
    public static int UPNP_GetGenericPortMappingEntry(string? controlURL, string servicetype, string? index,
        out string extPort, out string intClient, out string intPort, out string protocol, out string desc,
        out string enabled, out string rHost, out string duration)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        byte* ep = stackalloc byte[ShortBuffer];
        byte* client = stackalloc byte[AddressBuffer];
        byte* ip = stackalloc byte[ShortBuffer];
        byte* proto = stackalloc byte[ShortBuffer];
        byte* d = stackalloc byte[DescriptionBuffer];
        byte* en = stackalloc byte[ShortBuffer];
        byte* rh = stackalloc byte[AddressBuffer];
        byte* dur = stackalloc byte[AddressBuffer];
        int r = NativeMethods.UPNP_GetGenericPortMappingEntry(controlURL, servicetype, index, ep, client, ip, proto, d, en, rh, dur);
        extPort = NativeString.Read(ep, ShortBuffer);
        intClient = NativeString.Read(client, AddressBuffer);
        intPort = NativeString.Read(ip, ShortBuffer);
        protocol = NativeString.Read(proto, ShortBuffer);
        desc = NativeString.Read(d, DescriptionBuffer);
        enabled = NativeString.Read(en, ShortBuffer);
        rHost = NativeString.Read(rh, AddressBuffer);
        duration = NativeString.Read(dur, AddressBuffer);
        return r;
    }

    /// <summary>Like <see cref="UPNP_GetGenericPortMappingEntry"/> with description and remote-host buffers of the given sizes
    /// (C <c>UPNP_GetGenericPortMappingEntryExt</c>, API 21).</summary>
    /// <param name="controlURL">The WAN connection service's control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="index">Position, from "0".</param>
    /// <param name="extPort">External port.</param>
    /// <param name="intClient">Internal client address.</param>
    /// <param name="intPort">Internal port.</param>
    /// <param name="protocol"><c>TCP</c> or <c>UDP</c>.</param>
    /// <param name="desc">Description.</param>
    /// <param name="desclen">Size of the description buffer, 1 to 65536.</param>
    /// <param name="enabled">"1" or "0".</param>
    /// <param name="rHost">Remote host.</param>
    /// <param name="rHostlen">Size of the remote-host buffer, 1 to 65536.</param>
    /// <param name="duration">Remaining lease in seconds.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code (713: index out of range, …).</returns>
    public static int UPNP_GetGenericPortMappingEntryExt(string? controlURL, string servicetype, string? index,
        out string extPort, out string intClient, out string intPort, out string protocol, out string desc, int desclen,
        out string enabled, out string rHost, int rHostlen, out string duration)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        ArgumentOutOfRangeException.ThrowIfLessThan(desclen, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(desclen, 65536);
        ArgumentOutOfRangeException.ThrowIfLessThan(rHostlen, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rHostlen, 65536);
        byte* ep = stackalloc byte[ShortBuffer];
        byte* client = stackalloc byte[AddressBuffer];
        byte* ip = stackalloc byte[ShortBuffer];
        byte* proto = stackalloc byte[ShortBuffer];
        byte[] d = new byte[desclen];
        byte* en = stackalloc byte[ShortBuffer];
        byte[] rh = new byte[rHostlen];
        byte* dur = stackalloc byte[AddressBuffer];
        int r;
        fixed (byte* dp = d)
        fixed (byte* rp = rh)
        {
            r = NativeMethods.UPNP_GetGenericPortMappingEntryExt(controlURL, servicetype, index, ep, client, ip, proto,
                dp, (nuint)desclen, en, rp, (nuint)rHostlen, dur);
        }
        extPort = NativeString.Read(ep, ShortBuffer);
        intClient = NativeString.Read(client, AddressBuffer);
        intPort = NativeString.Read(ip, ShortBuffer);
        protocol = NativeString.Read(proto, ShortBuffer);
        desc = NativeString.Read(d);
        enabled = NativeString.Read(en, ShortBuffer);
        rHost = NativeString.Read(rh);
        duration = NativeString.Read(dur, AddressBuffer);
        return r;
    }

    /// <summary>Lists the mappings of a port range in one call (C <c>UPNP_GetListOfPortMappings</c>, IGDv2).</summary>
    /// <param name="controlURL">The WAN connection service's control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="startPort">First port.</param>
    /// <param name="endPort">Last port.</param>
    /// <param name="protocol"><c>TCP</c> or <c>UDP</c>.</param>
    /// <param name="numberOfPorts">Most entries to return; "0" for as many as the IGD allows.</param>
    /// <param name="data">Receives the entries (earlier entries are freed first).</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code (730: none in range, …).</returns>
    public static int UPNP_GetListOfPortMappings(string? controlURL, string servicetype, string? startPort, string? endPort,
        string? protocol, string? numberOfPorts, SafePortListingHandle data)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        ArgumentNullException.ThrowIfNull(data);
        data.FreeList();
        return NativeMethods.UPNP_GetListOfPortMappings(controlURL, servicetype, startPort, endPort, protocol, numberOfPorts, data);
    }

    // ---------------------------------------------------------------- IPv6 firewall (WANIPv6FirewallControl)

    /// <summary>Whether the IPv6 firewall is on and allows inbound pinholes (C <c>UPNP_GetFirewallStatus</c>).</summary>
    /// <param name="controlURL">The WANIPv6FirewallControl control URL (<c>urls.controlURL_6FC</c>).</param>
    /// <param name="servicetype">Its service type (<c>data.IPv6FC.servicetype</c>).</param>
    /// <param name="firewallEnabled">0 or 1.</param>
    /// <param name="inboundPinholeAllowed">0 or 1.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code.</returns>
    public static int UPNP_GetFirewallStatus(string? controlURL, string servicetype, out int firewallEnabled, out int inboundPinholeAllowed)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        int f = 0, a = 0;
        int r = NativeMethods.UPNP_GetFirewallStatus(controlURL, servicetype, &f, &a);
        firewallEnabled = f;
        inboundPinholeAllowed = a;
        return r;
    }

    /// <summary>Lifetime of an automatic outbound pinhole (C <c>UPNP_GetOutboundPinholeTimeout</c>).</summary>
    /// <param name="controlURL">The WANIPv6FirewallControl control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="remoteHost">Remote host.</param>
    /// <param name="remotePort">Remote port.</param>
    /// <param name="intClient">Internal client.</param>
    /// <param name="intPort">Internal port.</param>
    /// <param name="proto">Protocol number as text ("6" TCP, "17" UDP).</param>
    /// <param name="opTimeout">Seconds.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code.</returns>
    public static int UPNP_GetOutboundPinholeTimeout(string? controlURL, string servicetype, string? remoteHost, string? remotePort,
        string? intClient, string? intPort, string? proto, out int opTimeout)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        int t = 0;
        int r = NativeMethods.UPNP_GetOutboundPinholeTimeout(controlURL, servicetype, remoteHost, remotePort, intClient, intPort, proto, &t);
        opTimeout = t;
        return r;
    }

    /// <summary>Opens an IPv6 pinhole (C <c>UPNP_AddPinhole</c>).</summary>
    /// <param name="controlURL">The WANIPv6FirewallControl control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="remoteHost">Remote host ("" for any).</param>
    /// <param name="remotePort">Remote port ("0" for any).</param>
    /// <param name="intClient">Internal IPv6 address.</param>
    /// <param name="intPort">Internal port.</param>
    /// <param name="proto">Protocol number as text ("6" TCP, "17" UDP, "65535" any).</param>
    /// <param name="leaseTime">Lease in seconds, 1 to 86400.</param>
    /// <param name="uniqueID">The pinhole's id, for update and delete.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code.</returns>
    public static int UPNP_AddPinhole(string? controlURL, string servicetype, string? remoteHost, string? remotePort,
        string? intClient, string? intPort, string? proto, string? leaseTime, out string uniqueID)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        byte* id = stackalloc byte[ShortBuffer];
        int r = NativeMethods.UPNP_AddPinhole(controlURL, servicetype, remoteHost, remotePort, intClient, intPort, proto, leaseTime, id);
        uniqueID = NativeString.Read(id, ShortBuffer);
        return r;
    }

    /// <summary>Renews a pinhole's lease (C <c>UPNP_UpdatePinhole</c>).</summary>
    /// <param name="controlURL">The WANIPv6FirewallControl control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="uniqueID">The pinhole's id.</param>
    /// <param name="leaseTime">New lease in seconds.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code.</returns>
    public static int UPNP_UpdatePinhole(string? controlURL, string servicetype, string? uniqueID, string? leaseTime)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        return NativeMethods.UPNP_UpdatePinhole(controlURL, servicetype, uniqueID, leaseTime);
    }

    /// <summary>Closes a pinhole (C <c>UPNP_DeletePinhole</c>).</summary>
    /// <param name="controlURL">The WANIPv6FirewallControl control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="uniqueID">The pinhole's id.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code.</returns>
    public static int UPNP_DeletePinhole(string? controlURL, string servicetype, string? uniqueID)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        return NativeMethods.UPNP_DeletePinhole(controlURL, servicetype, uniqueID);
    }

    /// <summary>Whether traffic passes a pinhole (C <c>UPNP_CheckPinholeWorking</c>).</summary>
    /// <param name="controlURL">The WANIPv6FirewallControl control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="uniqueID">The pinhole's id.</param>
    /// <param name="isWorking">0 or 1.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code.</returns>
    public static int UPNP_CheckPinholeWorking(string? controlURL, string servicetype, string? uniqueID, out int isWorking)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        int w = 0;
        int r = NativeMethods.UPNP_CheckPinholeWorking(controlURL, servicetype, uniqueID, &w);
        isWorking = w;
        return r;
    }

    /// <summary>Packets that went through a pinhole (C <c>UPNP_GetPinholePackets</c>).</summary>
    /// <param name="controlURL">The WANIPv6FirewallControl control URL.</param>
    /// <param name="servicetype">Its service type.</param>
    /// <param name="uniqueID">The pinhole's id.</param>
    /// <param name="packets">The count.</param>
    /// <returns><see cref="UPNPCOMMAND_SUCCESS"/> or an error code.</returns>
    public static int UPNP_GetPinholePackets(string? controlURL, string servicetype, string? uniqueID, out int packets)
    {
        ArgumentNullException.ThrowIfNull(servicetype);
        int p = 0;
        int r = NativeMethods.UPNP_GetPinholePackets(controlURL, servicetype, uniqueID, &p);
        packets = p;
        return r;
    }
}
