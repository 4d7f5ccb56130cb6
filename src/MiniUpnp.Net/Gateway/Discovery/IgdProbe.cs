using System;
using System.Net;

using MiniUpnp.Net.Native;

namespace MiniUpnp.Net;

/// <summary>
/// Fetches one root description (<see cref="DescriptionFetch"/>: size cap and deadline), reads it with miniupnpc's
/// parser and, when asked, finds the gateway's state exactly as
/// <c>UPNP_GetValidIGD</c> does for one device (miniupnpc.c, 2.3.3): the first WAN connection service, then the
/// second one swapped into first place, each checked as <c>UPNPIGD_IsConnected</c> does (<see cref="IsConnected"/>) and
/// with <c>UPNP_GetExternalIPAddress</c> + <c>addr_is_reserved</c>. Blocking: run it through <see cref="NativeCall"/>.
/// Every native allocation is made and freed inside <see cref="Probe"/>, so an abandoned probe leaks nothing.
/// </summary>
internal static class IgdProbe
{
    private const string CifPrefix = "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:";

    /// <summary>What a probe found: a usable description (with its state) or the reason there is none.</summary>
    internal sealed record Result(IgdDescription? Description, GatewayState State, IPAddress? ExternalAddress, string? Failure);

    /// <summary>Fetches and parses <paramref name="rootUrl"/>; with <paramref name="checkState"/>, also asks the
    /// router for its connection status and external address (one or two SOAP calls per WAN service).</summary>
    /// <remarks>
    /// The fetch is <see cref="DescriptionFetch"/> (managed, at most 256 KiB, ends by <paramref name="fetchTimeout"/>,
    /// <see cref="DescriptionFetch.DefaultTimeout"/> when null); the parse is miniupnpc's, as in
    /// <c>UPNP_GetIGDFromUrl</c>: <c>parserootdesc</c>, then <c>GetUPNPUrls</c> with the URL and scope 0. The local
    /// address is that of the fetch's connection, as <c>miniwget_getaddr</c> reports it.
    /// </remarks>
    internal static Result Probe(string rootUrl, bool checkState, bool allowForeignAddresses, TimeSpan? fetchTimeout = null)
    {
        var fetched = DescriptionFetch.Fetch(new Uri(rootUrl), fetchTimeout ?? DescriptionFetch.DefaultTimeout);
        if (fetched.Body is null || fetched.LocalAddress is null)
        {
            return Fail($"the root description could not be fetched: {fetched.Failure}");
        }
        if (fetched.Body.Length == 0)
        {
            // Also: an empty span reaches parserootdesc as a NULL buffer, and minixml then reads address 0.
            return Fail("the root description is empty");
        }
        using var urls = new SafeUrlsHandle();
        var data = new IGDdatas();
        Miniupnpc.parserootdesc(fetched.Body, data);
        Miniupnpc.GetUPNPUrls(urls, data, rootUrl, 0);
        var localAddress = fetched.LocalAddress;
        bool isIgd = data.CIF.servicetype.StartsWith(CifPrefix, StringComparison.Ordinal);
        var first = Read(rootUrl, urls, data, localAddress);
        if (!isIgd)
        {
            return new Result(first, GatewayState.UnrecognizedDevice, null, "not an IGD: the description has no WANCommonInterfaceConfig service");
        }
        string? problem = Validate(first, allowForeignAddresses);
        if (problem is not null)
        {
            return Fail(problem);
        }
        if (!checkState)
        {
            return new Result(first, GatewayState.NotChecked, null, null);
        }

        // State 1 (connected, public address) on the first service?
        bool firstConnected = IsConnected(first);
        IPAddress? firstExternal = firstConnected ? ExternalAddress(first) : null;
        if (firstConnected && firstExternal is not null && !ReservedAddresses.IsReserved(firstExternal))
        {
            return new Result(first, GatewayState.Connected, firstExternal, null);
        }

        // The second WAN connection service, swapped into first place as UPNP_GetValidIGD does.
        IgdDescription? second = null;
        bool secondConnected = false;
        IPAddress? secondExternal = null;
        if (data.second.servicetype.Length > 0)
        {
            data.SwapFirstAndSecondService();
            using var secondUrls = new SafeUrlsHandle();
            Miniupnpc.GetUPNPUrls(secondUrls, data, rootUrl, 0);
            second = Read(rootUrl, secondUrls, data, localAddress);
            if (Validate(second, allowForeignAddresses) is null)
            {
                secondConnected = IsConnected(second);
                secondExternal = secondConnected ? ExternalAddress(second) : null;
                if (secondConnected && secondExternal is not null && !ReservedAddresses.IsReserved(secondExternal))
                {
                    return new Result(second, GatewayState.Connected, secondExternal, null);
                }
            }
        }
        if (firstConnected)
        {
            return new Result(first, GatewayState.ConnectedWithReservedAddress, firstExternal, null);
        }
        if (secondConnected)
        {
            return new Result(second, GatewayState.ConnectedWithReservedAddress, secondExternal, null);
        }
        return new Result(first, GatewayState.NotConnected, null, null);

        static Result Fail(string why) => new(null, GatewayState.NotChecked, null, why);
    }

