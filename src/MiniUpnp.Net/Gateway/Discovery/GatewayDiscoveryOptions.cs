using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MiniUpnp.Net;

/// <summary>
/// How <see cref="GatewayDiscovery"/> searches for a gateway and how the gateway it returns talks to the router.
/// The defaults suit a home network; a search reads the options once, when it starts.
/// </summary>
public sealed class GatewayDiscoveryOptions
{
    /// <summary>
    /// The search targets sent by default. The first, IGD:1, goes out at once (an IGD:2 answers it too); the others,
    /// for routers that only answer a search for one of their services, follow only when nothing has answered after
    /// 250 ms. An IGD answering several targets (and multicast and unicast) counts once.
    /// </summary>
    public static IReadOnlyList<string> DefaultSearchTargets { get; } = new[]
    {
        "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
        "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
        "urn:schemas-upnp-org:service:WANIPConnection:1",
        "urn:schemas-upnp-org:service:WANIPConnection:2",
        "urn:schemas-upnp-org:service:WANPPPConnection:1",
    };

    /// <summary>
    /// The most a discovery waits (default 2 s). It returns as soon as a connected IGD is known, usually much sooner;
    /// it waits this long only when nothing, or nothing better than a disconnected IGD, answers.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long each later operation on the gateway waits for the router (default 10 s; miniupnpc's own
    /// bounds are 3 s to connect and 5 s per receive).</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long <see cref="GatewayDiscovery.OpenOrDiscoverAsync"/> waits for a remembered URL before it
    /// falls back to discovery (default 1 s: a router on the LAN answers in milliseconds).</summary>
    public TimeSpan RememberedUrlTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// False (the default): a description is fetched only from the address that sent the SSDP answer (an answer whose
    /// LOCATION names another host is listed as a candidate and ignored), and SOAP requests go only to the host that
    /// served the description. This stops a device on the LAN from steering our HTTP requests to another machine.
    /// True relaxes both checks, for routers that announce a description on another address.
    /// </summary>
    public bool AllowForeignAddresses { get; set; }

    /// <summary>Send the search to the SSDP multicast group 239.255.255.250:1900 (default true).</summary>
    public bool SearchMulticast { get; set; } = true;

    /// <summary>
    /// Also send the search by unicast to each IPv4 default gateway of this machine's network interfaces (default
    /// true). UPnP 1.1 devices answer a unicast search at once, where they may wait up to MX seconds before answering a
    /// multicast one.
    /// </summary>
    public bool SearchDefaultGateways { get; set; } = true;

    /// <summary>
    /// Also search over IPv6 (default false, as miniupnpc): multicast to ff05::c (site-local) on every IPv6 interface,
    /// then, when nothing has answered, to ff05::c and ff02::c (link-local). An IGD found over IPv6 has IPv6 URLs: that
    /// is what IPv6 pinholes need (a router accepts pinhole requests only from an IPv6 client), while port mappings
    /// (IPv4 NAT) want an IPv4 one. For a pinhole gateway: <c>SearchIPv6Multicast = true, SearchMulticast = false,
    /// SearchDefaultGateways = false</c>.
    /// </summary>
    public bool SearchIPv6Multicast { get; set; }

    /// <summary>More addresses, IPv4 or IPv6 (port 1900 for SSDP), to send the search to by unicast, e.g. a known router.</summary>
    public IList<IPEndPoint> UnicastTargets { get; } = new List<IPEndPoint>();

    /// <summary>The search targets (ST) to ask for, first one first (see <see cref="DefaultSearchTargets"/>).</summary>
    public IList<string> SearchTargets { get; } = new List<string>(DefaultSearchTargets);

    /// <summary>The local IPv4 address to search from (and to send multicast on), or null for the system's choice.</summary>
    public IPAddress? LocalAddress { get; set; }

    /// <summary>The most distinct description URLs examined (default 16, at most 64); later answers are ignored.</summary>
    public int MaxCandidates { get; set; } = 16;

    /// <summary>
    /// False (the default): return on the first connected IGD. True: wait the whole <see cref="Timeout"/> and choose
    /// among every answer, as miniupnpc's <c>upnpDiscover</c> + <c>UPNP_GetValidIGD</c> do.
    /// </summary>
    public bool WaitForAllAnswers { get; set; }

    /// <summary>
    /// Where discovery decisions, and the renewals, losses and restorations of the leases of the gateway found with
    /// these options, are logged (null, the default: nowhere). The library never writes to the console.
    /// </summary>
    public ILogger? Logger { get; set; }

    internal ILogger LoggerOrNull => Logger ?? NullLogger.Instance;

    private static readonly TimeSpan MaxTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Throws <see cref="ArgumentException"/> (naming the property) for a value a search cannot use.</summary>
    internal void Validate()
    {
        Check.Positive(Timeout, MaxTimeout, nameof(Timeout));
        Check.Positive(OperationTimeout, MaxTimeout, nameof(OperationTimeout));
        Check.Positive(RememberedUrlTimeout, MaxTimeout, nameof(RememberedUrlTimeout));
        if (MaxCandidates is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxCandidates), MaxCandidates, "MaxCandidates must be from 1 to 64.");
        }
        if (SearchTargets.Count is 0 or > 16)
        {
            throw new ArgumentException("There must be 1 to 16 search targets.", nameof(SearchTargets));
        }
        foreach (string? st in SearchTargets)
        {
            if (string.IsNullOrWhiteSpace(st) || st.Length > 256 || st.AsSpan().IndexOfAny("\r\n\0") >= 0)
            {
                throw new ArgumentException($"The search target '{st}' is empty, too long or holds a line break.", nameof(SearchTargets));
            }
        }
        if (UnicastTargets.Count > 16)
        {
            throw new ArgumentException("There may be at most 16 unicast targets.", nameof(UnicastTargets));
        }
        foreach (var target in UnicastTargets)
        {
            if (target is null || target.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6) || target.Port == 0)
            {
                throw new ArgumentException($"The unicast target '{target}' is not an IP address with a port.", nameof(UnicastTargets));
            }
        }
        if (LocalAddress is not null && LocalAddress.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException("The local address must be an IPv4 address.", nameof(LocalAddress));
        }
    }

    /// <summary>A copy, so that a search is not affected by changes made while it runs.</summary>
    internal GatewayDiscoveryOptions Clone()
    {
        var copy = new GatewayDiscoveryOptions
        {
            Timeout = Timeout,
            OperationTimeout = OperationTimeout,
            RememberedUrlTimeout = RememberedUrlTimeout,
            AllowForeignAddresses = AllowForeignAddresses,
            SearchMulticast = SearchMulticast,
            SearchDefaultGateways = SearchDefaultGateways,
            SearchIPv6Multicast = SearchIPv6Multicast,
            LocalAddress = LocalAddress,
            MaxCandidates = MaxCandidates,
            WaitForAllAnswers = WaitForAllAnswers,
            Logger = Logger,
        };
        copy.SearchTargets.Clear();
        foreach (string st in SearchTargets.ToArray())
        {
            copy.SearchTargets.Add(st);
        }
        foreach (var target in UnicastTargets.ToArray())
        {
            copy.UnicastTargets.Add(target);
        }
        return copy;
    }
}
