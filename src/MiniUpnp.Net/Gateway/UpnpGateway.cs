using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

using MiniUpnp.Net.Native;

namespace MiniUpnp.Net;

/// <summary>
/// An Internet Gateway Device (the home router) found by <see cref="DiscoverAsync"/> or reopened from a remembered
/// root-description URL by <see cref="OpenAsync(Uri, GatewayDiscoveryOptions?, CancellationToken)"/>, with typed async operations on it.
/// </summary>
/// <remarks>
/// <para>
/// An instance is an immutable snapshot of the router's description (URLs and service types, copied out of native
/// memory): it owns nothing native, needs no disposal, and every member may be used from several threads at once.
/// </para>
/// <para>
/// Every operation runs miniupnpc's blocking call on a thread kept for native calls and waits for it at most
/// <see cref="OperationTimeout"/> (then <see cref="TimeoutException"/>) or until the token is cancelled (then
/// <see cref="OperationCanceledException"/>). The native call itself cannot be interrupted: when the caller stops
/// waiting, it goes on in the background until miniupnpc gives up on its own (connect 3 s, each receive 5 s), then
/// frees its results; what it did on the router (an add, a delete) stays done.
/// </para>
/// <para>
/// Failures the router or miniupnpc report throw <see cref="UpnpException"/> whose <see cref="UpnpException.Code"/>
/// is the UPnP error code (compare with <see cref="UpnpErrorCode"/>) and whose message is miniupnpc's text for it.
/// Bad arguments throw <see cref="ArgumentException"/> before any network I/O.
/// </para>
/// </remarks>
public sealed class UpnpGateway : IUpnpGateway
{
    /// <summary>The most entries a listing returns: a router that never says "no more" cannot keep a listing going.</summary>
    public const int MaxListedMappings = 4096;

    // GetListOfPortMappings page size: miniupnpc's own default for NewNumberOfPorts.
    private const int BulkPageSize = 1000;

    // Buffers for the Ext entry functions (the router's description and remote host, plus the terminating NUL).
    private const int DescriptionBufferBytes = Check.MaxDescriptionBytes + 1;
    private const int RemoteHostBufferBytes = 64;

    private readonly IgdDescription _igd;
    private readonly InFlightCalls? _calls;

    internal UpnpGateway(IgdDescription igd, GatewayState state, IPAddress? externalAddress, TimeSpan operationTimeout,
        bool allowForeignAddresses, InFlightCalls? calls = null)
    {
        _igd = igd;
        _calls = calls;
        State = state;
        ExternalAddress = externalAddress;
        OperationTimeout = operationTimeout;
        AllowForeignAddresses = allowForeignAddresses;
        RootDescriptionUrl = new Uri(igd.RootUrl);
        ControlUrl = new Uri(igd.ControlUrl);
    }

    /// <summary>The root description's URL: remember it to reopen this gateway later without SSDP.</summary>
    public Uri RootDescriptionUrl { get; }

    /// <summary>The "uuid:…" values of the SSDP answers (USN) that named this description, when it was discovered (a
    /// router answers with its root device's uuid or an embedded device's, by search target); a lease uses them to
    /// recognise the same router at a new address after a restart.</summary>
    internal IReadOnlyList<string> DeviceUuids { get; init; } = Array.Empty<string>();

    /// <summary>The options this gateway was discovered or opened with (a private copy): a lease searches with them when
    /// the router must be found again.</summary>
    internal GatewayDiscoveryOptions? DiscoveryOptions { get; init; }

    /// <summary>The control URL of the WAN connection service that port mappings go to.</summary>
    public Uri ControlUrl { get; }

    /// <summary>That service's type, e.g. <c>urn:schemas-upnp-org:service:WANIPConnection:2</c>.</summary>
    public string ServiceType => _igd.ServiceType;

    /// <summary>True when the WAN connection service is WANIPConnection:2 (AddAnyPortMapping, GetListOfPortMappings,
    /// DeletePortMappingRange).</summary>
    public bool IsIgdV2 => _igd.ServiceType == "urn:schemas-upnp-org:service:WANIPConnection:2";

    /// <summary>True when the router has a WANIPv6FirewallControl service (IPv6 pinholes). Pinholes must be requested
    /// over IPv6: open the gateway from its IPv6 description URL.</summary>
    public bool SupportsPinholes => _igd.FirewallControlUrl.Length > 0;

    /// <summary>Our own address on the connection to the router: the default internal client of a mapping.</summary>
    public IPAddress LocalAddress => _igd.LocalAddress;

    /// <summary>The state found when this gateway was selected; <see cref="GatewayState.NotChecked"/> when it was
    /// opened from a URL (see <see cref="CheckStateAsync"/>).</summary>
    public GatewayState State { get; }

    /// <summary>The external address the router reported when its state was checked, or null.</summary>
    public IPAddress? ExternalAddress { get; }

    /// <summary>How long each operation waits for the router (from the options the gateway was opened with).</summary>
    public TimeSpan OperationTimeout { get; }

    internal bool AllowForeignAddresses { get; }

