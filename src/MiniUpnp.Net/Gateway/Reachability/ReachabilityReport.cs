using System;
using System.Collections.Generic;
using System.Net;
using System.Text;

namespace MiniUpnp.Net;

/// <summary>
/// The verdict on a gateway or a mapping (<see cref="ReachabilityCheck"/>), a hint a user can act on, and the evidence:
/// the external address the router reports and its class, the address STUN observes and whether the two agree, the
/// lease granted against the one requested, whether the router still has the mapping, and the end-to-end check.
/// Null means "not known": not asked, or not askable over the protocol in use.
/// </summary>
public sealed class ReachabilityReport
{
    private readonly List<string> _evidence = new();

    internal ReachabilityReport()
    {
    }

    /// <summary>The verdict.</summary>
    public ReachabilityVerdict Verdict { get; private set; }

    /// <summary>What a user can do about it, in a sentence or two.</summary>
    public string Hint { get; private set; } = "";

    /// <summary>The protocol the gateway maps ports with, or null when none answered.</summary>
    public PortMappingMethod? Method { get; internal set; }

    /// <summary>The gateway asked.</summary>
    public IPAddress? Gateway { get; internal set; }

    /// <summary>The external address the router reports.</summary>
    public IPAddress? RouterExternalAddress { get; internal set; }

    /// <summary>The class of <see cref="RouterExternalAddress"/>.</summary>
    public NetworkAddressClass? RouterAddressClass => RouterExternalAddress is null ? null : NetworkAddressClassifier.Classify(RouterExternalAddress);

    /// <summary>The STUN server that answered.</summary>
    public IPEndPoint? StunServer { get; internal set; }

    /// <summary>The address and port the STUN server saw this host's query come from.</summary>
    public IPEndPoint? StunObserved { get; internal set; }

    /// <summary>Whether the address STUN saw is the one the router reports (null: either unknown, or of another address
    /// family: an IPv6 STUN server says nothing about an IPv4 NAT).</summary>
    public bool? StunAgrees
    {
        get
        {
            if (StunObserved is null || RouterExternalAddress is null)
            {
                return null;
            }
            var seen = StunObserved.Address.IsIPv4MappedToIPv6 ? StunObserved.Address.MapToIPv4() : StunObserved.Address;
            var router = RouterExternalAddress.IsIPv4MappedToIPv6 ? RouterExternalAddress.MapToIPv4() : RouterExternalAddress;
            return seen.AddressFamily != router.AddressFamily ? null : seen.Equals(router);
        }
    }

    /// <summary>The mapping checked: its external endpoint, as the router granted it.</summary>
    public IPEndPoint? ExternalEndPoint { get; internal set; }

    /// <summary>The mapping's protocol, when a mapping was checked.</summary>
    public PortMappingProtocol? Protocol { get; internal set; }

    /// <summary>The mapping's internal port.</summary>
    public int? InternalPort { get; internal set; }

    /// <summary>The lease asked for.</summary>
    public TimeSpan? LeaseRequested { get; internal set; }

    /// <summary>The lease the router granted (routers shorten long leases: NAT-PMP and PCP servers cap them, some UPnP
    /// routers turn a permanent one into a week).</summary>
    public TimeSpan? LeaseGranted { get; internal set; }

    /// <summary>Whether the router still lists the mapping, read back through UPnP (null: not readable over PCP or
    /// NAT-PMP, whose renewal would create it again).</summary>
    public bool? MappingPresent { get; internal set; }

    /// <summary>Whether the lease checked had lost its mapping (<see cref="GatewayLeaseStatus.Lost"/>: it keeps trying to
    /// restore it); null when no lease was checked.</summary>
    public bool? LeaseLost { get; internal set; }

    /// <summary>The end-to-end check's result (null: the application gave no <see cref="ReachabilityOptions.Verify"/>).</summary>
    public bool? Verified { get; internal set; }

    /// <summary>The protocol's code for a refusal: a UPnP error code, a PCP result code, a libnatpmp error.</summary>
    public int? RefusalCode { get; internal set; }

    /// <summary>The refusal's text, as the native library or the protocol names it.</summary>
    public string? RefusalText { get; internal set; }

    /// <summary>What was seen, one line per fact, in the order it was gathered.</summary>
    public IReadOnlyList<string> Evidence => _evidence;

    internal void Note(string line) => _evidence.Add(line);

    /// <summary>Decides the verdict from the facts gathered: evidence first (a refusal, the end-to-end check, the
    /// read-back), then what the addresses explain, and never "reachable" without the end-to-end check.</summary>
    internal ReachabilityReport Decide(bool gatewayOnly)
    {
        (Verdict, Hint) = Judge(gatewayOnly);
        return this;
    }

