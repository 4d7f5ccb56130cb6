using System;
using System.Net;

namespace MiniUpnp.Net;

/// <summary>
/// What miniupnpc's <c>UPNP_GetValidIGD</c> would say about a gateway: values 1 to 4 are its <c>UPNP_*_IGD</c> codes,
/// derived the same way (the WAN connection's status, then its external address checked against miniupnpc's list
/// of reserved blocks).
/// </summary>
public enum GatewayState
{
    /// <summary>Not checked: the gateway was opened from a remembered URL, which costs one description fetch and
    /// nothing more. <see cref="UpnpGateway.CheckStateAsync"/> finds the real state.</summary>
    NotChecked = 0,

    /// <summary>A valid IGD whose WAN connection is up with a public external address (<c>UPNP_CONNECTED_IGD</c>).</summary>
    Connected = 1,

    /// <summary>A valid IGD whose WAN connection is up, but its external address is private, carrier-grade NAT
    /// (100.64.0.0/10) or otherwise reserved, or could not be read (<c>UPNP_PRIVATEIP_IGD</c>). Mapping works; the
    /// mapped port is reachable only from the network that address belongs to.</summary>
    ConnectedWithReservedAddress = 2,

    /// <summary>A valid IGD whose WAN connection is not up (<c>UPNP_DISCONNECTED_IGD</c>).</summary>
    NotConnected = 3,

    /// <summary>A UPnP device that is not recognised as an IGD (<c>UPNP_UNKNOWN_DEVICE</c>): its description has no
    /// WANCommonInterfaceConfig service.</summary>
    UnrecognizedDevice = 4,
}

/// <summary>How <see cref="UpnpGateway.ListMappingsAsync(PortMappingListMethod, System.Threading.CancellationToken)"/> reads the mappings.</summary>
public enum PortMappingListMethod
{
    /// <summary>In bulk where the router has it (IGDv2), else entry by entry.</summary>
    Automatic = 0,

    /// <summary>IGDv2 <c>GetListOfPortMappings</c>: one call per protocol (and per 1000 entries).</summary>
    Bulk = 1,

    /// <summary><c>GetGenericPortMappingEntry</c> for index 0, 1, … until the router says there is no more: one call
    /// per mapping, every IGD has it.</summary>
    EntryByEntry = 2,
}

/// <summary>One port mapping as the router reports it.</summary>
/// <param name="Protocol">TCP or UDP.</param>
/// <param name="ExternalPort">External port, 1–65535.</param>
/// <param name="InternalClient">The LAN host the port is forwarded to.</param>
/// <param name="InternalPort">Port on that host, 1–65535.</param>
/// <param name="Description">The description given when the mapping was added.</param>
/// <param name="Enabled">Whether the router says the mapping is enabled.</param>
/// <param name="RemoteHost">The only remote host allowed to use the mapping, or null for any.</param>
/// <param name="LeaseDuration">Remaining lease; <see cref="TimeSpan.Zero"/> for a permanent mapping.</param>
public sealed record PortMappingEntry(
    PortMappingProtocol Protocol,
    int ExternalPort,
    IPAddress InternalClient,
    int InternalPort,
    string Description,
    bool Enabled,
    IPAddress? RemoteHost,
    TimeSpan LeaseDuration)
{
    /// <summary>True when the router reports no expiry (a lease of 0).</summary>
    public bool IsPermanent => LeaseDuration == TimeSpan.Zero;
}

/// <summary>The WAN connection's status (<c>GetStatusInfo</c>).</summary>
/// <param name="ConnectionStatus"><c>Connected</c>, <c>Disconnected</c>, <c>Connecting</c>, … as the router says it.</param>
/// <param name="Uptime">Time since the connection came up.</param>
/// <param name="LastConnectionError"><c>ERROR_NONE</c>, … as the router says it.</param>
public sealed record GatewayStatus(string ConnectionStatus, TimeSpan Uptime, string LastConnectionError)
{
    /// <summary>True for <c>Connected</c> (and <c>Up</c>, which miniupnpc also accepts).</summary>
    public bool IsConnected => IgdProbe.IsConnectedStatus(ConnectionStatus);
}

/// <summary>The IPv6 firewall's status (<c>GetFirewallStatus</c>).</summary>
/// <param name="IsEnabled">Whether the IPv6 firewall is on.</param>
/// <param name="InboundPinholeAllowed">Whether the router accepts inbound pinholes.</param>
public sealed record FirewallStatus(bool IsEnabled, bool InboundPinholeAllowed);