    internal IgdDescription Description => _igd;

    /// <summary>The same gateway, with its native calls tracked (a lease waits for them before its final delete).</summary>
    internal UpnpGateway WithCallTracking(InFlightCalls calls) =>
        new(_igd, State, ExternalAddress, OperationTimeout, AllowForeignAddresses, calls) { DeviceUuids = DeviceUuids, DiscoveryOptions = DiscoveryOptions };

    // ------------------------------------------------------------------ opening

    /// <summary>Finds the gateway with SSDP (see <see cref="GatewayDiscovery.DiscoverWithReportAsync"/>) and returns the one chosen.</summary>
    /// <param name="options">Discovery options, or null for the defaults.</param>
    /// <param name="cancellationToken">Stops the search; the task then ends with <see cref="OperationCanceledException"/>.</param>
    /// <returns>The chosen gateway (its <see cref="State"/> says how connected it is).</returns>
    /// <exception cref="UpnpException">No IGD answered in time (<see cref="UpnpErrorCode.NoIgd"/>; the message is the
    /// discovery's reason).</exception>
    public static async Task<UpnpGateway> DiscoverAsync(GatewayDiscoveryOptions? options = null, CancellationToken cancellationToken = default)
    {
        var result = await GatewayDiscovery.DiscoverWithReportAsync(options, cancellationToken).ConfigureAwait(false);
        return result.Gateway ?? throw new UpnpException(Miniupnpc.UPNP_NO_IGD, result.Reason);
    }

    /// <summary>
    /// Reopens a gateway from a remembered root-description URL, without SSDP: one description fetch (at most 256 KiB,
    /// ending by the operation timeout), parsed and checked by miniupnpc as <c>UPNP_GetIGDFromUrl</c> does, nothing more. The state is not asked for
    /// (<see cref="GatewayState.NotChecked"/>); see <see cref="CheckStateAsync"/>. For a fallback to discovery when
    /// the URL is stale, use <see cref="GatewayDiscovery.OpenOrDiscoverAsync"/>.
    /// </summary>
    /// <param name="rootDescriptionUrl">An absolute http URL (<see cref="RootDescriptionUrl"/> of an earlier run).</param>
    /// <param name="options">Options (<see cref="GatewayDiscoveryOptions.OperationTimeout"/> bounds the fetch and every
    /// later call; <see cref="GatewayDiscoveryOptions.AllowForeignAddresses"/> applies to the control URLs), or null.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The gateway.</returns>
    /// <exception cref="ArgumentException">Not an absolute http URL.</exception>
    /// <exception cref="UpnpException"><see cref="UpnpErrorCode.HttpError"/> when the description cannot be fetched
    /// (a stale URL); <see cref="UpnpErrorCode.NoIgd"/> when it is not a usable IGD description.</exception>
    /// <exception cref="TimeoutException">The fetch took longer than the operation timeout.</exception>
    public static async Task<UpnpGateway> OpenAsync(Uri rootDescriptionUrl, GatewayDiscoveryOptions? options = null, CancellationToken cancellationToken = default)
    {
        string url = CheckRootUrl(rootDescriptionUrl, nameof(rootDescriptionUrl));
        options ??= new GatewayDiscoveryOptions();
        options.Validate();
        // The fetch's own deadline is the caller's: an abandoned open stops reading when its caller stopped waiting.
        var timeout = options.OperationTimeout;
        var probe = await NativeCall.RunAsync(() => IgdProbe.Probe(url, checkState: false, options.AllowForeignAddresses, timeout),
            timeout, cancellationToken).ConfigureAwait(false);
        return FromProbe(probe, url, options);
    }

    internal static UpnpGateway FromProbe(IgdProbe.Result probe, string url, GatewayDiscoveryOptions options)
    {
        if (probe.Description is null)
        {
            throw new UpnpException(Miniupnpc.UPNPCOMMAND_HTTP_ERROR, $"{url}: {probe.Failure}");
        }
        if (probe.State == GatewayState.UnrecognizedDevice)
        {
            throw new UpnpException(Miniupnpc.UPNP_NO_IGD, $"{url}: {probe.Failure}");
        }
        return new UpnpGateway(probe.Description, probe.State, probe.ExternalAddress, options.OperationTimeout, options.AllowForeignAddresses)
        {
            DiscoveryOptions = options.Clone(),
        };
    }

    internal static string CheckRootUrl(Uri? url, string paramName)
    {
        ArgumentNullException.ThrowIfNull(url, paramName);
        if (!url.IsAbsoluteUri || url.Scheme != Uri.UriSchemeHttp || url.OriginalString.Length > 1024
            || url.OriginalString.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("The root description URL must be an absolute http:// URL (miniupnpc speaks plain HTTP).", paramName);
        }
        return url.AbsoluteUri;
    }

