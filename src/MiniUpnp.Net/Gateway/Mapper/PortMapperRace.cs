using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net;

/// <summary>
/// One race of <see cref="PortMapper.DiscoverAsync"/>: the probes start together; the winner is the most preferred
/// that answered, once every more preferred probe has failed or the probe window after its answer has passed.
/// </summary>
internal sealed class PortMapperRace
{
    private readonly PortMapperOptions _options;
    private readonly IPAddress? _gateway;
    private readonly Stopwatch _clock;

    internal PortMapperRace(PortMapperOptions options, IPAddress? gateway, Stopwatch clock)
    {
        _options = options;
        _gateway = gateway;
        _clock = clock;
    }

    /// <summary>The failures that mean "this router does not (now) map ports this way", as opposed to a bug.</summary>
    internal static bool IsRouterFailure(Exception e) =>
        e is TimeoutException or SocketException or PcpException or NatpmpException or UpnpException or OperationCanceledException;

    /// <summary>The UPnP search the race runs: the defaults, bounded by the race's timeout.</summary>
    internal static GatewayDiscoveryOptions UpnpOptions(PortMapperOptions options) => new()
    {
        Timeout = options.Timeout,
        OperationTimeout = options.OperationTimeout,
        RememberedUrlTimeout = options.Timeout,
        Logger = options.Logger,
    };

    /// <summary>How long PCP and NAT-PMP, when preferred, have before the SSDP search starts; an ICMP port unreachable
    /// or an error code ends it sooner. A router speaking only UPnP, with UDP 5351 silently dropped, pays it once.</summary>
    internal static readonly TimeSpan UpnpHeadStart = TimeSpan.FromMilliseconds(50);

    private sealed class Probe
    {
        internal required PortMappingMethod Method { get; init; }
        internal required Task<string> Task { get; init; }
        internal PortMapperProbe? Result { get; set; }
    }

    internal async Task<(PortMappingMethod? Winner, UpnpGateway? Upnp, PortMapperReport Report)> RunAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(_options.Timeout);
        UpnpGateway? upnp = null;
        // UPnP ranked below PCP or NAT-PMP starts after them: they answer within a round trip on a LAN, and an SSDP
        // search that is stopped at once still costs a fresh process its set-up (bench/README.md has the figures).
        int upnpRank = _options.Methods.ToList().IndexOf(PortMappingMethod.Upnp);
        var upnpGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (upnpRank <= 0)
        {
            upnpGo.SetResult();
        }
        var probes = _options.Methods.Select(method => new Probe
        {
            Method = method,
            Task = method switch
            {
                PortMappingMethod.Pcp => PcpAsync(stop.Token),
                PortMappingMethod.Natpmp => NatpmpAsync(stop.Token),
                _ => UpnpAfterAsync(upnpGo.Task, g => upnp = g, stop.Token),
            },
        }).ToList();

        Probe? winner = null;
        TimeSpan? windowEnds = null;
        while (true)
        {
            foreach (var probe in probes.Where(p => p.Result is null && p.Task.IsCompleted))
            {
                probe.Result = Outcome(probe, cancellationToken);
            }
            PortClosedMeansNoPcp(probes);
            // UPnP's turn: the better protocols all failed, or their head start is over.
            if (!upnpGo.Task.IsCompleted && (_clock.Elapsed >= UpnpHeadStart
                || probes.Take(upnpRank).All(p => p.Result is { Outcome: not PortMapperProbeOutcome.Answered })))
            {
                upnpGo.TrySetResult();
            }
            var best = probes.FirstOrDefault(p => p.Result?.Outcome == PortMapperProbeOutcome.Answered);
            if (best is not null)
            {
                windowEnds ??= _clock.Elapsed + _options.ProbeWindow;
                bool betterPending = probes.TakeWhile(p => p != best).Any(p => p.Result is null);
                if (!betterPending || _clock.Elapsed >= windowEnds)
                {
                    winner = best;
                    break;
                }
            }
            var pending = probes.Where(p => p.Result is null).Select(p => (Task)p.Task).ToList();
            if (pending.Count == 0)
            {
                break;
            }
            if (windowEnds is { } end)
            {
                pending.Add(DelayUntil(end));
            }
            if (!upnpGo.Task.IsCompleted)
            {
                pending.Add(DelayUntil(UpnpHeadStart));
            }
            await Task.WhenAny(pending).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }

