using System;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace MiniUpnp.Net;

/// <summary>
/// How this host's router maps ports: the first thing a .NET application uses to become reachable. It races PCP,
/// NAT-PMP and UPnP IGD against the default gateway, keeps the best that answers, says why, and leases mappings through it
/// that renew, restore after a router restart, follow address changes, move to another protocol when the one in use
/// stops answering, and are removed on dispose.
/// </summary>
/// <remarks>
/// <para>The race: a PCP ANNOUNCE, a NAT-PMP public address request and an SSDP search go out together. The most
/// preferred protocol that answers wins (<see cref="PortMapperOptions.Methods"/>: PCP, NAT-PMP, UPnP); a less preferred
/// answer wins when every more preferred probe has failed, or <see cref="PortMapperOptions.ProbeWindow"/> after it
/// came. The other probes are then stopped. <see cref="Report"/> tells what answered, what did not, and how long each
/// took.</para>
/// <para>Warm start: store <see cref="Remembered"/>, and pass it back in <see cref="PortMapperOptions.Remembered"/>.</para>
/// </remarks>
/// <example><code>
/// var mapper = await PortMapper.DiscoverAsync();
/// await using var lease = await mapper.LeaseAsync(new PortMappingLeaseOptions(PortMappingProtocol.Tcp, 6881));
/// Console.WriteLine($"{lease.ExternalEndPoint} through {mapper.Method}");
/// </code></example>
public sealed class PortMapper
{
    private const string RememberedPcp = "pcp", RememberedNatpmp = "natpmp", RememberedUpnp = "upnp";

    private readonly PortMapperOptions _options;
    private UpnpGateway? _upnp;

    private PortMapper(PortMapperOptions options, PortMappingMethod method, IPAddress gateway, UpnpGateway? upnp, PortMapperReport report)
    {
        _options = options;
        Method = method;
        Gateway = gateway;
        _upnp = upnp;
        Report = report;
        Pcp = new PcpClient(gateway) { OperationTimeout = options.OperationTimeout, InitialRetransmissionInterval = options.ProbeWindow };
        Natpmp = gateway.AddressFamily == AddressFamily.InterNetwork ? new NatpmpClient(gateway) { OperationTimeout = options.OperationTimeout } : null;
    }

    /// <summary>The protocol chosen.</summary>
    public PortMappingMethod Method { get; }

    /// <summary>The router's address (for UPnP, the host of its description URL).</summary>
    public IPAddress Gateway { get; }

    /// <summary>Why <see cref="Method"/> was chosen: every probe, and the reason.</summary>
    public PortMapperReport Report { get; }

    /// <summary>The UPnP gateway, when UPnP won or was found during the race; null otherwise.</summary>
    public UpnpGateway? Upnp => Volatile.Read(ref _upnp);

    /// <summary>A PCP client for the router (usable whatever won).</summary>
    public PcpClient Pcp { get; }

    /// <summary>A NAT-PMP client for the router (null for an IPv6 router address).</summary>
    public NatpmpClient? Natpmp { get; }

    /// <summary>The options the mapper was found with (its leases use them).</summary>
    public PortMapperOptions Options => _options;

    /// <summary>
    /// What to store for a warm start (<see cref="PortMapperOptions.Remembered"/>): the protocol and the router, as one
    /// line of text ("pcp 192.168.1.1", "natpmp 192.168.1.1", "upnp http://192.168.1.1:5000/rootDesc.xml").
    /// </summary>
    public string Remembered => Method switch
    {
        PortMappingMethod.Pcp => $"{RememberedPcp} {Gateway}",
        PortMappingMethod.Natpmp => $"{RememberedNatpmp} {Gateway}",
        _ => $"{RememberedUpnp} {Upnp!.RootDescriptionUrl}",
    };

    /// <summary>Races the protocols (or asks the remembered one first) and returns the mapper for the winner.</summary>
    /// <param name="options">Options, or null for the defaults.</param>
    /// <param name="cancellationToken">Stops the race.</param>
    /// <returns>The mapper; its <see cref="Report"/> explains the choice.</returns>
    /// <exception cref="ArgumentException">An option is unusable.</exception>
    /// <exception cref="PortMapperException">No protocol answered; its report says what each did.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public static async Task<PortMapper> DiscoverAsync(PortMapperOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new PortMapperOptions();
        options.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        var clock = Stopwatch.StartNew();
        var gateway = options.Gateway ?? Ssdp.DefaultGateways().FirstOrDefault();

