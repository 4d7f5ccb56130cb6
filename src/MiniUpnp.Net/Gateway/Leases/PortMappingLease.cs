using System;
using System.Net;
using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net;

/// <summary>
/// Keeps a port mapping on the router while the application runs: "keep port 6881 open, tell me my public endpoint,
/// clean up when I stop".
/// </summary>
/// <remarks>
/// <para>Mapping: AddAnyPortMapping on IGDv2 (the router picks another external port if the one asked for is taken);
/// else AddPortMapping, retried on other external ports (<see cref="PortMappingLeaseOptions.MaxPortAttempts"/>) on a
/// conflict. Either way the mapping is then read back (GetSpecificPortMappingEntry) to check the router kept it for
/// this host and port. A router that answers 725 (only permanent leases) gets a permanent mapping, which the lease
/// deletes on dispose like any other.</para>
/// <para>Keeping: see <see cref="GatewayLease"/>. Renewal re-adds the same mapping (miniupnpd treats it as an update).
/// A check reads the mapping back and asks for the external address; a mapping gone, taken by another host, or a router
/// that does not answer raises <see cref="GatewayLease.Lost"/>, and the mapping is restored (on the same external port
/// when it is free) with <see cref="GatewayLease.Restored"/>, and <see cref="GatewayLease.Changed"/> when the endpoint
/// differs.</para>
/// <example>
/// <code>
/// var gateway = await UpnpGateway.DiscoverAsync();
/// await using var lease = await gateway.LeaseMappingAsync(new PortMappingLeaseOptions(PortMappingProtocol.Tcp, 6881));
/// Console.WriteLine($"reachable at {lease.ExternalEndPoint}");
/// </code>
/// </example>
/// </remarks>
public sealed class PortMappingLease : GatewayLease, IPortMappingLease
{
    private readonly PortMappingLeaseOptions _options;
    private readonly IPAddress _client;
    private volatile bool _permanent;
    private int _externalPort;
    private int _swept;

    private PortMappingLease(UpnpGateway gateway, PortMappingLeaseOptions options, IPAddress client) : base(gateway, options)
    {
        _options = options;
        _client = client;
        _permanent = options.LeaseDuration == TimeSpan.Zero;
    }

    /// <summary>Maps the port, reads it back, and starts keeping it.</summary>
    /// <param name="gateway">The router.</param>
    /// <param name="options">What to map and how to keep it. The lease reads them while it runs: do not change them
    /// afterwards.</param>
    /// <param name="cancellationToken">Stops the initial mapping (whatever a cancelled start may have added is
    /// removed in the background).</param>
    /// <returns>The running lease.</returns>
    /// <exception cref="ArgumentException">An option is unusable.</exception>
    /// <exception cref="UpnpException">The router refused the mapping (every port tried was taken:
    /// <see cref="UpnpErrorCode.ConflictInMappingEntry"/>), or did not keep it (<see cref="UpnpErrorCode.InvalidResponse"/>).</exception>
    /// <exception cref="TimeoutException">The router did not answer in time.</exception>
    internal static async Task<PortMappingLease> StartAsync(UpnpGateway gateway, PortMappingLeaseOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var client = options.InternalClient ?? gateway.LocalAddress;
        Check.IPv4(client, nameof(options.InternalClient));
        var lease = new PortMappingLease(gateway, options, client);
        await lease.StartAsync(cancellationToken).ConfigureAwait(false);
        return lease;
    }

    /// <summary>TCP or UDP.</summary>
    public PortMappingProtocol Protocol => _options.Protocol;

    /// <summary>The mapped local port.</summary>
    public int InternalPort => _options.InternalPort;

    /// <summary>The LAN host the port is forwarded to.</summary>
    public IPAddress InternalClient => _client;

    /// <summary>The external port currently mapped (it differs from the one asked for after a conflict).</summary>
    public int ExternalPort => Volatile.Read(ref _externalPort);

    /// <summary>The router's external address, as last read (null when it could not be read).</summary>
    public IPAddress? ExternalAddress => ExternalEndPoint?.Address is { } a && !a.Equals(IPAddress.Any) ? a : null;