        // The race is decided: stop the others (their sockets close, the SSDP search ends).
        stop.Cancel();
        string why = winner is null ? "" : $"{PortMapperReport.Name(winner.Method)} won";
        foreach (var probe in probes.Where(p => p.Result is null))
        {
            probe.Result = new PortMapperProbe(probe.Method, PortMapperProbeOutcome.Stopped, _clock.Elapsed, $"stopped: {why}");
            _ = probe.Task.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // observed, dropped
        }
        var results = probes.Select(p => p.Result!).ToArray();
        string reason = winner is null
            ? $"No protocol answered within {_clock.ElapsedMilliseconds} ms" + (_gateway is null ? " (this host has no IPv4 default gateway)" : $" from {_gateway}")
            : Reason(winner, results);
        var report = new PortMapperReport(winner?.Method, results, reason, _clock.Elapsed, usedRemembered: false);
        return (winner?.Method, winner?.Method == PortMappingMethod.Upnp || upnp is not null ? upnp : null, report);
    }

    /// <summary>A delay until the race's clock reads <paramref name="time"/>, rounded up to the whole millisecond
    /// (Task.Delay truncates: the loop would spin for the last fraction).</summary>
    private Task DelayUntil(TimeSpan time)
    {
        double left = Math.Ceiling((time - _clock.Elapsed).TotalMilliseconds);
        return Task.Delay(TimeSpan.FromMilliseconds(Math.Max(left, 0)), CancellationToken.None);
    }

    /// <summary>PCP and NAT-PMP share UDP port 5351: when NAT-PMP's request met an ICMP port unreachable (libnatpmp's
    /// NOGATEWAYSUPPORT within the race's seconds can mean nothing else), PCP's, still retransmitting, has its answer too.</summary>
    private void PortClosedMeansNoPcp(List<Probe> probes)
    {
        var natpmp = probes.Find(p => p.Method == PortMappingMethod.Natpmp);
        var pcp = probes.Find(p => p.Method == PortMappingMethod.Pcp);
        if (pcp is { Result: null } && natpmp?.Task.Exception?.InnerException is NatpmpException { Code: Native.Libnatpmp.NATPMP_ERR_NOGATEWAYSUPPORT })
        {
            pcp.Result = new PortMapperProbe(PortMappingMethod.Pcp, PortMapperProbeOutcome.Refused, _clock.Elapsed,
                $"UDP port {PcpClient.ServerPort} of {_gateway} is closed (ICMP port unreachable, seen by the NAT-PMP probe)");
            _ = pcp.Task.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        }
    }

    private string Reason(Probe winner, PortMapperProbe[] results)
    {
        string name = PortMapperReport.Name(winner.Method);
        var before = results.TakeWhile(r => r.Method != winner.Method).ToArray();
        string after = before.Length == 0 ? "the most preferred protocol"
            : string.Join(", ", before.Select(r => $"{PortMapperReport.Name(r.Method)} {Describe(r.Outcome)}"));
        return $"{name} chosen after {_clock.ElapsedMilliseconds} ms: it answered ({after})";
    }

    private static string Describe(PortMapperProbeOutcome outcome) => outcome switch
    {
        PortMapperProbeOutcome.Refused => "refused",
        PortMapperProbeOutcome.NoAnswer => "did not answer",
        PortMapperProbeOutcome.Stopped => "was still pending at the end of the probe window",
        _ => outcome.ToString(),
    };

    private PortMapperProbe Outcome(Probe probe, CancellationToken callerToken)
    {
        var elapsed = _clock.Elapsed;
        if (probe.Task.IsCompletedSuccessfully)
        {
            return new PortMapperProbe(probe.Method, PortMapperProbeOutcome.Answered, elapsed, probe.Task.Result);
        }
        var error = probe.Task.Exception?.InnerException;
        if (probe.Task.IsCanceled || error is OperationCanceledException)
        {
            callerToken.ThrowIfCancellationRequested();
            return new PortMapperProbe(probe.Method, PortMapperProbeOutcome.NoAnswer, elapsed,
                $"no answer within {_options.Timeout.TotalMilliseconds:0} ms");
        }
        if (error is not null && !IsRouterFailure(error))
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error); // a bug, not a refusal
        }
        var outcome = error is TimeoutException ? PortMapperProbeOutcome.NoAnswer : PortMapperProbeOutcome.Refused;
        return new PortMapperProbe(probe.Method, outcome, elapsed, error?.Message ?? "failed");
    }

    private async Task<string> PcpAsync(CancellationToken token)
    {
        var gateway = _gateway ?? throw new SocketException((int)SocketError.NetworkUnreachable);
        var pcp = new PcpClient(gateway) { OperationTimeout = _options.Timeout, InitialRetransmissionInterval = _options.ProbeWindow };
        var announcement = await pcp.AnnounceAsync(token).ConfigureAwait(false);
        return $"ANNOUNCE answered by {gateway}, epoch {announcement.Epoch}";
    }

    private async Task<string> NatpmpAsync(CancellationToken token)
    {
        var gateway = _gateway ?? throw new SocketException((int)SocketError.NetworkUnreachable);
        var natpmp = new NatpmpClient(gateway) { OperationTimeout = _options.Timeout };
        var answer = await natpmp.GetPublicAddressAsync(token).ConfigureAwait(false);
        return $"public address {answer.Address} from {gateway}, epoch {answer.Epoch}";
    }

    private async Task<string> UpnpAfterAsync(Task go, Action<UpnpGateway> found, CancellationToken token)
    {
        await go.WaitAsync(token).ConfigureAwait(false);
        var result = await GatewayDiscovery.DiscoverWithReportAsync(UpnpOptions(_options), token).ConfigureAwait(false);
        if (result.Gateway is not { } gateway)
        {
            throw new UpnpException(Native.Miniupnpc.UPNP_NO_IGD, $"no usable gateway: {result.Reason}");
        }
        found(gateway);
        return $"{gateway.RootDescriptionUrl} ({result.State})";
    }
}
