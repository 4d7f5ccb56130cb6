using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;
using MiniUpnp.Net.Tests.Support;

namespace MiniUpnp.Net.Tests.Hostile;

/// <summary>What part of a router a member exercises: it decides which cases are relevant and what the router targets.</summary>
internal enum MemberKind
{
    /// <summary>SSDP discovery (SSDP cases).</summary>
    Discover,

    /// <summary>A root description fetch (HTTP and description cases).</summary>
    Description,

    /// <summary>A SOAP action on an opened gateway (HTTP, description and SOAP cases).</summary>
    Control,
}

/// <summary>Everything one cell needs: its router and the options the async layer runs with.</summary>
internal sealed class Cell
{
    internal Cell(FakeRouter router) => Router = router;

    internal FakeRouter Router { get; }

    /// <summary>The token every async member is given (cancelled by the cancellation pass).</summary>
    internal CancellationToken Token { get; init; }

    /// <summary>Set by members that find how many native calls a listing may make (for its bound).</summary>
    internal int Calls { get; set; } = 1;

    internal GatewayDiscoveryOptions Options()
    {
        var options = new GatewayDiscoveryOptions
        {
            Timeout = HostileMembers.DiscoveryTimeout,
            OperationTimeout = HostileMembers.OperationTimeout,
            RememberedUrlTimeout = HostileMembers.RememberedUrlTimeout,
            SearchMulticast = false,
            SearchDefaultGateways = false,
        };
        options.UnicastTargets.Add(Router.SsdpEndPoint);
        return options;
    }

    internal async Task<UpnpGateway> OpenAsync() =>
        await UpnpGateway.OpenAsync(new Uri(Router.DescriptionUrl), Options(), Token).ConfigureAwait(false);

    /// <summary>A faithful UPnP with the router's IGD selected (Python keeps what it got even when selectigd fails).</summary>
    internal UPnP Faithful(bool select = true)
    {
        var u = new UPnP(multicastif: "127.0.0.1", minissdpdsocket: Router.MinissdpdSocket ?? "", discoverdelay: 1000);
        if (select)
        {
            try
            {
                u.SelectIgd(Router.DescriptionUrl);
            }
            catch (UpnpException)
            {
                // Python goes on with the URLs it got: so do the members after it.
            }
        }
        return u;
    }
}

/// <summary>One public member of UPnP or of the async layer, as run against a hostile router, with its bound.</summary>
/// <param name="Name">F.* for the faithful UPnP, A.* for the async layer.</param>
/// <param name="Kind">What it exercises.</param>
/// <param name="Run">Runs the member once; returns its value.</param>
/// <param name="Bound">The most it may take for a case (documented in docs/reliability.md).</param>
internal sealed record Member(string Name, MemberKind Kind, Func<Cell, Task<object?>> Run, Func<HostileCase, Cell, TimeSpan> Bound)
{
    internal bool Faithful => Name.StartsWith("F.", StringComparison.Ordinal);

    internal bool IsRelevant(HostileCase c) => c.Layer switch
    {
        HostileLayer.Ssdp => Kind == MemberKind.Discover,
        HostileLayer.Soap => Kind == MemberKind.Control,
        _ => Kind != MemberKind.Discover,
    };
}

internal static class HostileMembers
{
    internal static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(1.5);
    internal static readonly TimeSpan DiscoveryTimeout = TimeSpan.FromSeconds(1.5);
    internal static readonly TimeSpan RememberedUrlTimeout = TimeSpan.FromSeconds(1);
    internal static readonly TimeSpan DisposeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Scheduling slack on a loaded 2-core machine (every bound adds it once).</summary>
    internal static readonly TimeSpan Slack = TimeSpan.FromSeconds(2.5);

    /// <summary>The faithful port's bound for one call (<see cref="UPnP.CallTimeout"/>, left at its default here).</summary>
    internal static readonly TimeSpan FaithfulCall = UPnP.DefaultCallTimeout;

    /// <summary>The faithful port's bound for Discover: the call's bound plus four times the discovery delay (1 s here).</summary>
    internal static readonly TimeSpan FaithfulDiscover = FaithfulCall + 4 * TimeSpan.FromSeconds(1);