    /// <summary>
    /// Asks the router how its WAN connection is, as <c>UPNP_GetValidIGD</c> would judge it for this gateway's WAN
    /// service: <c>GetStatusInfo</c>, then <c>GetExternalIPAddress</c> checked against miniupnpc's reserved blocks.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns><see cref="GatewayState.Connected"/>, <see cref="GatewayState.ConnectedWithReservedAddress"/> or
    /// <see cref="GatewayState.NotConnected"/>.</returns>
    public async Task<GatewayState> CheckStateAsync(CancellationToken cancellationToken = default)
    {
        var igd = _igd;
        return await Native(() => IgdProbe.StateOf(igd).State, cancellationToken).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ status

    /// <summary>The router's external (public) IPv4 address (<c>GetExternalIPAddress</c>).</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The address.</returns>
    /// <exception cref="UpnpException">The router failed, or answered something that is not an IPv4 address
    /// (<see cref="UpnpErrorCode.InvalidResponse"/>).</exception>
    public async Task<IPAddress> GetExternalAddressAsync(CancellationToken cancellationToken = default)
    {
        var igd = _igd;
        var (r, text) = await Native(() =>
        {
            int code = Miniupnpc.UPNP_GetExternalIPAddress(igd.ControlUrl, igd.ServiceType, out string address);
            return (code, address);
        }, cancellationToken).ConfigureAwait(false);
        UpnpException.ThrowIfFailed(r);
        return ReservedAddresses.TryParseDottedQuad(text, out var address)
            ? address
            : throw InvalidResponse($"the external address '{text}' is not an IPv4 address");
    }

    /// <summary>The WAN connection's status, uptime and last error (<c>GetStatusInfo</c>).</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The status.</returns>
    /// <exception cref="UpnpException">The router failed.</exception>
    public async Task<GatewayStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        var igd = _igd;
        var (r, status, uptime, error) = await Native(() =>
        {
            int code = Miniupnpc.UPNP_GetStatusInfo(igd.ControlUrl, igd.ServiceType, out string s, out uint up, out string e);
            return (code, s, up, e);
        }, cancellationToken).ConfigureAwait(false);
        UpnpException.ThrowIfFailed(r);
        return new GatewayStatus(status, TimeSpan.FromSeconds(uptime), error);
    }

    // ------------------------------------------------------------------ port mappings

    /// <summary>Adds (or, for the same client, updates) a port mapping (<c>AddPortMapping</c>).</summary>
    /// <param name="request">What to map: protocol, internal port, and optionally external port, lease, description,
    /// internal client and remote host.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the router accepted the mapping.</returns>
    /// <exception cref="ArgumentException">A property of <paramref name="request"/> is out of range (the exception names it).</exception>
    /// <exception cref="UpnpException">The router refused: <see cref="UpnpErrorCode.ConflictInMappingEntry"/> (another
    /// host holds the port), <see cref="UpnpErrorCode.OnlyPermanentLeasesSupported"/>, …</exception>
    public async Task AddMappingAsync(PortMappingRequest request, CancellationToken cancellationToken = default)
    {
        var args = MappingArguments(request);
        var igd = _igd;
        int r = await Native(() => Miniupnpc.UPNP_AddPortMapping(igd.ControlUrl, igd.ServiceType, args.ExternalPort, args.InternalPort,
            args.Client, args.Description, args.Protocol, args.RemoteHost, args.Lease), cancellationToken).ConfigureAwait(false);
        UpnpException.ThrowIfFailed(r);
    }

    /// <summary>
    /// Adds a port mapping, letting the router choose another external port when the one asked for is taken (IGDv2
    /// <c>AddAnyPortMapping</c>). For a port this client already holds, miniupnpd updates it and returns it.
    /// </summary>
    /// <inheritdoc cref="AddMappingAsync"/>
    /// <returns>The external port the router reserved.</returns>
    /// <exception cref="UpnpException">The router refused (<see cref="UpnpErrorCode.InvalidAction"/> on IGDv1, …) or
    /// reserved a port outside 1–65535 (<see cref="UpnpErrorCode.InvalidResponse"/>).</exception>
    public async Task<int> AddAnyMappingAsync(PortMappingRequest request, CancellationToken cancellationToken = default)
    {
        var args = MappingArguments(request);
        var igd = _igd;
        var (r, reserved) = await Native(() =>
        {
            int code = Miniupnpc.UPNP_AddAnyPortMapping(igd.ControlUrl, igd.ServiceType, args.ExternalPort, args.InternalPort,
                args.Client, args.Description, args.Protocol, args.RemoteHost, args.Lease, out string port);
            return (code, port);
        }, cancellationToken).ConfigureAwait(false);
        UpnpException.ThrowIfFailed(r);
        return ParsePort(reserved, "reserved port");
    }

