using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace MiniUpnp.Net;

/// <summary>
/// Finds the Internet Gateway Device with SSDP and says why it chose it. Unlike miniupnpc's <c>upnpDiscover</c>,
/// which always waits out its whole delay (at least one second of silence), a discovery returns as soon as a
/// connected IGD is known: the search goes out by multicast and, by unicast, to the default gateway; each distinct
/// LOCATION that answers is fetched, parsed and validated by miniupnpc (<c>UPNP_GetIGDFromUrl</c>) and its state
/// derived exactly as <c>UPNP_GetValidIGD</c> does, while more answers are still arriving.
/// </summary>
/// <remarks>
/// <para>Security: by default a description is fetched only from the address that sent the answer, and control
/// requests go only to the host that served the description (see
/// <see cref="GatewayDiscoveryOptions.AllowForeignAddresses"/>).</para>
/// <para>Cancellation and timeouts: the returned task ends when the token is cancelled (with
/// <see cref="OperationCanceledException"/>) or when <see cref="GatewayDiscoveryOptions.Timeout"/> has passed (with
/// the best result so far). Description fetches still running then are abandoned: each goes on in the background
/// until miniupnpc gives up on its own (connect 3 s, each receive 5 s), frees what it allocated, and is ignored.</para>
/// </remarks>
public static class GatewayDiscovery
{
    /// <summary>Searches for gateways and chooses one, and reports why: every candidate seen and the reason for the
    /// choice (<see cref="UpnpGateway.DiscoverAsync"/> returns the chosen gateway alone).</summary>
    /// <param name="options">Options, or null for the defaults.</param>
    /// <param name="cancellationToken">Stops the search.</param>
    /// <returns>The chosen gateway (or none), every candidate seen, and the reason for the choice.</returns>
    /// <exception cref="ArgumentException">An option has a value a search cannot use.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public static async Task<GatewayDiscoveryResult> DiscoverWithReportAsync(GatewayDiscoveryOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options = options?.Clone() ?? new GatewayDiscoveryOptions(); // a private copy: the caller may change theirs
        options.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        var search = new SsdpSearch(options);
        return Logged(options, await search.RunAsync(cancellationToken).ConfigureAwait(false));
    }

    private static GatewayDiscoveryResult Logged(GatewayDiscoveryOptions options, GatewayDiscoveryResult result)
    {
        var log = options.LoggerOrNull;
        foreach (var candidate in result.Candidates)
        {
            log.LogDebug("UPnP discovery: candidate {Location} from {Responder}: {State} {Note}", candidate.Location, candidate.Responder, candidate.State, candidate.Note);
        }
        if (result.Gateway is null)
        {
            log.LogWarning("UPnP discovery found no gateway in {Elapsed} ms: {Reason}", (long)result.Elapsed.TotalMilliseconds, result.Reason);
        }
        else
        {
            log.LogInformation("UPnP discovery chose {Gateway} in {Elapsed} ms: {Reason}", result.Gateway.RootDescriptionUrl,
                (long)result.Elapsed.TotalMilliseconds, result.Reason);
        }
        return result;
    }

    /// <summary>
    /// Warm start: reopens the gateway from a remembered root-description URL without SSDP (one description fetch,
    /// validated by miniupnpc), and falls back to <see cref="DiscoverWithReportAsync"/> when the URL is stale (no answer within
    /// <see cref="GatewayDiscoveryOptions.RememberedUrlTimeout"/>, or not an IGD any more).
    /// </summary>
    /// <param name="rememberedUrl">A <see cref="UpnpGateway.RootDescriptionUrl"/> from an earlier run, or null to
    /// discover straight away.</param>
    /// <param name="options">Options, or null for the defaults.</param>
    /// <param name="cancellationToken">Stops the whole operation.</param>
    /// <returns>The gateway and how it was found (<see cref="GatewayDiscoveryResult.UsedRememberedUrl"/>).</returns>
    /// <exception cref="ArgumentException"><paramref name="rememberedUrl"/> is not an absolute http URL, or an option is unusable.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public static async Task<GatewayDiscoveryResult> OpenOrDiscoverAsync(Uri? rememberedUrl, GatewayDiscoveryOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        string? url = rememberedUrl is null ? null : UpnpGateway.CheckRootUrl(rememberedUrl, nameof(rememberedUrl));
        options = (options ?? new GatewayDiscoveryOptions()).Clone();
        options.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        if (url is null)
        {
            return await DiscoverWithReportAsync(options, cancellationToken).ConfigureAwait(false);
        }

        var watch = Stopwatch.StartNew();
        string failure;
        try
        {
            var probe = await NativeCall.RunAsync(() => IgdProbe.Probe(url, checkState: false, options.AllowForeignAddresses),
                options.RememberedUrlTimeout, cancellationToken).ConfigureAwait(false);
            var gateway = UpnpGateway.FromProbe(probe, url, options);
            var candidate = new GatewayCandidate(gateway.RootDescriptionUrl, null, Array.Empty<string>(), null,
                GatewayState.NotChecked, null, watch.Elapsed, "remembered URL");
            return Logged(options, new GatewayDiscoveryResult(gateway, new[] { candidate },
                $"{url}: reopened from the remembered URL without SSDP (one description fetch, {watch.ElapsedMilliseconds} ms)",
                watch.Elapsed, usedRememberedUrl: true));
        }
        catch (UpnpException e)
        {
            failure = e.Message;
        }
        catch (TimeoutException)
        {
            failure = $"no answer within {options.RememberedUrlTimeout.TotalMilliseconds:0} ms";
        }

        var discovered = await DiscoverWithReportAsync(options, cancellationToken).ConfigureAwait(false);
        var stale = new GatewayCandidate(rememberedUrl!, null, Array.Empty<string>(), null, null, null, null,
            $"remembered URL, stale: {failure}");
        options.LoggerOrNull.LogInformation("UPnP: the remembered URL {Url} is stale ({Failure}); discovered instead", url, failure);
        return new GatewayDiscoveryResult(discovered.Gateway, discovered.Candidates.Prepend(stale).ToArray(),
            $"remembered URL {url} is stale ({failure}); discovery: {discovered.Reason}", watch.Elapsed, usedRememberedUrl: false);
    }
}

