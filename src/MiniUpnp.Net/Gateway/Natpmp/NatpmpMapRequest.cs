using System;
using System.Net;

namespace MiniUpnp.Net;

/// <summary>A mapping to ask a NAT-PMP gateway for with <see cref="NatpmpClient.MapAsync"/>: this host's
/// <see cref="InternalPort"/>, reachable from outside on the external port the gateway assigns.</summary>
/// <param name="Protocol">TCP or UDP.</param>
/// <param name="InternalPort">The port on this host, 1–65535.</param>
public sealed record NatpmpMapRequest(PortMappingProtocol Protocol, int InternalPort)
{
    /// <summary>The external port suggested, 1–65535, or 0 (the default) for no suggestion. The gateway may assign another.</summary>
    public int ExternalPort { get; init; }

    /// <summary>The lifetime asked for (default 2 hours, RFC 6886's recommendation): whole seconds, fractions rounded up,
    /// 1 s to <see cref="NatpmpClient.MaxLifetime"/>. The gateway picks the lifetime it grants.</summary>
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromHours(2);
}

/// <summary>A mapping a NAT-PMP gateway granted (<see cref="NatpmpClient.MapAsync"/>, <see cref="NatpmpClient.RenewAsync"/>).
/// NAT-PMP maps to the address the request came from: this host's.</summary>
public sealed class NatpmpMapping
{
    internal NatpmpMapping(NatpmpMapRequest request, int externalPort, TimeSpan lifetime, uint epoch, bool serverStateLost)
    {
        Request = request;
        ExternalPort = externalPort;
        Lifetime = lifetime;
        Epoch = epoch;
        ServerStateLost = serverStateLost;
    }

    /// <summary>What was asked for (a renewal asks for the same lifetime).</summary>
    public NatpmpMapRequest Request { get; }

    /// <summary>TCP or UDP.</summary>
    public PortMappingProtocol Protocol => Request.Protocol;

    /// <summary>The port on this host.</summary>
    public int InternalPort => Request.InternalPort;

    /// <summary>The external port the gateway assigned (its public address: <see cref="NatpmpClient.GetPublicAddressAsync"/>).</summary>
    public int ExternalPort { get; }

    /// <summary>The lifetime granted, capped at <see cref="NatpmpClient.MaxLifetime"/>; renew before it ends (RFC 6886
    /// §3.3.1 suggests at half).</summary>
    public TimeSpan Lifetime { get; }

    /// <summary>The gateway's epoch (seconds since its mapping table began) in this answer.</summary>
    public uint Epoch { get; }

    /// <summary>True when this answer's epoch showed that the gateway lost its mappings since this client's previous
    /// answer from it: other mappings made through it are gone and must be created again.</summary>
    public bool ServerStateLost { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Protocol.ToWire()} external port {ExternalPort} -> {InternalPort}, {Lifetime.TotalSeconds:0} s, epoch {Epoch}";
}

/// <summary>A NAT-PMP gateway's answer to a public address request (<see cref="NatpmpClient.GetPublicAddressAsync"/>).</summary>
public sealed class NatpmpPublicAddress
{
    internal NatpmpPublicAddress(IPAddress address, uint epoch, bool serverStateLost)
    {
        Address = address;
        Epoch = epoch;
        ServerStateLost = serverStateLost;
    }

    /// <summary>The gateway's public IPv4 address (0.0.0.0 when it has none yet, RFC 6886 §3.2).</summary>
    public IPAddress Address { get; }

    /// <summary>The gateway's epoch (seconds since its mapping table began).</summary>
    public uint Epoch { get; }

    /// <summary>True when the epoch showed that the gateway lost its mappings since this client's previous answer from it.</summary>
    public bool ServerStateLost { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Address}, epoch {Epoch}";
}