    /// <summary>Deletes a port mapping (<c>DeletePortMapping</c>). miniupnpd (nftables) answers success for a mapping
    /// that is not there; other routers answer <see cref="UpnpErrorCode.NoSuchEntryInArray"/>.</summary>
    /// <param name="protocol">TCP or UDP.</param>
    /// <param name="externalPort">External port, 1–65535.</param>
    /// <param name="remoteHost">The remote host the mapping was added with (IPv4); null for any.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the router answered success.</returns>
    /// <exception cref="UpnpException">The router refused.</exception>
    public async Task DeleteMappingAsync(PortMappingProtocol protocol, int externalPort, IPAddress? remoteHost = null,
        CancellationToken cancellationToken = default)
    {
        Check.Protocol(protocol, nameof(protocol));
        Check.Port(externalPort, nameof(externalPort));
        Check.IPv4(remoteHost, nameof(remoteHost));
        string port = Check.Text(externalPort), proto = protocol.ToWire();
        string? remote = remoteHost is null ? null : Check.Text(remoteHost);
        var igd = _igd;
        int r = await Native(() => Miniupnpc.UPNP_DeletePortMapping(igd.ControlUrl, igd.ServiceType, port, proto, remote),
            cancellationToken).ConfigureAwait(false);
        UpnpException.ThrowIfFailed(r);
    }

    /// <summary>Deletes the mappings of a range of external ports in one call (IGDv2 <c>DeletePortMappingRange</c>).</summary>
    /// <param name="protocol">TCP or UDP.</param>
    /// <param name="startPort">First external port, 1–65535.</param>
    /// <param name="endPort">Last external port, <paramref name="startPort"/>–65535.</param>
    /// <param name="manage">False: only this client's mappings; true: every mapping this client may manage.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the router answered success.</returns>
    /// <exception cref="UpnpException">The router refused (<see cref="UpnpErrorCode.PortMappingNotFound"/> when the
    /// range holds none, <see cref="UpnpErrorCode.InvalidAction"/> on IGDv1, …).</exception>
    public async Task DeleteMappingRangeAsync(PortMappingProtocol protocol, int startPort, int endPort, bool manage = false,
        CancellationToken cancellationToken = default)
    {
        Check.Protocol(protocol, nameof(protocol));
        Check.Port(startPort, nameof(startPort));
        Check.Port(endPort, nameof(endPort));
        if (endPort < startPort)
        {
            throw new ArgumentOutOfRangeException(nameof(endPort), endPort, "The range ends before it starts.");
        }
        string start = Check.Text(startPort), end = Check.Text(endPort), proto = protocol.ToWire(), m = manage ? "1" : "0";
        var igd = _igd;
        int r = await Native(() => Miniupnpc.UPNP_DeletePortMappingRange(igd.ControlUrl, igd.ServiceType, start, end, proto, m),
            cancellationToken).ConfigureAwait(false);
        UpnpException.ThrowIfFailed(r);
    }

    /// <summary>Reads the mapping of one external port (<c>GetSpecificPortMappingEntry</c>).</summary>
    /// <param name="protocol">TCP or UDP.</param>
    /// <param name="externalPort">External port, 1–65535.</param>
    /// <param name="remoteHost">The remote host the mapping was added with (IPv4); null for any.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The mapping, or null when the router has none (<see cref="UpnpErrorCode.NoSuchEntryInArray"/>).</returns>
    /// <exception cref="UpnpException">The router failed otherwise, or answered values this layer cannot accept.</exception>
    public async Task<PortMappingEntry?> GetMappingAsync(PortMappingProtocol protocol, int externalPort, IPAddress? remoteHost = null,
        CancellationToken cancellationToken = default)
    {
        Check.Protocol(protocol, nameof(protocol));
        Check.Port(externalPort, nameof(externalPort));
        Check.IPv4(remoteHost, nameof(remoteHost));
        string port = Check.Text(externalPort), proto = protocol.ToWire();
        string? remote = remoteHost is null ? null : Check.Text(remoteHost);
        var igd = _igd;
        var answer = await Native(() =>
        {
            int code = Miniupnpc.UPNP_GetSpecificPortMappingEntryExt(igd.ControlUrl, igd.ServiceType, port, proto, remote,
                out string client, out string iport, out string desc, DescriptionBufferBytes, out string enabled, out string lease);
            return (code, client, iport, desc, enabled, lease);
        }, cancellationToken).ConfigureAwait(false);
        if (answer.code == (int)UpnpErrorCode.NoSuchEntryInArray)
        {
            return null;
        }
        UpnpException.ThrowIfFailed(answer.code);
        return ParseEntry(protocol, externalPort, answer.client, answer.iport, answer.desc, answer.enabled, remote ?? string.Empty, answer.lease);
    }

    Task<IReadOnlyList<PortMappingEntry>> IUpnpGateway.ListMappingsAsync(CancellationToken cancellationToken) =>
        ListMappingsAsync(PortMappingListMethod.Automatic, cancellationToken);