    private (ReachabilityVerdict, string) Judge(bool gatewayOnly)
    {
        if (Method is null)
        {
            return (ReachabilityVerdict.NoGateway, "No router answered PCP, NAT-PMP or UPnP-IGD. Turn UPnP (or NAT-PMP/PCP) on in "
                + "the router's settings, or forward the port by hand.");
        }
        if (RefusalCode is not null)
        {
            return (ReachabilityVerdict.Refused, $"The router refused the mapping ({RefusalCode}: {RefusalText}). Another host may hold "
                + "that external port: ask for another one, or check the router's UPnP/PCP settings (some allow only some ports or hosts).");
        }
        if (Verified == true)
        {
            // Evidence wins; but a check that reached a carrier-grade, private or reserved address ran in front of the
            // router, not on the Internet.
            string where = RouterAddressClass is NetworkAddressClass.CarrierGradeNat or NetworkAddressClass.Private or NetworkAddressClass.Reserved
                ? $" The address is {Describe(RouterAddressClass.Value)}, so that connection came from the network in front of the router; "
                  + "from the Internet it is reachable only if that network forwards it."
                : "";
            return (ReachabilityVerdict.Reachable, $"Verified: a connection from outside reached {ExternalEndPoint}.{where}");
        }
        if (LeaseLost == true)
        {
            return (ReachabilityVerdict.NotReachable, "The lease has lost its mapping and is trying to restore it (its Lost event "
                + "said why); until it does, nothing is forwarded.");
        }
        if (MappingPresent == false)
        {
            return (ReachabilityVerdict.NotReachable, "The router no longer has the mapping: something removed it (another program, the "
                + "router's web page, a reboot). A lease creates it again at its next check; map it again otherwise.");
        }
        if (RouterExternalAddress is null)
        {
            return (ReachabilityVerdict.MappedNotVerified, (gatewayOnly ? "The router maps ports" : $"The router maps {ExternalEndPoint}")
                + ", but its external address is unknown (it did not say) and "
                + (StunObserved is null ? "STUN was not asked or did not answer" : $"the Internet sees {StunObserved.Address} (STUN)")
                + "; not verified end to end.");
        }
        string address = RouterExternalAddress.ToString();
        switch (RouterAddressClass)
        {
            case NetworkAddressClass.CarrierGradeNat:
                return (ReachabilityVerdict.CarrierGradeNat, $"The router's external address {address} is in 100.64.0.0/10: the ISP's "
                    + "carrier-grade NAT translates it again, so a mapping on your router opens nothing from the Internet. Ask the ISP "
                    + "for a public IPv4 address (or a port forward on its NAT), use IPv6, or relay the traffic / punch holes (STUN, TURN).");
            case NetworkAddressClass.Private:
                return (ReachabilityVerdict.DoubleNat, $"The router's external address {address} is private: another router is in front "
                    + "of it. Map the port on that router too, or make one of them a bridge (or put this one in the other's DMZ).");
        }
        if (StunAgrees == false)
        {
            return (ReachabilityVerdict.DoubleNat, $"The router reports {address} but the Internet sees {StunObserved!.Address} (STUN): "
                + "something translates in front of the router (a second router or the ISP's NAT). Map the port there too, or relay.");
        }
        if (Verified == false)
        {
            return (ReachabilityVerdict.NotReachable, $"The router maps {ExternalEndPoint}, but the connection from outside did not "
                + "arrive: a firewall in front of the router or on this host, a service not listening, or a router that lists "
                + "mappings it does not forward.");
        }
        if (RouterAddressClass == NetworkAddressClass.Reserved)
        {
            return (ReachabilityVerdict.MappedNotVerified, $"The router's external address {address} is a reserved one the Internet "
                + "does not route; reachable, if at all, only from the network in front of the router. Not verified end to end.");
        }
        string stun = StunAgrees == true ? ", and STUN sees the same address" : StunServer is null ? "; STUN was not asked" : "";
        return (ReachabilityVerdict.MappedNotVerified, gatewayOnly
            ? $"The router maps ports ({PortMapperReport.Name(Method.Value)}) and its external address {address} is public{stun}. "
              + "No mapping checked."
            : $"The router maps {ExternalEndPoint} and its address is public{stun}; not verified end to end. Give "
              + "ReachabilityOptions.Verify a way to connect from outside (your server, a peer) to know.");
    }

    private static string Describe(NetworkAddressClass c) => c switch
    {
        NetworkAddressClass.CarrierGradeNat => "in 100.64.0.0/10 (carrier-grade NAT)",
        NetworkAddressClass.Private => "private",
        _ => "reserved",
    };

    /// <summary>The verdict, the hint, and the evidence, one per line.</summary>
    public override string ToString()
    {
        var text = new StringBuilder().Append("Verdict: ").Append(Verdict).Append('\n').Append("Hint: ").Append(Hint).Append('\n');
        foreach (string line in _evidence)
        {
            text.Append("  ").Append(line).Append('\n');
        }
        return text.ToString().TrimEnd('\n');
    }
}
