using System;
using System.Net;

namespace MiniUpnp.Net;

/// <summary>
/// A port mapping to add with <see cref="UpnpGateway.AddMappingAsync"/> or <see cref="UpnpGateway.AddAnyMappingAsync"/>.
/// The local port is the constructor's; the external port is named (<see cref="ExternalPort"/>), so the two cannot be
/// swapped by accident (other libraries take them in the other order).
/// </summary>
/// <param name="Protocol">TCP or UDP.</param>
/// <param name="InternalPort">The port on the LAN host to forward to, 1–65535.</param>
/// <example><code>await gateway.AddMappingAsync(new PortMappingRequest(PortMappingProtocol.Tcp, 22) { ExternalPort = 12345 });</code></example>
public sealed record PortMappingRequest(PortMappingProtocol Protocol, int InternalPort)
{
    /// <summary>The external (public) port, 1–65535, or 0 (the default) for the same as <see cref="InternalPort"/>.</summary>
    public int ExternalPort { get; init; }

    /// <summary>The lease (default 1 hour): whole seconds (fractions round up), 0 to 604800 s; <see cref="TimeSpan.Zero"/>
    /// asks for a permanent mapping (miniupnpd turns it into one week). Nothing renews it: for a mapping kept for as long
    /// as the application runs, use <see cref="UpnpGateway.LeaseMappingAsync"/>.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The description (no NUL, &lt;, &gt; or &amp;; at most 256 UTF-8 bytes); null (the default) for "MiniUpnp.Net".</summary>
    public string? Description { get; init; }

    /// <summary>The LAN host to forward to (IPv4); null (the default) for the gateway's <see cref="UpnpGateway.LocalAddress"/>.</summary>
    public IPAddress? InternalClient { get; init; }

    /// <summary>The only remote host allowed (IPv4); null (the default) for any.</summary>
    public IPAddress? RemoteHost { get; init; }

    /// <summary>The external port asked for: <see cref="ExternalPort"/>, or <see cref="InternalPort"/> when it is 0.</summary>
    internal int EffectiveExternalPort => ExternalPort == 0 ? InternalPort : ExternalPort;
}