    /// <summary>
    /// Lists every port mapping. <see cref="PortMappingListMethod.Bulk"/> asks IGDv2's <c>GetListOfPortMappings</c> for
    /// all TCP and then all UDP mappings (one call each per 1000 entries); <see cref="PortMappingListMethod.EntryByEntry"/>
    /// calls <c>GetGenericPortMappingEntry</c> once per mapping; <see cref="PortMappingListMethod.Automatic"/> takes the
    /// bulk way on IGDv2 and falls back to the other when the router does not have it.
    /// </summary>
    /// <remarks>
    /// Bounds (docs/reliability.md): every native call waits at most <see cref="OperationTimeout"/>. Entry by entry
    /// first asks the router's count, then asks for at most that count + 16 entries (<see cref="MaxListedMappings"/>
    /// when the router gives no count): a router that answers every index cannot keep the listing going. In bulk, at
    /// most 5 pages per protocol. The whole listing therefore makes a bounded number of calls; to bound its total
    /// time, cancel <paramref name="cancellationToken"/>. Each bulk page is parsed by miniupnpc in native memory,
    /// whatever its size (this layer keeps at most <see cref="MaxListedMappings"/> entries of it).
    /// </remarks>
    /// <param name="method">How to list.</param>
    /// <param name="cancellationToken">Stops waiting (checked between calls, too).</param>
    /// <returns>The mappings, at most <see cref="MaxListedMappings"/> (a listing stops there).</returns>
    /// <exception cref="UpnpException">The router failed, or answered values this layer cannot accept.</exception>
    public async Task<IReadOnlyList<PortMappingEntry>> ListMappingsAsync(PortMappingListMethod method = PortMappingListMethod.Automatic,
        CancellationToken cancellationToken = default)
    {
        if (method is not (PortMappingListMethod.Automatic or PortMappingListMethod.Bulk or PortMappingListMethod.EntryByEntry))
        {
            throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown listing method.");
        }
        if (method == PortMappingListMethod.EntryByEntry || (method == PortMappingListMethod.Automatic && !IsIgdV2))
        {
            return await ListEntryByEntryAsync(cancellationToken).ConfigureAwait(false);
        }
        try
        {
            return await ListInBulkAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (UpnpException e) when (method == PortMappingListMethod.Automatic
            && e.Code is (int)UpnpErrorCode.InvalidAction or (int)UpnpErrorCode.OptionalActionNotImplemented)
        {
            return await ListEntryByEntryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<IReadOnlyList<PortMappingEntry>> ListInBulkAsync(CancellationToken cancellationToken)
    {
        var igd = _igd;
        var entries = new List<PortMappingEntry>();
        foreach (var protocol in new[] { PortMappingProtocol.Tcp, PortMappingProtocol.Udp })
        {
            string proto = protocol.ToWire();
            int start = 1;
            // Bounded: every page moves start forward, and the whole listing stops at MaxListedMappings.
            while (start <= 65535 && entries.Count < MaxListedMappings)
            {
                string first = Check.Text(start);
                var (r, page) = await Native(() =>
                {
                    using var listing = new SafePortListingHandle();
                    int code = Miniupnpc.UPNP_GetListOfPortMappings(igd.ControlUrl, igd.ServiceType, first, "65535", proto,
                        Check.Text(BulkPageSize), listing);
                    return (code, code == Miniupnpc.UPNPCOMMAND_SUCCESS ? listing.Entries : Array.Empty<PortMapping>());
                }, cancellationToken).ConfigureAwait(false);
                if (r == (int)UpnpErrorCode.PortMappingNotFound)
                {
                    break;
                }
                UpnpException.ThrowIfFailed(r);
                int last = 0;
                foreach (var m in page)
                {
                    if (entries.Count >= MaxListedMappings)
                    {
                        break;
                    }
                    var entry = ParseBulkEntry(m);
                    entries.Add(entry);
                    last = Math.Max(last, entry.ExternalPort);
                }
                if (page.Count < BulkPageSize || last < start)
                {
                    break;
                }
                start = last + 1;
            }
        }
        return entries;
    }

    private async Task<IReadOnlyList<PortMappingEntry>> ListEntryByEntryAsync(CancellationToken cancellationToken)
    {
        var igd = _igd;
        int limit = await EntryLimitAsync(cancellationToken).ConfigureAwait(false);
        var entries = new List<PortMappingEntry>();
        for (int i = 0; i < limit; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string index = Check.Text(i);
            var a = await Native(() =>
            {
                int code = Miniupnpc.UPNP_GetGenericPortMappingEntryExt(igd.ControlUrl, igd.ServiceType, index,
                    out string ext, out string client, out string iport, out string proto, out string desc, DescriptionBufferBytes,
                    out string enabled, out string rhost, RemoteHostBufferBytes, out string duration);
                return (code, ext, client, iport, proto, desc, enabled, rhost, duration);
            }, cancellationToken).ConfigureAwait(false);
            // 713 SpecifiedArrayIndexInvalid is the standard end of the list; some routers answer 714.
            if (a.code is (int)UpnpErrorCode.SpecifiedArrayIndexInvalid or (int)UpnpErrorCode.NoSuchEntryInArray)
            {
                break;
            }
            UpnpException.ThrowIfFailed(a.code);
            if (!PortMappingProtocolText.TryParse(a.proto, out var protocol))
            {
                throw InvalidResponse($"entry {i} has the protocol '{a.proto}'");
            }
            entries.Add(ParseEntry(protocol, ParsePort(a.ext, "external port"), a.client, a.iport, a.desc, a.enabled, a.rhost, a.duration));
        }
        return entries;
    }

    /// <summary>
    /// How many entries an entry-by-entry listing asks for: the router's own count (<c>GetPortMappingNumberOfEntries</c>)
    /// plus <see cref="EntryCountMargin"/> for mappings added meanwhile, or <see cref="MaxListedMappings"/> when the
    /// router has no count (IGDv2 dropped the action: miniupnpd answers 401) or gives a larger one. A router that
    /// answers every index (miniupnpc's own loop would never end) is thus asked at most that many times.
    /// </summary>
    private async Task<int> EntryLimitAsync(CancellationToken cancellationToken)
    {
        var igd = _igd;
        var (r, count) = await Native(() =>
        {
            int code = Miniupnpc.UPNP_GetPortMappingNumberOfEntries(igd.ControlUrl, igd.ServiceType, out uint n);
            return (code, n);
        }, cancellationToken).ConfigureAwait(false);
        if (r == Miniupnpc.UPNPCOMMAND_HTTP_ERROR)
        {
            UpnpException.ThrowIfFailed(r); // no answer at all: asking for each entry would only fail again, one timeout each
        }
        return r == Miniupnpc.UPNPCOMMAND_SUCCESS && count < MaxListedMappings - EntryCountMargin
            ? (int)count + EntryCountMargin
            : MaxListedMappings;
    }

    /// <summary>Entries asked for beyond the router's count in an entry-by-entry listing.</summary>
    internal const int EntryCountMargin = 16;

    // ------------------------------------------------------------------ leases

    /// <summary>Maps a port and keeps it mapped until disposed (see <see cref="PortMappingLease"/>).</summary>
    /// <param name="options">What to map and how to keep it.</param>
    /// <param name="cancellationToken">Stops the initial mapping.</param>
    /// <returns>The running lease.</returns>
    public Task<PortMappingLease> LeaseMappingAsync(PortMappingLeaseOptions options, CancellationToken cancellationToken = default) =>
        PortMappingLease.StartAsync(this, options, cancellationToken);

    async Task<IPortMappingLease> IUpnpGateway.LeaseMappingAsync(PortMappingLeaseOptions options, CancellationToken cancellationToken) =>
        await LeaseMappingAsync(options, cancellationToken).ConfigureAwait(false);

    /// <summary>Opens an IPv6 pinhole and keeps it open until disposed (see <see cref="PinholeLease"/>).</summary>
    /// <param name="options">What to open and how to keep it.</param>
    /// <param name="cancellationToken">Stops the initial request.</param>
    /// <returns>The running lease.</returns>
    public Task<PinholeLease> LeasePinholeAsync(PinholeLeaseOptions options, CancellationToken cancellationToken = default) =>
        PinholeLease.StartAsync(this, options, cancellationToken);

    // ------------------------------------------------------------------ IPv6 pinholes (WANIPv6FirewallControl)

    /// <summary>Whether the IPv6 firewall is on and accepts inbound pinholes (<c>GetFirewallStatus</c>).</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The status.</returns>
    /// <exception cref="NotSupportedException">The router has no WANIPv6FirewallControl service.</exception>
    /// <exception cref="UpnpException">The router failed.</exception>
    public async Task<FirewallStatus> GetFirewallStatusAsync(CancellationToken cancellationToken = default)
    {
        var igd = RequireFirewall();
        var (r, enabled, allowed) = await Native(() =>
        {
            int code = Miniupnpc.UPNP_GetFirewallStatus(igd.FirewallControlUrl, igd.FirewallServiceType, out int e, out int a);
            return (code, e, a);
        }, cancellationToken).ConfigureAwait(false);
        UpnpException.ThrowIfFailed(r);
        return new FirewallStatus(enabled != 0, allowed != 0);
    }

    /// <summary>Opens an inbound IPv6 pinhole (<c>AddPinhole</c>). Request it over IPv6 (a gateway opened from the
    /// router's IPv6 description URL): miniupnpd answers 606 to a request for another host.</summary>
    /// <param name="protocol">TCP, UDP, or null for any protocol.</param>
    /// <param name="internalPort">Port on the internal host, 1–65535 (miniupnpd refuses ports below 1024 with 606).</param>
    /// <param name="leaseDuration">Lease, 1 to 86400 s (fractions round up).</param>
    /// <param name="internalClient">The internal IPv6 host; null for <see cref="LocalAddress"/>.</param>
    /// <param name="remoteHost">The only remote IPv6 host allowed, or null for any.</param>
    /// <param name="remotePort">The only remote port allowed, 1–65535, or 0 for any.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The pinhole's id, for update, check and delete.</returns>
    /// <exception cref="NotSupportedException">The router has no WANIPv6FirewallControl service.</exception>
    /// <exception cref="UpnpException">The router refused (<see cref="UpnpErrorCode.ActionNotAuthorized"/>,
    /// <see cref="UpnpErrorCode.InvalidArgs"/>, …).</exception>
    public async Task<int> AddPinholeAsync(PortMappingProtocol? protocol, int internalPort, TimeSpan leaseDuration,
        IPAddress? internalClient = null, IPAddress? remoteHost = null, int remotePort = 0, CancellationToken cancellationToken = default)
    {
        if (protocol is not null)
        {
            Check.Protocol(protocol.Value, nameof(protocol));
        }
        Check.Port(internalPort, nameof(internalPort));
        string lease = Check.Lease(leaseDuration, Check.MaxPinholeLease, allowZero: false, nameof(leaseDuration));
        Check.IPv6(internalClient, nameof(internalClient));
        Check.IPv6(remoteHost, nameof(remoteHost));
        if (remotePort is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(remotePort), remotePort, "The remote port must be 0 (any) to 65535.");
        }
        var igd = RequireFirewall();
        string client = Check.Text(internalClient ?? LocalIPv6());
        string remote = remoteHost is null ? string.Empty : Check.Text(remoteHost);
        string rport = Check.Text(remotePort), iport = Check.Text(internalPort), proto = protocol.ToPinholeWire();
        var (r, id) = await Native(() =>
        {
            int code = Miniupnpc.UPNP_AddPinhole(igd.FirewallControlUrl, igd.FirewallServiceType, remote, rport, client, iport, proto, lease,
                out string uniqueId);
            return (code, uniqueId);
        }, cancellationToken).ConfigureAwait(false);
        UpnpException.ThrowIfFailed(r);
        return int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value <= 65535
            ? value
            : throw InvalidResponse($"the pinhole id '{id}' is not a number from 0 to 65535");
    }

    /// <summary>Renews a pinhole's lease (<c>UpdatePinhole</c>).</summary>
    /// <param name="uniqueId">The pinhole's id, 0–65535.</param>
    /// <param name="leaseDuration">New lease, 1 to 86400 s.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the router answered success.</returns>
    /// <exception cref="NotSupportedException">The router has no WANIPv6FirewallControl service.</exception>
    /// <exception cref="UpnpException">The router refused (<see cref="UpnpErrorCode.NoSuchEntry"/>; miniupnpd answers
    /// <see cref="UpnpErrorCode.InvalidArgs"/> for an unknown id).</exception>
    public async Task UpdatePinholeAsync(int uniqueId, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        string id = CheckPinholeId(uniqueId);
        string lease = Check.Lease(leaseDuration, Check.MaxPinholeLease, allowZero: false, nameof(leaseDuration));
        var igd = RequireFirewall();
        int r = await Native(() => Miniupnpc.UPNP_UpdatePinhole(igd.FirewallControlUrl, igd.FirewallServiceType, id, lease),
            cancellationToken).ConfigureAwait(false);
        UpnpException.ThrowIfFailed(r);
    }

    /// <summary>Closes a pinhole (<c>DeletePinhole</c>).</summary>
    /// <param name="uniqueId">The pinhole's id, 0–65535.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the router answered success.</returns>
    /// <exception cref="NotSupportedException">The router has no WANIPv6FirewallControl service.</exception>
    /// <exception cref="UpnpException">The router refused.</exception>
    public async Task DeletePinholeAsync(int uniqueId, CancellationToken cancellationToken = default)
    {
        string id = CheckPinholeId(uniqueId);
        var igd = RequireFirewall();
        int r = await Native(() => Miniupnpc.UPNP_DeletePinhole(igd.FirewallControlUrl, igd.FirewallServiceType, id),
            cancellationToken).ConfigureAwait(false);
        UpnpException.ThrowIfFailed(r);
    }

    /// <summary>Whether traffic has gone through a pinhole (<c>CheckPinholeWorking</c>).</summary>
    /// <param name="uniqueId">The pinhole's id, 0–65535.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>True when the router says it works; false when it answers
    /// <see cref="UpnpErrorCode.NoTrafficReceived"/> (the pinhole exists but has seen no packet; miniupnpd 2.3.1 always
    /// answers that, its nftables rule has no counter).</returns>
    /// <exception cref="NotSupportedException">The router has no WANIPv6FirewallControl service.</exception>
    /// <exception cref="UpnpException">The router failed otherwise (an unknown id: <see cref="UpnpErrorCode.NoSuchEntry"/>
    /// or, from miniupnpd, <see cref="UpnpErrorCode.InvalidArgs"/>).</exception>
    public async Task<bool> CheckPinholeWorkingAsync(int uniqueId, CancellationToken cancellationToken = default)
    {
        string id = CheckPinholeId(uniqueId);
        var igd = RequireFirewall();
        var (r, working) = await Native(() =>
        {
            int code = Miniupnpc.UPNP_CheckPinholeWorking(igd.FirewallControlUrl, igd.FirewallServiceType, id, out int w);
            return (code, w);
        }, cancellationToken).ConfigureAwait(false);
        if (r == (int)UpnpErrorCode.NoTrafficReceived)
        {
            return false;
        }
        UpnpException.ThrowIfFailed(r);
        return working != 0;
    }

    /// <summary>The root description URL.</summary>
    /// <returns>A one-line description of this gateway.</returns>
    public override string ToString() => $"{RootDescriptionUrl} ({ServiceType}, {State}, local address {LocalAddress})";

    // ------------------------------------------------------------------ helpers

    private Task<T> Native<T>(Func<T> call, CancellationToken cancellationToken) =>
        NativeCall.RunAsync(RouterSlots.For(ControlUrl), call, OperationTimeout, cancellationToken, _calls);

    private IgdDescription RequireFirewall() => SupportsPinholes
        ? _igd
        : throw new NotSupportedException($"The gateway at {RootDescriptionUrl} has no WANIPv6FirewallControl service.");

    private IPAddress LocalIPv6() => LocalAddress.AddressFamily == AddressFamily.InterNetworkV6
        ? LocalAddress
        : throw new InvalidOperationException(
            "This gateway was opened over IPv4: pass internalClient, or open the gateway from its IPv6 description URL (pinholes must be requested over IPv6).");

    private IPAddress LocalIPv4() => LocalAddress.AddressFamily == AddressFamily.InterNetwork
        ? LocalAddress
        : throw new InvalidOperationException("This gateway was opened over IPv6: pass internalClient (an IPv4 address) for a port mapping.");

    private static string CheckPinholeId(int uniqueId) => uniqueId is >= 0 and <= 65535
        ? Check.Text(uniqueId)
        : throw new ArgumentOutOfRangeException(nameof(uniqueId), uniqueId, "A pinhole id is from 0 to 65535.");

    private readonly record struct MappingText(string ExternalPort, string InternalPort, string Client, string Description,
        string Protocol, string? RemoteHost, string Lease);

    private MappingText MappingArguments(PortMappingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        Check.Protocol(request.Protocol, nameof(request.Protocol));
        Check.Port(request.InternalPort, nameof(request.InternalPort));
        if (request.ExternalPort != 0)
        {
            Check.Port(request.ExternalPort, nameof(request.ExternalPort));
        }
        string lease = Check.Lease(request.LeaseDuration, Check.MaxLease, allowZero: true, nameof(request.LeaseDuration));
        string desc = Check.Description(request.Description ?? "MiniUpnp.Net", nameof(request.Description));
        Check.IPv4(request.InternalClient, nameof(request.InternalClient));
        Check.IPv4(request.RemoteHost, nameof(request.RemoteHost));
        return new MappingText(Check.Text(request.EffectiveExternalPort), Check.Text(request.InternalPort),
            Check.Text(request.InternalClient ?? LocalIPv4()), desc, request.Protocol.ToWire(),
            request.RemoteHost is null ? null : Check.Text(request.RemoteHost), lease);
    }

    internal static UpnpException InvalidResponse(string what) =>
        new(Miniupnpc.UPNPCOMMAND_INVALID_RESPONSE, $"{Miniupnpc.strupnperror(Miniupnpc.UPNPCOMMAND_INVALID_RESPONSE)}: {what}");

    private static int ParsePort(string text, string what) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 1 and <= 65535
            ? port
            : throw InvalidResponse($"the {what} '{text}' is not from 1 to 65535");

    internal static PortMappingEntry ParseEntry(PortMappingProtocol protocol, int externalPort, string client, string internalPort,
        string description, string enabled, string remoteHost, string lease)
    {
        if (!IPAddress.TryParse(client, out var internalClient))
        {
            throw InvalidResponse($"the internal client '{client}' of port {externalPort} is not an address");
        }
        uint seconds = 0;
        if (lease.Length > 0 && !uint.TryParse(lease, NumberStyles.None, CultureInfo.InvariantCulture, out seconds))
        {
            throw InvalidResponse($"the lease '{lease}' of port {externalPort} is not a number of seconds");
        }
        return new PortMappingEntry(protocol, externalPort, internalClient, ParsePort(internalPort, "internal port"), description,
            enabled == "1" || enabled.Equals("true", StringComparison.OrdinalIgnoreCase),
            // A remote host that is not an address (a wildcard spelled some other way) counts as "any".
            IPAddress.TryParse(remoteHost, out var remote) ? remote : null,
            TimeSpan.FromSeconds(seconds));
    }

    private static PortMappingEntry ParseBulkEntry(PortMapping m)
    {
        if (!PortMappingProtocolText.TryParse(m.protocol, out var protocol))
        {
            throw InvalidResponse($"a listed mapping has the protocol '{m.protocol}'");
        }
        if (m.externalPort == 0 || m.internalPort == 0)
        {
            throw InvalidResponse("a listed mapping has port 0");
        }
        if (m.leaseTime > uint.MaxValue)
        {
            throw InvalidResponse($"the lease {m.leaseTime} of port {m.externalPort} is too long");
        }
        return ParseEntry(protocol, m.externalPort, m.internalClient, Check.Text(m.internalPort), m.description,
            m.enabled != 0 ? "1" : "0", m.remoteHost, m.leaseTime.ToString(CultureInfo.InvariantCulture));
    }
}
