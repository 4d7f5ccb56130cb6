using System;
using System.Net;
using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net;

/// <summary>What a <see cref="PortMapperLease"/> holds after an exchange: where peers reach it, for how long, and whether
/// the router's epoch showed a loss of its state (PCP and NAT-PMP).</summary>
internal readonly record struct HeldMapping(IPEndPoint EndPoint, TimeSpan Lifetime, bool StateLost);

/// <summary>One protocol's way to hold a mapping for a <see cref="PortMapperLease"/>.</summary>
internal abstract class MappingBackend
{
    private protected MappingBackend(PortMappingLeaseOptions options)
    {
        Options = options;
    }

    internal abstract PortMappingMethod Method { get; }

    private protected PortMappingLeaseOptions Options { get; }

    /// <summary>PCP and NAT-PMP have no permanent mapping: a permanent lease asks for two hours and renews.</summary>
    private protected TimeSpan Lifetime => Options.LeaseDuration == TimeSpan.Zero ? TimeSpan.FromHours(2)
        : Options.LeaseDuration < PcpClient.MaxLifetime ? Options.LeaseDuration : PcpClient.MaxLifetime;

    /// <summary>How often <see cref="RefreshAsync"/> runs: at half the lifetime, and at least every check interval.</summary>
    internal virtual TimeSpan RefreshInterval(TimeSpan granted) =>
        granted > TimeSpan.Zero && granted / 2 < Options.CheckInterval ? granted / 2 : Options.CheckInterval;

    /// <summary>Creates the mapping (a new one: PCP draws a new nonce), asking for <paramref name="externalPort"/>.</summary>
    internal abstract Task<HeldMapping> MapAsync(int externalPort, CancellationToken cancellationToken);

    /// <summary>Renews the mapping and reads it back (a router that lost it creates it again); throws when it cannot.</summary>
    internal abstract Task<HeldMapping> RefreshAsync(CancellationToken cancellationToken);

    /// <summary>Removes the mapping, if there is one.</summary>
    internal abstract Task ReleaseAsync(CancellationToken cancellationToken);

    internal static MappingBackend Create(PortMapper mapper, PortMappingMethod method, PortMappingLeaseOptions options, PortMapperLease owner) =>
        method switch
        {
            PortMappingMethod.Pcp => new PcpBackend(mapper.Pcp, options),
            PortMappingMethod.Natpmp => new NatpmpBackend(mapper.Natpmp ?? throw new ArgumentException("NAT-PMP needs an IPv4 router."), options),
            _ => new UpnpBackend(mapper, options, owner),
        };
}

/// <summary>PCP: MAP with one nonce per mapping; the renewal's answer is the read-back, and carries the external address.</summary>
internal sealed class PcpBackend : MappingBackend
{
    private readonly PcpClient _pcp;
    private PcpMapping? _mapping;

    internal PcpBackend(PcpClient pcp, PortMappingLeaseOptions options) : base(options)
    {
        _pcp = pcp;
    }

    internal override PortMappingMethod Method => PortMappingMethod.Pcp;

    internal override async Task<HeldMapping> MapAsync(int externalPort, CancellationToken cancellationToken)
    {
        var mapping = await _pcp.MapAsync(new PcpMapRequest(Options.Protocol, Options.InternalPort)
        {
            ExternalPort = externalPort,
            Lifetime = Lifetime,
        }, cancellationToken).ConfigureAwait(false);
        return Hold(mapping);
    }

    internal override async Task<HeldMapping> RefreshAsync(CancellationToken cancellationToken) =>
        Hold(await _pcp.RenewAsync(_mapping!, cancellationToken).ConfigureAwait(false));

    internal override async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _mapping) is { } mapping)
        {
            await _pcp.DeleteAsync(mapping, cancellationToken).ConfigureAwait(false);
        }
    }

    private HeldMapping Hold(PcpMapping mapping)
    {
        Volatile.Write(ref _mapping, mapping);
        return new HeldMapping(mapping.ExternalEndPoint, mapping.Lifetime, mapping.ServerStateLost);
    }
}

