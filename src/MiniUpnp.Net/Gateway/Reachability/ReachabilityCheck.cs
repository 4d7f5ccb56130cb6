using System;
using System.Net;
using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net;

/// <summary>
/// Is the port really reachable? A router that accepted a mapping proves little: behind carrier-grade NAT or a second
/// router the mapping opens nothing, and some routers list mappings they no longer forward. These checks gather the
/// evidence (the router's external address and its class, what a STUN server sees, the lease granted, the read-back,
/// and the application's own end-to-end check) into a <see cref="ReachabilityReport"/> with a verdict and a hint.
/// </summary>
public static class ReachabilityCheck
{
    /// <summary>Finds the default gateway's port mapping protocol (<see cref="PortMapper.DiscoverAsync"/>) and judges the
    /// gateway: <see cref="ReachabilityVerdict.NoGateway"/> when none answers.</summary>
    /// <param name="options">STUN servers and bounds; null for the defaults (no STUN).</param>
    /// <param name="mapperOptions">The race's options; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the check.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">An option is unusable (before any I/O).</exception>
    public static async Task<ReachabilityReport> CheckGatewayAsync(ReachabilityOptions? options = null, PortMapperOptions? mapperOptions = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new ReachabilityOptions();
        options.Validate();
        PortMapper mapper;
        try
        {
            mapper = await PortMapper.DiscoverAsync(mapperOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (PortMapperException e)
        {
            var report = new ReachabilityReport();
            report.Note(e.Message.Replace("\n", "; ", StringComparison.Ordinal));
            return report.Decide(gatewayOnly: true);
        }
        return await CheckAsync(mapper, null, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Judges a gateway found before (<paramref name="lease"/> null), or one of its mappings.</summary>
    /// <param name="mapper">The gateway.</param>
    /// <param name="lease">The mapping to judge, or null for the gateway alone.</param>
    /// <param name="options">STUN servers, the end-to-end check, bounds; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the check.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">An option is unusable (before any I/O).</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="lease"/> is disposed.</exception>
    public static async Task<ReachabilityReport> CheckAsync(PortMapper mapper, PortMapperLease? lease, ReachabilityOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mapper);
        options ??= new ReachabilityOptions();
        options.Validate();
        ObjectDisposedException.ThrowIf(lease?.Status == GatewayLeaseStatus.Disposed, lease!);
        // A lease that moved to another protocol or gateway is judged where it is now.
        mapper = lease?.Mapper ?? mapper;

        var report = new ReachabilityReport { Method = mapper.Method, Gateway = mapper.Gateway };
        report.Note($"gateway {mapper.Gateway} maps ports with {PortMapperReport.Name(mapper.Method)} ({mapper.Report.Reason})");
        if (lease is not null)
        {
            report.Protocol = lease.Protocol;
            report.InternalPort = lease.InternalPort;
            report.ExternalEndPoint = lease.ExternalEndPoint;
            report.LeaseRequested = lease.RequestedLease;
            report.LeaseGranted = lease.GrantedLease;
            report.LeaseLost = lease.Status == GatewayLeaseStatus.Lost;
            // A router that did not say its address gives 0.0.0.0: unknown, asked below.
            report.RouterExternalAddress = lease.ExternalEndPoint?.Address is { } a && !a.Equals(IPAddress.Any) ? a : null;
            report.Note($"mapping {Name(lease.Protocol)} {lease.ExternalEndPoint} -> port {lease.InternalPort} through "
                + $"{PortMapperReport.Name(lease.Method)}, lease granted {Seconds(lease.GrantedLease)} of {Seconds(lease.RequestedLease)} requested"
                + (lease.GrantedLease < lease.RequestedLease ? " (shortened by the router)" : "")
                + (report.LeaseLost == true ? $"; the lease is {lease.Status}: {lease.LastError?.Message}" : ""));
        }
        if (report.RouterExternalAddress is null)
        {
            await StepAsync(report, options, "the router's external address", async token =>
            {
                report.RouterExternalAddress = await mapper.GetExternalAddressAsync(token).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        if (report.RouterExternalAddress is { } external)
        {
            report.Note($"the router's external address {external}: {Describe(NetworkAddressClassifier.Classify(external))}");
        }

        await AskStunAsync(report, options, cancellationToken).ConfigureAwait(false);

        if (lease?.ExternalEndPoint is { } endPoint)
        {
            if (lease.Method == PortMappingMethod.Upnp && mapper.Upnp is { } upnp)
            {
                await StepAsync(report, options, "the read-back", async token =>
                {
                    var entry = await upnp.GetMappingAsync(lease.Protocol, endPoint.Port, cancellationToken: token).ConfigureAwait(false);
                    report.MappingPresent = entry is not null && entry.InternalPort == lease.InternalPort;
                    report.Note(entry is null ? $"read back: the router has no mapping of {Name(lease.Protocol)} {endPoint.Port} any more"
                        : $"read back: {entry.InternalClient}:{entry.InternalPort}, {Seconds(entry.LeaseDuration)} left");
                }, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                report.Note($"read back: not possible over {PortMapperReport.Name(lease.Method)} (a request would create the mapping again)");
            }

            if (options.Verify is { } verify)
            {
                bool checkBroke = false;
                await StepAsync(report, options, "the end-to-end check", async token =>
                {
                    try
                    {
                        report.Verified = await verify(endPoint, token).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException && !cancellationToken.IsCancellationRequested)
                    {
                        // The application's own check broke (its server down, say): no evidence either way.
                        report.Note($"the end-to-end check could not run: {e.GetType().Name}: {e.Message}");
                        checkBroke = true;
                        return;
                    }
                    report.Note(report.Verified == true ? $"verified: a connection from outside reached {endPoint}"
                        : $"not verified: the connection from outside to {endPoint} did not arrive");
                }, cancellationToken).ConfigureAwait(false);
                if (!checkBroke)
                {
                    report.Verified ??= false; // no answer within the bound: the connection did not arrive
                }
            }
            else
            {
                report.Note("end to end: not checked (no ReachabilityOptions.Verify)");
            }
        }
        cancellationToken.ThrowIfCancellationRequested(); // a caller's cancellation is never a verdict
        return report.Decide(gatewayOnly: lease is null);
    }

    /// <summary>Maps <paramref name="probe"/> for the time of the check, judges it, and removes it: a refusal is the
    /// verdict <see cref="ReachabilityVerdict.Refused"/> with the protocol's code.</summary>
    /// <param name="mapper">The gateway.</param>
    /// <param name="probe">The mapping to try (a port the application would use).</param>
    /// <param name="options">STUN servers, the end-to-end check, bounds; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the check.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">An option is unusable (before any I/O).</exception>
    /// <exception cref="TimeoutException">The router did not answer the mapping request in time.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<ReachabilityReport> ProbeAsync(PortMapper mapper, PortMappingLeaseOptions probe, ReachabilityOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mapper);
        ArgumentNullException.ThrowIfNull(probe);
        options ??= new ReachabilityOptions();
        options.Validate();
        probe.Validate();
        PortMapperLease lease;
        try
        {
            lease = await mapper.LeaseAsync(probe, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (RefusalOf(e) is { } code)
        {
            var refused = new ReachabilityReport
            {
                Method = mapper.Method,
                Gateway = mapper.Gateway,
                Protocol = probe.Protocol,
                InternalPort = probe.InternalPort,
                LeaseRequested = probe.LeaseDuration,
                RefusalCode = code,
                RefusalText = e.Message,
            };
            refused.Note($"gateway {mapper.Gateway} maps ports with {PortMapperReport.Name(mapper.Method)}");
            refused.Note($"mapping {Name(probe.Protocol)} port {probe.InternalPort} refused: {e.Message}");
            return refused.Decide(gatewayOnly: false);
        }
        await using (lease.ConfigureAwait(false))
        {
            return await CheckAsync(mapper, lease, options, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The router's own refusal code: a UPnP error code (miniupnpc's negative local errors are not), a PCP
    /// result code, a NAT-PMP result code (libnatpmp's -51 to -54, and -14 for an unsupported version).</summary>
    private static int? RefusalOf(Exception e) => e switch
    {
        UpnpException { Code: > 0 } u => u.Code,
        PcpException p => (int)p.ResultCode,
        NatpmpException { Code: Native.Libnatpmp.NATPMP_ERR_UNSUPPORTEDVERSION or (<= Native.Libnatpmp.NATPMP_ERR_NOTAUTHORIZED and >= Native.Libnatpmp.NATPMP_ERR_UNSUPPORTEDOPCODE) } n => n.Code,
        _ => null,
    };

    private static async Task AskStunAsync(ReachabilityReport report, ReachabilityOptions options, CancellationToken cancellationToken)
    {
        if (options.StunServers.Count == 0)
        {
            report.Note("STUN: not asked (no ReachabilityOptions.StunServers)");
            return;
        }
        var stun = new StunClient { OperationTimeout = options.Timeout };
        foreach (var server in options.StunServers)
        {
            try
            {
                var binding = await stun.QueryAsync(server, cancellationToken).ConfigureAwait(false);
                report.StunServer = server;
                report.StunObserved = binding.MappedEndPoint;
                report.Note($"STUN {server} sees {binding.MappedEndPoint}" + (report.StunAgrees switch
                {
                    true => ": the router's address",
                    false => $": not the router's address {report.RouterExternalAddress}",
                    null => "",
                }));
                return;
            }
            catch (Exception e) when (e is TimeoutException or StunException or System.Net.Sockets.SocketException && !cancellationToken.IsCancellationRequested)
            {
                report.Note($"STUN {server}: {e.Message}");
            }
        }
    }

    /// <summary>One step, bounded by the options' timeout; a router failure is noted as evidence, not thrown.</summary>
    private static async Task StepAsync(ReachabilityReport report, ReachabilityOptions options, string what, Func<CancellationToken, Task> step,
        CancellationToken cancellationToken)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(options.Timeout);
        try
        {
            // WaitAsync: bounded even when the step (the application's check) ignores its token.
            await step(bound.Token).WaitAsync(options.Timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && (PortMapperRace.IsRouterFailure(e) || e is System.IO.IOException))
        {
            report.Note($"{what}: {(e is OperationCanceledException or TimeoutException ? $"no answer within {options.Timeout.TotalSeconds:0.#} s" : e.Message)}");
        }
    }

    private static string Name(PortMappingProtocol protocol) => protocol == PortMappingProtocol.Tcp ? "TCP" : "UDP";

    private static string Seconds(TimeSpan t) => $"{t.TotalSeconds:0} s";

    private static string Describe(NetworkAddressClass c) => c switch
    {
        NetworkAddressClass.Public => "public",
        NetworkAddressClass.CarrierGradeNat => "carrier-grade NAT (100.64.0.0/10)",
        NetworkAddressClass.Private => "private (another router in front)",
        _ => "reserved (not routed on the Internet)",
    };
}
