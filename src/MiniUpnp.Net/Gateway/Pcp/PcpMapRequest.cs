using System;
using System.Net;

namespace MiniUpnp.Net;

/// <summary>
/// A mapping to ask a PCP server for with <see cref="PcpClient.MapAsync"/>: this host's <see cref="InternalPort"/>,
/// reachable from outside on the external port the server assigns.
/// </summary>
/// <param name="Protocol">TCP or UDP.</param>
/// <param name="InternalPort">The port on this host, 1–65535.</param>
public sealed record PcpMapRequest(PortMappingProtocol Protocol, int InternalPort)
{
    /// <summary>The external port suggested, 1–65535, or 0 (the default) for no suggestion. The server may assign another.</summary>
    public int ExternalPort { get; init; }

    /// <summary>The external address suggested, or null (the default) for none.</summary>
    public IPAddress? ExternalAddress { get; init; }

    /// <summary>The lifetime asked for (default 2 hours): whole seconds, fractions rounded up, 1 s to
    /// <see cref="PcpClient.MaxLifetime"/>. The server picks the lifetime it grants (miniupnpd: at least 120 s).</summary>
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromHours(2);
}

/// <summary>
/// A mapping a PCP server granted (<see cref="PcpClient.MapAsync"/>, <see cref="PcpClient.RenewAsync"/>). It carries the
/// mapping's nonce: renew and delete it through this object (or the one its renewal returned). miniupnpd refuses a
/// delete with another nonce (NOT_AUTHORIZED), and a MAP of the same internal port with another nonce takes the mapping
/// over: keep one nonce per mapping.
/// </summary>
public sealed class PcpMapping
{
    internal PcpMapping(PcpMapRequest request, byte[] nonce, IPAddress internalAddress, IPEndPoint externalEndPoint,
        TimeSpan lifetime, uint epoch, bool serverStateLost)
    {
        Request = request;
        Nonce = nonce;
        InternalAddress = internalAddress;
        ExternalEndPoint = externalEndPoint;
        Lifetime = lifetime;
        Epoch = epoch;
        ServerStateLost = serverStateLost;
    }

    /// <summary>What was asked for (a renewal asks for the same lifetime).</summary>
    public PcpMapRequest Request { get; }

    /// <summary>TCP or UDP.</summary>
    public PortMappingProtocol Protocol => Request.Protocol;

    /// <summary>The port on this host.</summary>
    public int InternalPort => Request.InternalPort;

    /// <summary>This host's address toward the server: the PCP client address the request carried, to which the server
    /// forwards.</summary>
    public IPAddress InternalAddress { get; }

    /// <summary>The external address and port the server assigned (an IPv4 address for an IPv4 mapping).</summary>
    public IPEndPoint ExternalEndPoint { get; }

    /// <summary>The lifetime granted, capped at <see cref="PcpClient.MaxLifetime"/>; renew before it ends (RFC 6887
    /// §11.2.1 suggests at half).</summary>
    public TimeSpan Lifetime { get; }

    /// <summary>The server's epoch (seconds since its state began) in this answer.</summary>
    public uint Epoch { get; }

    /// <summary>True when this answer's epoch showed that the server lost its state since this client's previous answer
    /// from it (RFC 6887 §8.5): other mappings made through it are gone and must be created again.</summary>
    public bool ServerStateLost { get; }

    /// <summary>The mapping's nonce (12 random bytes), kept for renewals and the delete.</summary>
    internal byte[] Nonce { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Protocol.ToWire()} {ExternalEndPoint} -> {InternalAddress}:{InternalPort}, {Lifetime.TotalSeconds:0} s, epoch {Epoch}";
}

/// <summary>A PCP server's answer to ANNOUNCE (<see cref="PcpClient.AnnounceAsync"/>): it speaks PCP, since when.</summary>
public sealed class PcpAnnouncement
{
    internal PcpAnnouncement(uint epoch, bool serverStateLost, IPAddress localAddress)
    {
        Epoch = epoch;
        ServerStateLost = serverStateLost;
        LocalAddress = localAddress;
    }

    /// <summary>The server's epoch (seconds since its state began).</summary>
    public uint Epoch { get; }

    /// <summary>True when the epoch showed that the server lost its state since this client's previous answer from it
    /// (RFC 6887 §8.5): the mappings made through it are gone and must be created again.</summary>
    public bool ServerStateLost { get; }

    /// <summary>This host's address toward the server (what a MAP request carries as the client address).</summary>
    public IPAddress LocalAddress { get; }
}
