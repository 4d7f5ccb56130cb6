using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net;

/// <summary>
/// Keeps an inbound IPv6 pinhole open on the router's firewall (WANIPv6FirewallControl) while the application runs.
/// </summary>
/// <remarks>
/// <para>Opening: AddPinhole, then CheckPinholeWorking to read it back (an existing pinhole answers success or 709
/// NoTrafficReceived; an unknown id 704, or 402 from miniupnpd). Renewal: UpdatePinhole at half the lease. Checks:
/// CheckPinholeWorking; a pinhole found gone is opened again (with a new <see cref="UniqueId"/>). Dispose: DeletePinhole.
/// See <see cref="GatewayLease"/> for the rest.</para>
/// <para>Request pinholes over IPv6, from a gateway opened at the router's IPv6 description URL: miniupnpd answers
/// 606 (not authorized) to a request for another host, and an IPv4 request is one.</para>
/// </remarks>
public sealed class PinholeLease : GatewayLease
{
    private readonly PinholeLeaseOptions _options;
    private readonly IPAddress _client;
    private int _uniqueId = -1;

    private PinholeLease(UpnpGateway gateway, PinholeLeaseOptions options, IPAddress client) : base(gateway, options)
    {
        _options = options;
        _client = client;
    }

    /// <summary>Opens the pinhole, reads it back, and starts keeping it.</summary>
    /// <param name="gateway">The router (opened over IPv6).</param>
    /// <param name="options">What to open and how to keep it; do not change them afterwards.</param>
    /// <param name="cancellationToken">Stops the initial request.</param>
    /// <returns>The running lease.</returns>
    /// <exception cref="ArgumentException">An option is unusable.</exception>
    /// <exception cref="NotSupportedException">The router has no WANIPv6FirewallControl service.</exception>
    /// <exception cref="InvalidOperationException">No internal client was given and the gateway was opened over IPv4.</exception>
    /// <exception cref="UpnpException">The router refused (606, 402, …).</exception>
    internal static async Task<PinholeLease> StartAsync(UpnpGateway gateway, PinholeLeaseOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!gateway.SupportsPinholes)
        {
            throw new NotSupportedException($"The gateway at {gateway.RootDescriptionUrl} has no WANIPv6FirewallControl service.");
        }
        var client = options.InternalClient ?? gateway.LocalAddress;
        if (client.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new InvalidOperationException(
                "The gateway was opened over IPv4: set InternalClient, or open the gateway from its IPv6 description URL.");
        }
        var lease = new PinholeLease(gateway, options, client);
        await lease.StartAsync(cancellationToken).ConfigureAwait(false);
        return lease;
    }

    /// <summary>The pinhole's current id (it changes when a lost pinhole is opened again).</summary>
    public int UniqueId => Volatile.Read(ref _uniqueId);

    /// <summary>TCP, UDP, or null for any protocol.</summary>
    public PortMappingProtocol? Protocol => _options.Protocol;

    /// <summary>The internal IPv6 host the pinhole lets traffic through to.</summary>
    public IPAddress InternalClient => _client;

    /// <summary>The internal port.</summary>
    public int InternalPort => _options.InternalPort;

    private protected override async Task<(IPEndPoint? EndPoint, TimeSpan Granted)> AcquireAsync(UpnpGateway gateway, bool restoring,
        CancellationToken cancellationToken)
    {
        int id = await gateway.AddPinholeAsync(Protocol, InternalPort, _options.LeaseDuration, _client, _options.RemoteHost,
            _options.RemotePort, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _uniqueId, id);
        // Read back: success or 709 (no traffic yet) both mean the router holds it.
        await gateway.CheckPinholeWorkingAsync(id, cancellationToken).ConfigureAwait(false);
        return (new IPEndPoint(_client, InternalPort), _options.LeaseDuration);
    }

    private protected override async Task<TimeSpan> RenewAsync(UpnpGateway gateway, CancellationToken cancellationToken)
    {
        await gateway.UpdatePinholeAsync(UniqueId, _options.LeaseDuration, cancellationToken).ConfigureAwait(false);
        return _options.LeaseDuration;
    }

    private protected override async Task<string?> VerifyAsync(UpnpGateway gateway, CancellationToken cancellationToken)
    {
        try
        {
            await gateway.CheckPinholeWorkingAsync(UniqueId, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (UpnpException e) when (MeansGone(e))
        {
            return $"pinhole {UniqueId} is gone ({e.Code} {e.Message})";
        }
    }

    private protected override async Task ReleaseAsync(UpnpGateway gateway, CancellationToken cancellationToken)
    {
        int id = UniqueId;
        if (id < 0)
        {
            return; // never opened
        }
        try
        {
            await gateway.DeletePinholeAsync(id, cancellationToken).ConfigureAwait(false);
        }
        catch (UpnpException e) when (MeansGone(e))
        {
            // Already gone.
        }
    }

    // 704 NoSuchEntry is the standard answer for an unknown id; miniupnpd answers 402 Invalid Args.
    private protected override bool MeansGone(UpnpException error) =>
        error.Code is (int)UpnpErrorCode.NoSuchEntry or (int)UpnpErrorCode.InvalidArgs;
}