/// <summary>The outcome of a discovery: the gateway chosen, if any, every candidate seen, and why.</summary>
public sealed class GatewayDiscoveryResult
{
    internal GatewayDiscoveryResult(UpnpGateway? gateway, IReadOnlyList<GatewayCandidate> candidates, string reason, TimeSpan elapsed,
        bool usedRememberedUrl)
    {
        Gateway = gateway;
        Candidates = candidates;
        Reason = reason;
        Elapsed = elapsed;
        UsedRememberedUrl = usedRememberedUrl;
    }

    /// <summary>The chosen gateway, or null when no usable IGD was found.</summary>
    public UpnpGateway? Gateway { get; }

    /// <summary>The chosen gateway's state (<see cref="GatewayState.NotChecked"/> when there is none, or when it was
    /// reopened from a remembered URL).</summary>
    public GatewayState State => Gateway?.State ?? GatewayState.NotChecked;

    /// <summary>Our address towards the chosen gateway, or null.</summary>
    public IPAddress? LocalAddress => Gateway?.LocalAddress;

    /// <summary>Every distinct description URL seen, in the order the answers came (an IGD answering several search
    /// targets appears once, with each target listed).</summary>
    public IReadOnlyList<GatewayCandidate> Candidates { get; }

    /// <summary>One line saying what was chosen and why, or why nothing was.</summary>
    public string Reason { get; }

    /// <summary>How long the discovery took.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>True when the gateway was reopened from a remembered URL (no SSDP).</summary>
    public bool UsedRememberedUrl { get; }

    /// <summary>The reason.</summary>
    /// <returns><see cref="Reason"/>.</returns>
    public override string ToString() => Reason;
}

/// <summary>A device that answered the search (or a remembered URL), and what became of it.</summary>
/// <param name="Location">Its root description URL (the answer's LOCATION).</param>
/// <param name="Responder">The address the answer came from (null for a remembered URL).</param>
/// <param name="SearchTargets">The search targets it answered.</param>
/// <param name="Server">Its SERVER header (operating system, UPnP version, product), if given.</param>
/// <param name="State">Its state when examined; null when it was not (ignored, failed, or still running).</param>
/// <param name="ExternalAddress">The external address it reported, if examined and connected.</param>
/// <param name="AnsweredAfter">Time from the start of the search to its answer.</param>
/// <param name="Note">Why it was ignored or failed, or null.</param>
public sealed record GatewayCandidate(
    Uri Location,
    IPAddress? Responder,
    IReadOnlyList<string> SearchTargets,
    string? Server,
    GatewayState? State,
    IPAddress? ExternalAddress,
    TimeSpan? AnsweredAfter,
    string? Note);