        if (options.Remembered is { } remembered)
        {
            var warm = await TryRememberedAsync(options, remembered, gateway, clock, cancellationToken).ConfigureAwait(false);
            if (warm is not null)
            {
                return warm;
            }
        }
        var race = new PortMapperRace(options, gateway, clock);
        var (winner, upnp, report) = await race.RunAsync(cancellationToken).ConfigureAwait(false);
        if (winner is not { } method)
        {
            options.Log.LogWarning("Port mapper: no protocol answered: {Report}", report);
            throw new PortMapperException(report);
        }
        options.Log.LogInformation("Port mapper: {Report}", report);
        return new PortMapper(options, method, method == PortMappingMethod.Upnp ? Host(upnp!, gateway) : gateway!, upnp, report);
    }

    /// <summary>Leases a mapping through the protocol chosen (or, when it refuses, through another that answered the race):
    /// it is renewed, checked, restored, moved to another protocol when this one stops answering, and removed on dispose.</summary>
    /// <param name="options">What to map and how to keep it. <see cref="PortMappingLeaseOptions.InternalClient"/> other
    /// than this host is UPnP only.</param>
    /// <param name="cancellationToken">Stops the initial mapping.</param>
    /// <returns>The running lease.</returns>
    /// <exception cref="ArgumentException">An option is unusable.</exception>
    /// <exception cref="PcpException">PCP refused, and no other protocol mapped the port.</exception>
    /// <exception cref="NatpmpException">NAT-PMP refused, and no other protocol mapped the port.</exception>
    /// <exception cref="UpnpException">UPnP refused, and no other protocol mapped the port.</exception>
    /// <exception cref="TimeoutException">The router did not answer in time.</exception>
    public Task<PortMapperLease> LeaseAsync(PortMappingLeaseOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return PortMapperLease.StartAsync(this, options, cancellationToken);
    }

    /// <summary>The router's public address, through the protocol chosen.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The address.</returns>
    /// <exception cref="TimeoutException">The router did not answer in time.</exception>
    /// <exception cref="PcpException">The PCP server refused the address probe.</exception>
    /// <exception cref="NatpmpException">The NAT-PMP server refused, or libnatpmp failed.</exception>
    /// <exception cref="UpnpException">The UPnP gateway refused.</exception>
    public async Task<IPAddress> GetExternalAddressAsync(CancellationToken cancellationToken = default) => Method switch
    {
        PortMappingMethod.Natpmp => (await Natpmp!.GetPublicAddressAsync(cancellationToken).ConfigureAwait(false)).Address,
        PortMappingMethod.Upnp => await Upnp!.GetExternalAddressAsync(cancellationToken).ConfigureAwait(false),
        _ => await PcpExternalAddressAsync(cancellationToken).ConfigureAwait(false),
    };

    /// <summary>PCP has no address request: a short mapping of the discard port shows the address, and is deleted at once
    /// (routers round a short lifetime up: miniupnpd to 120 s).</summary>
    private async Task<IPAddress> PcpExternalAddressAsync(CancellationToken cancellationToken)
    {
        var mapping = await Pcp.MapAsync(new PcpMapRequest(PortMappingProtocol.Udp, 9) { Lifetime = TimeSpan.FromSeconds(1) }, cancellationToken)
            .ConfigureAwait(false);
        try
        {
            await Pcp.DeleteAsync(mapping, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (PortMapperRace.IsRouterFailure(e) && !cancellationToken.IsCancellationRequested)
        {
            _options.Log.LogDebug("Port mapper: the address probe's mapping was not deleted ({Error}); it expires", e.Message);
        }
        return mapping.ExternalEndPoint.Address;
    }

    /// <summary>The UPnP gateway, found now if the race stopped UPnP before it answered (a lease moving to UPnP).</summary>
    internal async Task<UpnpGateway> UpnpAsync(CancellationToken cancellationToken)
    {
        if (Upnp is { } known)
        {
            return known;
        }
        var found = await GatewayDiscovery.DiscoverWithReportAsync(PortMapperRace.UpnpOptions(_options), cancellationToken).ConfigureAwait(false);
        var gateway = found.Gateway ?? throw new UpnpException(Native.Miniupnpc.UPNP_NO_IGD, $"No UPnP gateway: {found.Reason}");
        Volatile.Write(ref _upnp, gateway);
        return gateway;
    }

    /// <summary>A new race, for a lease whose protocol stopped answering.</summary>
    internal Task<PortMapper> RediscoverAsync(CancellationToken cancellationToken) =>
        DiscoverAsync(_options with { Remembered = null }, cancellationToken);

    /// <summary>The UPnP gateway's address, from its description URL; a URL naming a host rather than an address gives
    /// the default gateway (or, with none, loopback: the PCP and NAT-PMP clients then exist but the race never chose them).</summary>
    private static IPAddress Host(UpnpGateway upnp, IPAddress? gateway) =>
        IPAddress.TryParse(upnp.RootDescriptionUrl.DnsSafeHost, out var address) && StunClient.IsUnicast(address)
            && address.AddressFamily == AddressFamily.InterNetwork ? address : gateway ?? IPAddress.Loopback;

    /// <summary>Warm start: the remembered protocol alone. Null when it is unusable or does not answer.</summary>
    private static async Task<PortMapper?> TryRememberedAsync(PortMapperOptions options, string remembered, IPAddress? gateway,
        Stopwatch clock, CancellationToken cancellationToken)
    {
        string[] parts = remembered.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2)
        {
            options.Log.LogWarning("Port mapper: the remembered value '{Remembered}' is not one this library wrote; racing", remembered);
            return null;
        }
        var method = parts[0] switch
        {
            RememberedPcp => PortMappingMethod.Pcp,
            RememberedNatpmp => PortMappingMethod.Natpmp,
            RememberedUpnp => PortMappingMethod.Upnp,
            _ => (PortMappingMethod)0,
        };
        if (!options.Methods.Contains(method))
        {
            return null;
        }
        var others = options.Methods.Where(m => m != method)
            .Select(m => new PortMapperProbe(m, PortMapperProbeOutcome.NotTried, TimeSpan.Zero, "the remembered protocol answered"));
        try
        {
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bound.CancelAfter(options.Timeout);
            string detail;
            UpnpGateway? upnp = null;
            IPAddress router;
            if (method == PortMappingMethod.Upnp)
            {
                if (!Uri.TryCreate(parts[1], UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttp)
                {
                    return null;
                }
                // Another network's router (its address is not the default gateway's) is not asked either.
                if (gateway is not null && IPAddress.TryParse(url.DnsSafeHost, out var host) && !host.Equals(gateway))
                {
                    options.Log.LogInformation("Port mapper: the remembered {Url} is not on the default gateway ({Gateway}); racing", url, gateway);
                    return null;
                }
                upnp = await UpnpGateway.OpenAsync(url, PortMapperRace.UpnpOptions(options), bound.Token).ConfigureAwait(false);
                router = Host(upnp, gateway);
                detail = $"{url} answered";
            }
            else
            {
                // A remembered router that is not this host's gateway any more (another network) is not asked at all.
                if (!IPAddress.TryParse(parts[1], out var address) || !address.Equals(gateway))
                {
                    options.Log.LogInformation("Port mapper: the remembered router {Remembered} is not the default gateway ({Gateway}); racing",
                        parts[1], gateway);
                    return null;
                }
                router = address;
                detail = method == PortMappingMethod.Pcp
                    ? $"epoch {(await new PcpClient(address) { OperationTimeout = options.Timeout, InitialRetransmissionInterval = options.ProbeWindow }.AnnounceAsync(bound.Token).ConfigureAwait(false)).Epoch}"
                    : $"public address {await new NatpmpClient(address) { OperationTimeout = options.Timeout }.GetPublicAddressAsync(bound.Token).ConfigureAwait(false)}";
            }
            var probes = new[] { new PortMapperProbe(method, PortMapperProbeOutcome.Answered, clock.Elapsed, detail) }.Concat(others)
                .OrderBy(p => options.Methods.ToList().IndexOf(p.Method)).ToArray();
            var report = new PortMapperReport(method, probes,
                $"{PortMapperReport.Name(method)}: the remembered protocol answered ({detail}) in {clock.ElapsedMilliseconds} ms",
                clock.Elapsed, usedRemembered: true);
            options.Log.LogInformation("Port mapper: {Report}", report);
            return new PortMapper(options, method, router, upnp, report);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && PortMapperRace.IsRouterFailure(e))
        {
            options.Log.LogInformation("Port mapper: the remembered {Remembered} did not answer ({Error}); racing", remembered, e.Message);
            return null;
        }
    }
}
