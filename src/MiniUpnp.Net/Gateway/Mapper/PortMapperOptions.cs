using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MiniUpnp.Net;

/// <summary>A way to ask a router for a port mapping.</summary>
public enum PortMappingMethod
{
    /// <summary>PCP (RFC 6887), in managed code: <see cref="PcpClient"/>.</summary>
    Pcp = 1,

    /// <summary>NAT-PMP (RFC 6886), through libnatpmp: <see cref="NatpmpClient"/>.</summary>
    Natpmp = 2,

    /// <summary>UPnP IGD, through miniupnpc: <see cref="UpnpGateway"/>.</summary>
    Upnp = 3,
}

/// <summary>How <see cref="PortMapper.DiscoverAsync"/> races the three protocols, and how its leases keep their
/// mappings. The defaults suit a home network.</summary>
public sealed record PortMapperOptions
{
    private readonly IReadOnlyList<PortMappingMethod> _methods = new[] { PortMappingMethod.Pcp, PortMappingMethod.Natpmp, PortMappingMethod.Upnp };

    /// <summary>The router to ask, or null (the default) for this host's first IPv4 default gateway. UPnP still finds
    /// its gateway with SSDP (multicast, and unicast to the default gateway).</summary>
    public IPAddress? Gateway { get; init; }

    /// <summary>The protocols to try, most preferred first (default PCP, NAT-PMP, UPnP: the order of Tailscale's port
    /// mapper; PCP and NAT-PMP answer in one round trip, UPnP needs SSDP and HTTP). Each at most once.</summary>
    /// <exception cref="ArgumentException">Empty, a repeated or unknown value.</exception>
    public IReadOnlyList<PortMappingMethod> Methods
    {
        get => _methods;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Count == 0 || value.Distinct().Count() != value.Count || value.Any(m => !Enum.IsDefined(m)))
            {
                throw new ArgumentException("Methods must name PCP, NAT-PMP or UPnP, each at most once, at least one.", nameof(Methods));
            }
            _methods = value.ToArray();
        }
    }

    /// <summary>
    /// How long the race waits for a more preferred protocol once a less preferred one has answered (default 250 ms, as
    /// Tailscale's). A router that answers PCP ends the race at PCP's answer; one that refuses PCP at once (NAT-PMP
    /// only, or an ICMP port unreachable) ends it at the next answer.
    /// </summary>
    public TimeSpan ProbeWindow { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The most the race waits for any answer (default 2 s, UPnP's discovery time).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long each later request to the router waits (default 10 s).</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Warm start: a <see cref="PortMapper.Remembered"/> value from an earlier run. The remembered protocol is asked
    /// first, alone (one round trip, one description fetch for UPnP); when it does not answer within
    /// <see cref="Timeout"/>, or its router is no longer this host's default gateway, the race runs as usual. Null (the
    /// default): race straight away.
    /// </summary>
    public string? Remembered { get; init; }

    /// <summary>How long the protocol a lease uses may keep failing before the lease races the protocols again and moves
    /// to one that answers (default 30 s). A router restart that lasts less keeps the lease where it is.</summary>
    public TimeSpan FailoverAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Where the race's decision and the leases' renewals, losses, restorations and moves are logged (null, the
    /// default: nowhere).</summary>
    public ILogger? Logger { get; init; }

    internal ILogger Log => Logger ?? NullLogger.Instance;

    internal void Validate()
    {
        var day = TimeSpan.FromDays(1);
        Check.Positive(ProbeWindow, day, nameof(ProbeWindow));
        Check.Positive(Timeout, day, nameof(Timeout));
        Check.Positive(OperationTimeout, day, nameof(OperationTimeout));
        Check.Positive(FailoverAfter, day, nameof(FailoverAfter));
        if (Gateway is not null && (Gateway.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || !StunClient.IsUnicast(Gateway)))
        {
            throw new ArgumentException("The gateway must be a unicast IPv4 address (the router's LAN address).", nameof(Gateway));
        }
    }
}