    /// <summary>True when the router only takes permanent mappings (725) or a permanent one was asked for.</summary>
    public bool IsPermanent => _permanent;

    /// <summary>How many stale mappings <see cref="PortMappingLeaseOptions.SweepStaleMappings"/> removed at start.</summary>
    public int SweptMappings => Volatile.Read(ref _swept);

    private int WantedPort => _options.ExternalPort == 0 ? _options.InternalPort : _options.ExternalPort;

    private TimeSpan RequestedLease => _permanent ? TimeSpan.Zero : _options.LeaseDuration;

    private protected override async Task BeforeFirstAcquireAsync(UpnpGateway gateway, CancellationToken cancellationToken)
    {
        if (!_options.SweepStaleMappings)
        {
            return;
        }
        var mappings = await gateway.ListMappingsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var m in mappings)
        {
            if (m.Description == _options.Description && m.InternalClient.Equals(_client))
            {
                await gateway.DeleteMappingAsync(m.Protocol, m.ExternalPort, m.RemoteHost, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _swept);
            }
        }
    }

    private protected override async Task<(IPEndPoint? EndPoint, TimeSpan Granted)> AcquireAsync(UpnpGateway gateway, bool restoring,
        CancellationToken cancellationToken)
    {
        int wanted = restoring && ExternalPort != 0 ? ExternalPort : WantedPort;
        // Recorded before the add: if the start fails or is cancelled mid-way, its clean-up knows where to look.
        Volatile.Write(ref _externalPort, wanted);
        int port = gateway.IsIgdV2 && _options.PreferAddAnyPortMapping
            ? await AddAnyAsync(gateway, wanted, cancellationToken).ConfigureAwait(false)
            : await AddWithRetriesAsync(gateway, wanted, cancellationToken).ConfigureAwait(false);

        Volatile.Write(ref _externalPort, port);
        // Read back: the router must hold the mapping, for us.
        var entry = await gateway.GetMappingAsync(Protocol, port, null, cancellationToken).ConfigureAwait(false);
        if (entry is null || !IsOurs(entry))
        {
            throw UpnpGateway.InvalidResponse(entry is null
                ? $"the router accepted external port {port} but does not list it"
                : $"external port {port} is mapped to {entry.InternalClient}:{entry.InternalPort}, not to {_client}:{InternalPort}");
        }
        var granted = _permanent && entry.LeaseDuration == TimeSpan.Zero ? TimeSpan.Zero
            : _permanent ? entry.LeaseDuration // asked for permanent, given a finite lease (miniupnpd: one week)
            : _options.LeaseDuration;
        return (await EndPointAsync(gateway, port, cancellationToken).ConfigureAwait(false), granted);
    }

    private async Task<int> AddAnyAsync(UpnpGateway gateway, int wanted, CancellationToken cancellationToken)
    {
        try
        {
            return await gateway.AddAnyMappingAsync(new PortMappingRequest(Protocol, InternalPort) { ExternalPort = wanted, LeaseDuration = RequestedLease, Description = _options.Description, InternalClient = _client }, cancellationToken).ConfigureAwait(false);
        }
        catch (UpnpException e) when (e.Code == (int)UpnpErrorCode.OnlyPermanentLeasesSupported && !_permanent)
        {
            _permanent = true;
            return await gateway.AddAnyMappingAsync(new PortMappingRequest(Protocol, InternalPort) { ExternalPort = wanted, LeaseDuration = TimeSpan.Zero, Description = _options.Description, InternalClient = _client }, cancellationToken).ConfigureAwait(false);
        }
        catch (UpnpException e) when (e.Code is (int)UpnpErrorCode.InvalidAction or (int)UpnpErrorCode.OptionalActionNotImplemented)
        {
            return await AddWithRetriesAsync(gateway, wanted, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>AddPortMapping on <paramref name="wanted"/>, then, on a conflict, on random ports from 49152 to
    /// 65535: <see cref="PortMappingLeaseOptions.MaxPortAttempts"/> attempts in all.</summary>
    private async Task<int> AddWithRetriesAsync(UpnpGateway gateway, int wanted, CancellationToken cancellationToken)
    {
        int port = wanted;
        UpnpException? last = null;
        for (int attempt = 0; attempt < _options.MaxPortAttempts; attempt++)
        {
            try
            {
                await AddAsync(gateway, port, cancellationToken).ConfigureAwait(false);
                return port;
            }
            catch (UpnpException e) when (e.Code == (int)UpnpErrorCode.ConflictInMappingEntry)
            {
                last = e;
                port = Random.Shared.Next(49152, 65536);
            }
            catch (UpnpException e) when (e.Code == (int)UpnpErrorCode.SamePortValuesRequired && port != InternalPort)
            {
                last = e;
                port = InternalPort;
            }
        }
        throw last!;
    }

    /// <summary>One AddPortMapping; a 725 switches the lease to permanent and asks again.</summary>
    private async Task AddAsync(UpnpGateway gateway, int port, CancellationToken cancellationToken)
    {
        try
        {
            await gateway.AddMappingAsync(new PortMappingRequest(Protocol, InternalPort) { ExternalPort = port, LeaseDuration = RequestedLease, Description = _options.Description, InternalClient = _client }, cancellationToken).ConfigureAwait(false);
        }
        catch (UpnpException e) when (e.Code == (int)UpnpErrorCode.OnlyPermanentLeasesSupported && !_permanent)
        {
            _permanent = true;
            await gateway.AddMappingAsync(new PortMappingRequest(Protocol, InternalPort) { ExternalPort = port, LeaseDuration = TimeSpan.Zero, Description = _options.Description, InternalClient = _client }, cancellationToken).ConfigureAwait(false);
        }
    }

    private protected override async Task<TimeSpan> RenewAsync(UpnpGateway gateway, CancellationToken cancellationToken)
    {
        await AddAsync(gateway, ExternalPort, cancellationToken).ConfigureAwait(false);
        return _permanent ? TimeSpan.Zero : _options.LeaseDuration;
    }

    private protected override async Task<string?> VerifyAsync(UpnpGateway gateway, CancellationToken cancellationToken)
    {
        int port = ExternalPort;
        var entry = await gateway.GetMappingAsync(Protocol, port, null, cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            return $"the mapping of external port {port} is gone";
        }
        if (!IsOurs(entry))
        {
            return $"external port {port} is now mapped to {entry.InternalClient}:{entry.InternalPort}";
        }
        await EndPointAsync(gateway, port, cancellationToken).ConfigureAwait(false);
        return null;
    }

    private protected override async Task ReleaseAsync(UpnpGateway gateway, CancellationToken cancellationToken)
    {
        int port = ExternalPort;
        if (port == 0)
        {
            return; // never mapped
        }
        PortMappingEntry? entry = null;
        bool known = true;
        try
        {
            entry = await gateway.GetMappingAsync(Protocol, port, null, cancellationToken).ConfigureAwait(false);
        }
        catch (UpnpException)
        {
            known = false; // delete anyway: the router decides whether it is ours
        }
        if (known && (entry is null || !IsOurs(entry)))
        {
            return; // gone already, or another host's now: not ours to delete
        }
        await gateway.DeleteMappingAsync(Protocol, port, null, cancellationToken).ConfigureAwait(false);
    }

    private protected override bool MeansGone(UpnpException error) =>
        error.Code is (int)UpnpErrorCode.ConflictInMappingEntry or (int)UpnpErrorCode.NoSuchEntryInArray;

    private bool IsOurs(PortMappingEntry entry) => entry.InternalClient.Equals(_client) && entry.InternalPort == InternalPort;

    /// <summary>Reads the external address and records the endpoint (the address is "any" when it cannot be read).</summary>
    private async Task<IPEndPoint> EndPointAsync(UpnpGateway gateway, int port, CancellationToken cancellationToken)
    {
        IPAddress address;
        try
        {
            address = await gateway.GetExternalAddressAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (UpnpException)
        {
            address = ExternalEndPoint is { } known && known.Port == port ? known.Address : IPAddress.Any;
        }
        var endPoint = new IPEndPoint(address, port);
        SetEndPoint(endPoint);
        return endPoint;
    }
}