    // GetUPNPUrls turns an absent service's empty control URL into the description's base URL: look at the
    // description's own (relative) field to know whether the service is there at all.
    private static IgdDescription Read(string rootUrl, SafeUrlsHandle urls, IGDdatas data, IPAddress localAddress)
    {
        var first = data.first;
        var cif = data.CIF;
        var firewall = data.IPv6FC;
        return new IgdDescription(
            rootUrl,
            first.controlurl.Length > 0 ? urls.controlURL : string.Empty,
            first.servicetype,
            cif.controlurl.Length > 0 ? urls.controlURL_CIF : string.Empty,
            cif.servicetype,
            firewall.controlurl.Length > 0 && firewall.servicetype.Length > 0 ? urls.controlURL_6FC : string.Empty,
            firewall.servicetype,
            localAddress);
    }

    /// <summary>
    /// The state of one WAN connection service, as <c>UPNP_GetValidIGD</c> judges it: not connected; connected with an
    /// external address that is public; or connected, but the address is reserved or cannot be read. Blocking.
    /// </summary>
    internal static (GatewayState State, IPAddress? ExternalAddress) StateOf(IgdDescription igd)
    {
        if (!IsConnected(igd))
        {
            return (GatewayState.NotConnected, null);
        }
        var external = ExternalAddress(igd);
        return external is not null && !ReservedAddresses.IsReserved(external)
            ? (GatewayState.Connected, external)
            : (GatewayState.ConnectedWithReservedAddress, external);
    }

    /// <summary><c>UPNPIGD_IsConnected</c> (miniupnpc.c): <c>GetStatusInfo</c> succeeds and says the connection is up.</summary>
    internal static bool IsConnected(IgdDescription igd) =>
        Miniupnpc.UPNP_GetStatusInfo(igd.ControlUrl, igd.ServiceType, out string status, out _, out _) == Miniupnpc.UPNPCOMMAND_SUCCESS
        && IsConnectedStatus(status);

    /// <summary>The one rule for "connected" in this layer: miniupnpc's (<c>UPNPIGD_IsConnected</c> compares the status
    /// with "Connected" and "Up").</summary>
    internal static bool IsConnectedStatus(string status) => status is "Connected" or "Up";

    /// <summary>The external address as an IPv4 address, or null when the call fails or the text is not one.</summary>
    private static IPAddress? ExternalAddress(IgdDescription igd)
    {
        int r = Miniupnpc.UPNP_GetExternalIPAddress(igd.ControlUrl, igd.ServiceType, out string text);
        return r == Miniupnpc.UPNPCOMMAND_SUCCESS && ReservedAddresses.TryParseDottedQuad(text, out var address) ? address : null;
    }

    /// <summary>
    /// The checks this layer adds to miniupnpc's: a WAN connection service with an absolute http control URL and,
    /// unless <paramref name="allowForeignAddresses"/>, every control URL on the host that served the description
    /// (a description must not send our SOAP requests to some other machine).
    /// </summary>
    internal static string? Validate(IgdDescription igd, bool allowForeignAddresses)
    {
        if (igd.ServiceType.Length == 0 || !IsHttpUrl(igd.ControlUrl, out _))
        {
            return "the description names no usable WAN connection service";
        }
        if (allowForeignAddresses)
        {
            return null;
        }
        var root = new Uri(igd.RootUrl);
        foreach (string url in new[] { igd.ControlUrl, igd.CifControlUrl, igd.FirewallControlUrl })
        {
            if (url.Length > 0 && (!IsHttpUrl(url, out var u) || !SameHost(u, root)))
            {
                return $"the description sends control requests to {url}, not to the host that served it ({root.Host})";
            }
        }
        return null;
    }

    internal static bool IsHttpUrl(string text, out Uri uri)
    {
        uri = null!;
        if (text.Length is 0 or > 1024 || !Uri.TryCreate(text, UriKind.Absolute, out var parsed) || parsed.Scheme != Uri.UriSchemeHttp)
        {
            return false;
        }
        uri = parsed;
        return true;
    }

    internal static bool SameHost(Uri a, Uri b) => string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase);
}

/// <summary>What the async layer keeps of a parsed description: strings only, no native memory.</summary>
/// <param name="RootUrl">The root description's URL.</param>
/// <param name="ControlUrl">The WAN connection service's absolute control URL.</param>
/// <param name="ServiceType">Its service type (WANIPConnection:1/2 or WANPPPConnection:1).</param>
/// <param name="CifControlUrl">WANCommonInterfaceConfig's control URL (empty when none).</param>
/// <param name="CifServiceType">Its service type.</param>
/// <param name="FirewallControlUrl">WANIPv6FirewallControl's control URL (empty when none).</param>
/// <param name="FirewallServiceType">Its service type.</param>
/// <param name="LocalAddress">Our address on the connection to the router.</param>
internal sealed record IgdDescription(
    string RootUrl,
    string ControlUrl,
    string ServiceType,
    string CifControlUrl,
    string CifServiceType,
    string FirewallControlUrl,
    string FirewallServiceType,
    IPAddress LocalAddress);
