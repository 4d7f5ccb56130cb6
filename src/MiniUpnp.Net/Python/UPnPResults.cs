
namespace MiniUpnp.Net.Python;

/// <summary>
/// Result of <see cref="UPnP.StatusInfo"/>: Python's <c>(status, uptime, lastconnerror)</c> tuple.
/// Deconstructs in the same order: <c>var (status, uptime, error) = upnp.StatusInfo();</c>
/// </summary>
/// <param name="Status">Connection status (<c>Connected</c>, …).</param>
/// <param name="Uptime">Seconds since the connection came up.</param>
/// <param name="LastConnectionError">Last connection error (<c>ERROR_NONE</c>, …).</param>
public sealed record StatusInfoResult(string Status, uint Uptime, string LastConnectionError);

/// <summary>
/// Result of <see cref="UPnP.GetSpecificPortMapping"/>: Python's <c>(intClient, iPort, desc, enabled, leaseDuration)</c>.
/// </summary>
/// <param name="InternalClient">Internal client address.</param>
/// <param name="InternalPort">Internal port.</param>
/// <param name="Description">Description.</param>
/// <param name="Enabled">Whether the mapping is enabled.</param>
/// <param name="LeaseDuration">Remaining lease in seconds (0: permanent).</param>
public sealed record SpecificPortMapping(string InternalClient, ushort InternalPort, string Description, bool Enabled, int LeaseDuration);

/// <summary>
/// Result of <see cref="UPnP.GetGenericPortMapping"/>: Python's
/// <c>(ePort, protocol, (intClient, iPort), desc, enabled, rHost, duration)</c>, nested tuple included:
/// <c>var (port, proto, (client, iport), desc, enabled, rhost, lease) = entry;</c>
/// </summary>
/// <param name="ExternalPort">External port.</param>
/// <param name="Protocol"><c>TCP</c> or <c>UDP</c>.</param>
/// <param name="Internal">Internal client address and port.</param>
/// <param name="Description">Description.</param>
/// <param name="Enabled"><c>"1"</c> or <c>"0"</c>: a string, as in Python.</param>
/// <param name="RemoteHost">Remote host, empty for any.</param>
/// <param name="LeaseDuration">Remaining lease in seconds.</param>
public sealed record GenericPortMapping(
    ushort ExternalPort,
    string Protocol,
    (string InternalClient, ushort InternalPort) Internal,
    string Description,
    string Enabled,
    string RemoteHost,
    uint LeaseDuration);