/// <summary>NAT-PMP: the mapping request, and the public address request (NAT-PMP's mapping answer has no address).</summary>
internal sealed class NatpmpBackend : MappingBackend
{
    private readonly NatpmpClient _natpmp;
    private NatpmpMapping? _mapping;

    internal NatpmpBackend(NatpmpClient natpmp, PortMappingLeaseOptions options) : base(options)
    {
        _natpmp = natpmp;
    }

    internal override PortMappingMethod Method => PortMappingMethod.Natpmp;

    internal override async Task<HeldMapping> MapAsync(int externalPort, CancellationToken cancellationToken)
    {
        var mapping = await _natpmp.MapAsync(new NatpmpMapRequest(Options.Protocol, Options.InternalPort)
        {
            ExternalPort = externalPort,
            Lifetime = Lifetime,
        }, cancellationToken).ConfigureAwait(false);
        return await HoldAsync(mapping, cancellationToken).ConfigureAwait(false);
    }

    internal override async Task<HeldMapping> RefreshAsync(CancellationToken cancellationToken) =>
        await HoldAsync(await _natpmp.RenewAsync(_mapping!, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    internal override async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _mapping) is { } mapping)
        {
            await _natpmp.DeleteAsync(mapping, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<HeldMapping> HoldAsync(NatpmpMapping mapping, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _mapping, mapping);
        var address = await _natpmp.GetPublicAddressAsync(cancellationToken).ConfigureAwait(false);
        return new HeldMapping(new IPEndPoint(address.Address, mapping.ExternalPort), mapping.Lifetime,
            mapping.ServerStateLost || address.ServerStateLost);
    }
}

/// <summary>UPnP: a <see cref="PortMappingLease"/>, which renews, checks and restores on its own; its events are the
/// owner's. A refresh only reports whether it holds.</summary>
internal sealed class UpnpBackend : MappingBackend
{
    private readonly PortMapper _mapper;
    private readonly PortMapperLease _owner;
    private PortMappingLease? _lease;

    internal UpnpBackend(PortMapper mapper, PortMappingLeaseOptions options, PortMapperLease owner) : base(options)
    {
        _mapper = mapper;
        _owner = owner;
    }

    internal override PortMappingMethod Method => PortMappingMethod.Upnp;

    internal override TimeSpan RefreshInterval(TimeSpan granted) => Options.CheckInterval;

    internal override async Task<HeldMapping> MapAsync(int externalPort, CancellationToken cancellationToken)
    {
        var gateway = await _mapper.UpnpAsync(cancellationToken).ConfigureAwait(false);
        var lease = (PortMappingLease)await gateway.LeaseMappingAsync(Options with { ExternalPort = externalPort }, cancellationToken)
            .ConfigureAwait(false);
        lease.Changed += (_, e) => _owner.Forward(this, nameof(PortMapperLease.Changed), e);
        lease.Lost += (_, e) => _owner.Forward(this, nameof(PortMapperLease.Lost), e);
        lease.Restored += (_, e) => _owner.Forward(this, nameof(PortMapperLease.Restored), e);
        Volatile.Write(ref _lease, lease);
        return Held(lease);
    }

    internal override Task<HeldMapping> RefreshAsync(CancellationToken cancellationToken)
    {
        var lease = _lease!;
        if (lease.Status != GatewayLeaseStatus.Active)
        {
            throw new TimeoutException($"UPnP: the mapping is lost and not restored yet ({lease.LastError?.Message ?? "no answer"}).");
        }
        return Task.FromResult(Held(lease));
    }

    internal override async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _lease) is { } lease)
        {
            // Bounded by the lease's DisposeTimeout; a failure stays in its LastError (the router decides, as ever).
            await lease.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static HeldMapping Held(PortMappingLease lease) =>
        new(lease.ExternalEndPoint ?? new IPEndPoint(IPAddress.Any, lease.ExternalPort), lease.GrantedLease, false);
}
