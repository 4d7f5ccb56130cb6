using System;
using System.Net;

namespace MiniUpnp.Net;

/// <summary>How a <see cref="GatewayLease"/> keeps what it asked for: lease, renewal, checks and retries.</summary>
public abstract record GatewayLeaseOptions
{
    private protected GatewayLeaseOptions()
    {
    }

    /// <summary>The lease asked of the router (default 1 hour). The lease renews itself at half of it. Whole seconds
    /// (fractions round up), from 2 s (the router's expiry check has a one-second grain) to 604800 s for a port mapping
    /// and 86400 s for a pinhole. A port mapping also takes <see cref="TimeSpan.Zero"/>: a permanent mapping (miniupnpd
    /// turns it into one week), removed on dispose like any other.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How often the lease reads its entry back from the router to notice a loss (a router restart, another
    /// host taking the port, a changed external address). Default 1 minute; each check is one or two SOAP calls.</summary>
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The first wait after a failed renewal or restore (default 1 s); it doubles on every further failure.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between retries (default 1 minute).</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long <see cref="GatewayLease.DisposeAsync"/> may take, at most (default 10 s): waiting for a
    /// native call still running, then removing the entry.</summary>
    public TimeSpan DisposeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// True (the default): when the router does not answer at its description URL while the lease restores its entry,
    /// search for it again with SSDP (at most 2 s per attempt) and move to it: many routers serve on another HTTP port, or another address,
    /// after a reboot. Only the same device is taken: the same host on another port, or, at another address, a device
    /// answering with an SSDP uuid it answered with before (known when the gateway was discovered, not reopened from a
    /// URL). False: keep asking the old URL.
    /// </summary>
    public bool RediscoverWhenUnreachable { get; init; } = true;

    private protected void ValidateTiming(TimeSpan maxLease, bool allowPermanent)
    {
        if (LeaseDuration < TimeSpan.Zero || LeaseDuration > maxLease
            || (LeaseDuration < TimeSpan.FromSeconds(2) && !(allowPermanent && LeaseDuration == TimeSpan.Zero)))
        {
            throw new ArgumentOutOfRangeException(nameof(LeaseDuration), LeaseDuration,
                $"The lease must be {(allowPermanent ? "0 (permanent) or " : "")}from 2 s to {maxLease.TotalSeconds:0} s.");
        }
        var day = TimeSpan.FromDays(1);
        Check.Positive(CheckInterval, day, nameof(CheckInterval));
        Check.Positive(RetryDelay, day, nameof(RetryDelay));
        Check.Positive(MaxRetryDelay, day, nameof(MaxRetryDelay));
        Check.Positive(DisposeTimeout, TimeSpan.FromMinutes(5), nameof(DisposeTimeout));
        if (MaxRetryDelay < RetryDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRetryDelay), MaxRetryDelay, "MaxRetryDelay must not be below RetryDelay.");
        }
    }
}

/// <summary>What a <see cref="PortMappingLease"/> maps, and how it keeps it.</summary>
public sealed record PortMappingLeaseOptions : GatewayLeaseOptions
{
    /// <summary>Maps <paramref name="internalPort"/> of this host for <paramref name="protocol"/>.</summary>
    /// <param name="protocol">TCP or UDP.</param>
    /// <param name="internalPort">The local port to make reachable, 1–65535.</param>
    public PortMappingLeaseOptions(PortMappingProtocol protocol, int internalPort)
    {
        Protocol = protocol;
        InternalPort = internalPort;
    }

    /// <summary>TCP or UDP.</summary>
    public PortMappingProtocol Protocol { get; }

    /// <summary>The local port to make reachable.</summary>
    public int InternalPort { get; }

    /// <summary>The external port wanted, 1–65535, or 0 (the default) for the same as <see cref="InternalPort"/>.
    /// When it is taken, the lease takes another (see <see cref="PortMappingLease.ExternalPort"/>).</summary>
    public int ExternalPort { get; init; }

    /// <summary>The LAN host to forward to (IPv4), or null (the default) for the gateway's
    /// <see cref="UpnpGateway.LocalAddress"/>.</summary>
    public IPAddress? InternalClient { get; init; }

    /// <summary>The mapping's description (default "MiniUpnp.Net"). It is also the tag
    /// <see cref="SweepStaleMappings"/> recognises: give each application its own.</summary>
    public string Description { get; init; } = "MiniUpnp.Net";

    /// <summary>How many external ports to try when the router has no AddAnyPortMapping and the one asked for is
    /// taken (default 8: the one asked for, then random ports from 49152 to 65535).</summary>
    public int MaxPortAttempts { get; init; } = 8;

    /// <summary>Use IGDv2's AddAnyPortMapping where the router has it (default true): the router picks a free external
    /// port in one call when the one asked for is taken.</summary>
    public bool PreferAddAnyPortMapping { get; init; } = true;

    /// <summary>
    /// Opt-in: before mapping, remove the mappings a previous run of this application left behind (a crash, a
    /// killed process): every mapping to this internal client whose description equals <see cref="Description"/>.
    /// Two instances of the application on one host with the same description would remove each other's mappings.
    /// </summary>
    public bool SweepStaleMappings { get; init; }

    internal void Validate()
    {
        Check.Protocol(Protocol, nameof(Protocol));
        Check.Port(InternalPort, nameof(InternalPort));
        if (ExternalPort != 0)
        {
            Check.Port(ExternalPort, nameof(ExternalPort));
        }
        Check.IPv4(InternalClient, nameof(InternalClient));
        Check.Description(Description, nameof(Description));
        if (MaxPortAttempts is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPortAttempts), MaxPortAttempts, "MaxPortAttempts must be from 1 to 64.");
        }
        ValidateTiming(Check.MaxLease, allowPermanent: true);
    }
}

/// <summary>What a <see cref="PinholeLease"/> opens, and how it keeps it.</summary>
public sealed record PinholeLeaseOptions : GatewayLeaseOptions
{
    /// <summary>Opens inbound IPv6 traffic to <paramref name="internalPort"/> of this host.</summary>
    /// <param name="protocol">TCP, UDP, or null for any protocol.</param>
    /// <param name="internalPort">The local port, 1–65535 (miniupnpd refuses ports below 1024).</param>
    public PinholeLeaseOptions(PortMappingProtocol? protocol, int internalPort)
    {
        Protocol = protocol;
        InternalPort = internalPort;
    }

    /// <summary>TCP, UDP, or null for any protocol.</summary>
    public PortMappingProtocol? Protocol { get; }

    /// <summary>The local port.</summary>
    public int InternalPort { get; }

    /// <summary>The internal IPv6 host, or null (the default) for the gateway's <see cref="UpnpGateway.LocalAddress"/>
    /// (which is IPv6 when the gateway was opened from its IPv6 description URL).</summary>
    public IPAddress? InternalClient { get; init; }

    /// <summary>The only remote IPv6 host allowed, or null (the default) for any.</summary>
    public IPAddress? RemoteHost { get; init; }

    /// <summary>The only remote port allowed, or 0 (the default) for any.</summary>
    public int RemotePort { get; init; }

    internal void Validate()
    {
        if (Protocol is not null)
        {
            Check.Protocol(Protocol.Value, nameof(Protocol));
        }
        Check.Port(InternalPort, nameof(InternalPort));
        Check.IPv6(InternalClient, nameof(InternalClient));
        Check.IPv6(RemoteHost, nameof(RemoteHost));
        if (RemotePort is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(RemotePort), RemotePort, "The remote port must be 0 (any) to 65535.");
        }
        ValidateTiming(Check.MaxPinholeLease, allowPermanent: false);
    }
}
