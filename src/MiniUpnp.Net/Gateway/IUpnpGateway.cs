using System;
using System.Collections.Generic;
using System.Net;
using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net;

/// <summary>
/// What an application does with a home router's port mappings: the seam to fake the router in the application's own
/// tests. <see cref="UpnpGateway"/> is the real one; pinholes, ranges and the listing method are on it alone.
/// </summary>
/// <example>
/// <code>
/// static async Task&lt;IPEndPoint?&gt; OpenAsync(IUpnpGateway gateway) // UpnpGateway in the app, a fake in its tests
/// {
///     await using var lease = await gateway.LeaseMappingAsync(new PortMappingLeaseOptions(PortMappingProtocol.Tcp, 6881));
///     return lease.ExternalEndPoint;
/// }
/// </code>
/// </example>
public interface IUpnpGateway
{
    /// <summary>The root description's URL: remember it to reopen the gateway later without SSDP.</summary>
    Uri RootDescriptionUrl { get; }

    /// <summary>Our own address on the connection to the router: the default internal client of a mapping.</summary>
    IPAddress LocalAddress { get; }

    /// <summary>The router's external (public) IPv4 address.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The address.</returns>
    Task<IPAddress> GetExternalAddressAsync(CancellationToken cancellationToken = default);

    /// <summary>The WAN connection's status, uptime and last error.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The status.</returns>
    Task<GatewayStatus> GetStatusAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds (or, for the same client, updates) a port mapping.</summary>
    /// <param name="request">What to map.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the router accepted the mapping.</returns>
    Task AddMappingAsync(PortMappingRequest request, CancellationToken cancellationToken = default);

    /// <summary>Adds a port mapping, letting the router choose another external port when the one asked for is taken.</summary>
    /// <param name="request">What to map.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The external port the router reserved.</returns>
    Task<int> AddAnyMappingAsync(PortMappingRequest request, CancellationToken cancellationToken = default);

    /// <summary>Deletes a port mapping.</summary>
    /// <param name="protocol">TCP or UDP.</param>
    /// <param name="externalPort">External port, 1–65535.</param>
    /// <param name="remoteHost">The remote host the mapping was added with (IPv4); null for any.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the router answered success.</returns>
    Task DeleteMappingAsync(PortMappingProtocol protocol, int externalPort, IPAddress? remoteHost = null, CancellationToken cancellationToken = default);

    /// <summary>The mapping of one external port, or null when there is none.</summary>
    /// <param name="protocol">TCP or UDP.</param>
    /// <param name="externalPort">External port, 1–65535.</param>
    /// <param name="remoteHost">The remote host the mapping was added with (IPv4); null for any.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The entry, or null.</returns>
    Task<PortMappingEntry?> GetMappingAsync(PortMappingProtocol protocol, int externalPort, IPAddress? remoteHost = null,
        CancellationToken cancellationToken = default);

    /// <summary>Every port mapping of the router.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The entries.</returns>
    Task<IReadOnlyList<PortMappingEntry>> ListMappingsAsync(CancellationToken cancellationToken = default);

    /// <summary>Maps a port and keeps it mapped until disposed.</summary>
    /// <param name="options">What to map and how to keep it.</param>
    /// <param name="cancellationToken">Stops the initial mapping.</param>
    /// <returns>The running lease.</returns>
    Task<IPortMappingLease> LeaseMappingAsync(PortMappingLeaseOptions options, CancellationToken cancellationToken = default);
}

/// <summary>
/// A port mapping kept on the router until disposed: the seam to fake it in an application's own tests.
/// <see cref="PortMappingLease"/> is the real one.
/// </summary>
public interface IPortMappingLease : IAsyncDisposable
{
    /// <summary>Raised when the external endpoint changes.</summary>
    event EventHandler<GatewayLeaseEventArgs>? Changed;

    /// <summary>Raised when the mapping is found gone or taken, or the router unreachable.</summary>
    event EventHandler<GatewayLeaseEventArgs>? Lost;

    /// <summary>Raised when a lost mapping is back on the router.</summary>
    event EventHandler<GatewayLeaseEventArgs>? Restored;

    /// <summary>Where the lease stands.</summary>
    GatewayLeaseStatus Status { get; }

    /// <summary>TCP or UDP.</summary>
    PortMappingProtocol Protocol { get; }

    /// <summary>The local port made reachable.</summary>
    int InternalPort { get; }

    /// <summary>The external port the router gave.</summary>
    int ExternalPort { get; }

    /// <summary>Where peers on the Internet reach the service (address 0.0.0.0 when the router would not say it).</summary>
    IPEndPoint? ExternalEndPoint { get; }

    /// <summary>The lease the router granted; <see cref="TimeSpan.Zero"/> for a permanent mapping.</summary>
    TimeSpan GrantedLease { get; }

    /// <summary>The last failure (a renewal, check, restore or the final removal), or null.</summary>
    Exception? LastError { get; }
}