    private static readonly IPAddress Client = IPAddress.Parse("127.0.0.1");
    private static readonly IPAddress Client6 = IPAddress.Parse("fd00::2");

    private static Func<Cell, Task<object?>> F(Func<UPnP, object?> call) => cell => Task.Factory.StartNew(() =>
    {
        using var u = cell.Faithful();
        return call(u);
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static Func<Cell, Task<object?>> A(Func<UpnpGateway, CancellationToken, Task<object?>> call) => async cell =>
        await call(await cell.OpenAsync().ConfigureAwait(false), cell.Token).ConfigureAwait(false);

    // Cell.Faithful selects the IGD first: two calls, each within its bound.
    private static TimeSpan FaithfulSoap(HostileCase c, Cell _) => FaithfulCall * 2 + Slack;
    private static TimeSpan AsyncSoap(HostileCase c, Cell _) => OperationTimeout * 2 + Slack;

    internal static IReadOnlyList<Member> All { get; } = new List<Member>
    {
        // ---- faithful port: discovery (minissdpd first, as miniupnpc does; multicast only on loopback)
        new("F.Discover", MemberKind.Discover, cell => Task.Factory.StartNew<object?>(() =>
        {
            using var u = cell.Faithful(select: false);
            return u.Discover();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default),
            // miniupnpc's own: 4 device types x (minissdpd read timeout 3 s) + the multicast fallback (about 4 x 1 s on loopback).
            (c, _) => FaithfulDiscover + Slack),
        new("F.Discover+SelectIgd", MemberKind.Discover, cell => Task.Factory.StartNew<object?>(() =>
        {
            using var u = cell.Faithful(select: false);
            u.Discover();
            return u.SelectIgd();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default),
            // Discovery, then SelectIgd: one description fetch per device (up to 255 minissdpd devices), all within one bound.
            (c, _) => FaithfulDiscover + FaithfulCall + Slack),

        // ---- faithful port: description
        new("F.SelectIgd", MemberKind.Description, cell => Task.Factory.StartNew<object?>(() =>
        {
            using var u = cell.Faithful(select: false);
            return u.SelectIgd(cell.Router.DescriptionUrl);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default), (c, _) => FaithfulCall + Slack),

        // ---- faithful port: SOAP
        new("F.StatusInfo", MemberKind.Control, F(u => u.StatusInfo()), FaithfulSoap),
        new("F.ConnectionType", MemberKind.Control, F(u => u.ConnectionType()), FaithfulSoap),
        new("F.ExternalIpAddress", MemberKind.Control, F(u => u.ExternalIpAddress()), FaithfulSoap),
        new("F.TotalByteSent", MemberKind.Control, F(u => u.TotalByteSent()), FaithfulSoap),
        new("F.TotalByteReceived", MemberKind.Control, F(u => u.TotalByteReceived()), FaithfulSoap),
        new("F.TotalPacketSent", MemberKind.Control, F(u => u.TotalPacketSent()), FaithfulSoap),
        new("F.TotalPacketReceived", MemberKind.Control, F(u => u.TotalPacketReceived()), FaithfulSoap),
        new("F.AddPortMapping", MemberKind.Control, F(u => u.AddPortMapping(4000, "TCP", "127.0.0.1", 4000, "hostile", null)), FaithfulSoap),
        new("F.AddAnyPortMapping", MemberKind.Control, F(u => u.AddAnyPortMapping(4000, "TCP", "127.0.0.1", 4000, "hostile", null)), FaithfulSoap),
        new("F.DeletePortMapping", MemberKind.Control, F(u => u.DeletePortMapping(4000, "TCP")), FaithfulSoap),
        new("F.DeletePortMappingRange", MemberKind.Control, F(u => u.DeletePortMappingRange(4000, 4010, "TCP", 0)), FaithfulSoap),
        new("F.GetPortMappingNumberOfEntries", MemberKind.Control, F(u => u.GetPortMappingNumberOfEntries()), FaithfulSoap),
        new("F.GetSpecificPortMapping", MemberKind.Control, F(u => u.GetSpecificPortMapping(4000, "TCP")), FaithfulSoap),
        new("F.GetGenericPortMapping", MemberKind.Control, F(u => u.GetGenericPortMapping(0)), FaithfulSoap),

        // ---- async layer: discovery and opening
        new("A.GatewayDiscovery.DiscoverWithReportAsync", MemberKind.Discover,
            async cell => await GatewayDiscovery.DiscoverWithReportAsync(cell.Options(), cell.Token).ConfigureAwait(false), (_, _) => DiscoveryTimeout + Slack),
        new("A.UpnpGateway.DiscoverAsync", MemberKind.Discover,
            async cell => await UpnpGateway.DiscoverAsync(cell.Options(), cell.Token).ConfigureAwait(false), (_, _) => DiscoveryTimeout + Slack),
        new("A.DiscoverAsync(desc)", MemberKind.Description,
            async cell => await GatewayDiscovery.DiscoverWithReportAsync(cell.Options(), cell.Token).ConfigureAwait(false), (_, _) => DiscoveryTimeout + Slack),
        new("A.OpenAsync", MemberKind.Description, async cell => await cell.OpenAsync().ConfigureAwait(false), (_, _) => OperationTimeout + Slack),
        new("A.OpenOrDiscoverAsync", MemberKind.Description,
            async cell => await GatewayDiscovery.OpenOrDiscoverAsync(new Uri(cell.Router.DescriptionUrl), cell.Options(), cell.Token).ConfigureAwait(false),
            (_, _) => RememberedUrlTimeout + DiscoveryTimeout + Slack),

        // ---- async layer: SOAP (each opens the gateway first: one description fetch within OperationTimeout)
        new("A.CheckStateAsync", MemberKind.Control, A(async (g, t) => await g.CheckStateAsync(t)), AsyncSoap),
        new("A.GetExternalAddressAsync", MemberKind.Control, A(async (g, t) => await g.GetExternalAddressAsync(t)), AsyncSoap),
        new("A.GetStatusAsync", MemberKind.Control, A(async (g, t) => await g.GetStatusAsync(t)), AsyncSoap),
        new("A.AddMappingAsync", MemberKind.Control,
            A(async (g, t) => { await g.AddMappingAsync(new PortMappingRequest(PortMappingProtocol.Tcp, 4000) { ExternalPort = 4000, LeaseDuration = TimeSpan.FromHours(1), Description = "hostile", InternalClient = Client }, t); return null; }), AsyncSoap),
        new("A.AddAnyMappingAsync", MemberKind.Control,
            A(async (g, t) => await g.AddAnyMappingAsync(new PortMappingRequest(PortMappingProtocol.Tcp, 4000) { ExternalPort = 4000, LeaseDuration = TimeSpan.FromHours(1), Description = "hostile", InternalClient = Client }, t)), AsyncSoap),
        new("A.DeleteMappingAsync", MemberKind.Control,
            A(async (g, t) => { await g.DeleteMappingAsync(PortMappingProtocol.Tcp, 4000, cancellationToken: t); return null; }), AsyncSoap),
        new("A.DeleteMappingRangeAsync", MemberKind.Control,
            A(async (g, t) => { await g.DeleteMappingRangeAsync(PortMappingProtocol.Tcp, 4000, 4010, cancellationToken: t); return null; }), AsyncSoap),
        new("A.GetMappingAsync", MemberKind.Control, A(async (g, t) => await g.GetMappingAsync(PortMappingProtocol.Tcp, 4000, cancellationToken: t)), AsyncSoap),
        // Listings: one OperationTimeout per native call; the number of calls is the layer's stated bound.
        new("A.ListMappingsAsync(Bulk)", MemberKind.Control, A(async (g, t) => await g.ListMappingsAsync(PortMappingListMethod.Bulk, cancellationToken: t)),
            (_, _) => OperationTimeout * (1 + 2 * (UpnpGateway.MaxListedMappings / 1000 + 1)) + Slack),
        new("A.ListMappingsAsync(EntryByEntry)", MemberKind.Control, A(async (g, t) => await g.ListMappingsAsync(PortMappingListMethod.EntryByEntry, cancellationToken: t)),
            (_, _) => OperationTimeout * (3 + UpnpGateway.MaxListedMappings) + Slack),
        new("A.ListMappingsAsync(Automatic)", MemberKind.Control, A(async (g, t) => await g.ListMappingsAsync(cancellationToken: t)),
            (_, _) => OperationTimeout * (4 + 2 * (UpnpGateway.MaxListedMappings / 1000 + 1) + UpnpGateway.MaxListedMappings) + Slack),
        new("A.GetFirewallStatusAsync", MemberKind.Control, A(async (g, t) => await g.GetFirewallStatusAsync(t)), AsyncSoap),
        new("A.AddPinholeAsync", MemberKind.Control,
            A(async (g, t) => await g.AddPinholeAsync(PortMappingProtocol.Tcp, 4000, TimeSpan.FromHours(1), Client6, cancellationToken: t)), AsyncSoap),
        new("A.UpdatePinholeAsync", MemberKind.Control, A(async (g, t) => { await g.UpdatePinholeAsync(7, TimeSpan.FromHours(1), cancellationToken: t); return null; }), AsyncSoap),
        new("A.DeletePinholeAsync", MemberKind.Control, A(async (g, t) => { await g.DeletePinholeAsync(7, cancellationToken: t); return null; }), AsyncSoap),
        new("A.CheckPinholeWorkingAsync", MemberKind.Control, A(async (g, t) => await g.CheckPinholeWorkingAsync(7, cancellationToken: t)), AsyncSoap),
        new("A.LeaseMappingAsync+Dispose", MemberKind.Control, A(async (g, t) =>
        {
            var options = new PortMappingLeaseOptions(PortMappingProtocol.Tcp, 4000)
            {
                InternalClient = Client, MaxPortAttempts = 2, DisposeTimeout = DisposeTimeout, LeaseDuration = TimeSpan.FromHours(1),
            };
            await using var lease = await g.LeaseMappingAsync(options, cancellationToken: t);
            return lease.ExternalEndPoint;
        }), (_, _) => OperationTimeout * 8 + DisposeTimeout + Slack),
        new("A.LeasePinholeAsync+Dispose", MemberKind.Control, A(async (g, t) =>
        {
            var options = new PinholeLeaseOptions(PortMappingProtocol.Tcp, 4000)
            {
                InternalClient = Client6, DisposeTimeout = DisposeTimeout, LeaseDuration = TimeSpan.FromHours(1),
            };
            await using var lease = await g.LeasePinholeAsync(options, cancellationToken: t);
            return lease.UniqueId;
        }), (_, _) => OperationTimeout * 4 + DisposeTimeout + Slack),
    };

    /// <summary>What the async layer may never return (validated values); null when the value is acceptable.</summary>
    internal static string? InvalidAsyncValue(object? value) => value switch
    {
        int port when port is < 0 or > 65535 => $"int {port} out of range",
        PortMappingEntry e => InvalidEntry(e),
        IReadOnlyList<PortMappingEntry> list when list.Count > UpnpGateway.MaxListedMappings => $"{list.Count} entries, above the cap",
        IReadOnlyList<PortMappingEntry> list => list.Select(InvalidEntry).FirstOrDefault(x => x is not null),
        GatewayStatus s when s.Uptime < TimeSpan.Zero => $"negative uptime {s.Uptime}",
        IPEndPoint ep when ep.Port is < 1 or > 65535 => $"endpoint {ep}",
        _ => null,
    };

    private static string? InvalidEntry(PortMappingEntry e) =>
        e.ExternalPort is < 1 or > 65535 || e.InternalPort is < 1 or > 65535 ? $"entry with ports {e.ExternalPort}/{e.InternalPort}"
        : e.LeaseDuration < TimeSpan.Zero ? $"entry with lease {e.LeaseDuration}"
        : e.Description.Length > 4096 ? $"entry with a {e.Description.Length}-character description"
        : null;
}
