namespace MiniUpnp.Net;

/// <summary>Whether the Internet can reach a port mapping, as far as the evidence goes (<see cref="ReachabilityReport"/>).</summary>
public enum ReachabilityVerdict
{
    /// <summary>Verified: a connection from outside, made as the application asked
    /// (<see cref="ReachabilityOptions.Verify"/>), reached the mapped port.</summary>
    Reachable = 0,

    /// <summary>The router maps the port and nothing seen contradicts reachability, but nothing proved it either.</summary>
    MappedNotVerified = 1,

    /// <summary>Evidence says no: the connection from outside did not arrive, or the router no longer has the mapping.</summary>
    NotReachable = 2,

    /// <summary>Another router translates in front of this one: its external address is private, or differs from the one
    /// the Internet sees (STUN). A mapping on this router alone opens nothing.</summary>
    DoubleNat = 3,

    /// <summary>The router's external address is in 100.64.0.0/10: the ISP's carrier-grade NAT translates it again, and
    /// no mapping on the home router opens anything.</summary>
    CarrierGradeNat = 4,

    /// <summary>No router answered PCP, NAT-PMP or UPnP-IGD.</summary>
    NoGateway = 5,

    /// <summary>The router refused the mapping (<see cref="ReachabilityReport.RefusalCode"/>).</summary>
    Refused = 6,
}
