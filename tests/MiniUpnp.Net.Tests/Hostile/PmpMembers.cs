using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Hostile;

/// <summary>Everything one NAT-PMP / PCP cell needs: the gateway's address, the case and the token.</summary>
internal sealed class PmpCell
{
    internal PmpCell(IPAddress gateway, PmpCase c)
    {
        Gateway = gateway;
        Case = c;
    }

    internal IPAddress Gateway { get; }
    internal PmpCase Case { get; }

    /// <summary>The token the async members are given (cancelled by the cancellation check).</summary>
    internal CancellationToken Token { get; init; }

    /// <summary>Set by the F members: the port object, for the dispose check.</summary>
    internal NATPMP? Port { get; set; }

    internal uint InAddr => BitConverter.ToUInt32(Gateway.GetAddressBytes());
}

/// <summary>What a C-names cell returns: the last answer and whether the epochs of its calls went back.</summary>
internal sealed record CAnswer(natpmpresp_t Response, bool EpochBack);

/// <summary>A C-names cell whose loop ended with a libnatpmp code other than 0 and NATPMP_TRYAGAIN.</summary>
internal sealed record CCode(int Code);

/// <summary>A C-names cell whose caller gave up at its own deadline (libnatpmp would retry for 127.75 s).</summary>
internal sealed record CCallerDeadline(int Tries);

/// <summary>One member that speaks to UDP 5351, as run against a hostile server, with its bound.</summary>
/// <param name="Name">P.* PcpClient, N.* NatpmpClient, F.* the NATPMP port, C.* the C names.</param>
/// <param name="Mapping">A mapping request (else a public address request or ANNOUNCE).</param>
/// <param name="Run">Runs the member <see cref="PmpCase.Calls"/> times on one client; returns the last value.</param>
internal sealed record PmpMember(string Name, bool Mapping, Func<PmpCell, Task<object?>> Run)
{
    internal char Family => Name[0];

    internal bool Async => Family is 'P' or 'N';

    internal bool IsRelevant(PmpCase c) => Mapping || !c.MappingOnly;

    /// <summary>The most one cell may take: each call's documented bound plus the slack, and the pause between calls.</summary>
    internal TimeSpan Bound(PmpCase c) =>
        c.Calls * ((Family switch { 'P' or 'N' => PmpMembers.OperationTimeout, 'F' => PmpMembers.PortCallTimeout, _ => PmpMembers.CDeadline })
                   + PmpMembers.Slack)
        + (c.Calls - 1) * PmpMembers.Pause;
}

internal static class PmpMembers
{
    /// <summary>NatpmpClient's and PcpClient's OperationTimeout in the suite (default 10 s).</summary>
    internal static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(1.5);

    /// <summary>PcpClient's first retransmission (RFC 6887's 3 s is longer than the timeout here: Tailscale's 250 ms).</summary>
    internal static readonly TimeSpan PcpRetransmission = TimeSpan.FromMilliseconds(250);

    /// <summary>NATPMP.CallTimeout in the suite (default 130 s, above libnatpmp's own 127.75 s of retries).</summary>
    internal static readonly TimeSpan PortCallTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The C loop's own deadline: C has none but libnatpmp's 9 tries (127.75 s); a C caller sets one.</summary>
    internal static readonly TimeSpan CDeadline = TimeSpan.FromSeconds(3);

    /// <summary>Between two calls of one cell (the epoch and stale cases).</summary>
    internal static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(300);

    /// <summary>Scheduling slack on a loaded 2-core machine (every bound adds it once per call).</summary>
    internal static readonly TimeSpan Slack = TimeSpan.FromSeconds(2.5);

    internal const int InternalPort = 4000;
    internal const uint Lifetime = 3600;

    private static PcpClient Pcp(PmpCell cell) => new(cell.Gateway)
    {
        OperationTimeout = OperationTimeout,
        InitialRetransmissionInterval = PcpRetransmission,
    };

    private static NatpmpClient Natpmp(PmpCell cell) => new(cell.Gateway) { OperationTimeout = OperationTimeout };

    private static Func<PmpCell, Task<object?>> Calls<T>(Func<PmpCell, T> client, Func<T, CancellationToken, Task<object?>> call) => async cell =>
    {
        var c = client(cell);
        object? value = null;
        for (int i = 0; i < cell.Case.Calls; i++)
        {
            if (i > 0)
            {
                await Task.Delay(Pause, cell.Token).ConfigureAwait(false);
            }
            value = await call(c, cell.Token).ConfigureAwait(false);
        }
        return value;
    };

    private static Func<PmpCell, Task<object?>> Port(Func<NATPMP, object?> call) => cell => Task.Factory.StartNew(() =>
    {
        using var port = new NATPMP(1, cell.InAddr) { CallTimeout = PortCallTimeout };
        cell.Port = port;
        object? value = null;
        for (int i = 0; i < cell.Case.Calls; i++)
        {
            if (i > 0)
            {
                Thread.Sleep(Pause);
            }
            value = call(port);
        }
        return value;
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>
    /// The C names as natpmpc.c uses them, on one natpmp_t for all the cell's calls: initnatpmp, then per call send and
    /// loop (select on getnatpmprequesttimeout, readnatpmpresponseorretry while it answers NATPMP_TRYAGAIN), with the
    /// caller's own deadline per call.
    /// </summary>
    private static Func<PmpCell, Task<object?>> C(bool mapping) => cell => Task.Factory.StartNew<object?>(() =>
    {
        using var h = new SafeNatpmpHandle();
        int r = Libnatpmp.initnatpmp(h, 1, cell.InAddr);
        if (r < 0)
        {
            return new CCode(r);
        }
        using var socket = new Socket(new SafeSocketHandle((IntPtr)h.s, ownsHandle: false));
        var epochs = new List<uint>();
        natpmpresp_t? last = null;
        for (int call = 0; call < cell.Case.Calls; call++)
        {
            if (call > 0)
            {
                Thread.Sleep(Pause);
            }
            r = mapping
                ? Libnatpmp.sendnewportmappingrequest(h, Libnatpmp.NATPMP_PROTOCOL_UDP, InternalPort, PmpAnswers.ExternalPort, Lifetime)
                : Libnatpmp.sendpublicaddressrequest(h);
            if (r < 0)
            {
                return new CCode(r);
            }
            var watch = Stopwatch.StartNew();
            int tries = 0;
            do
            {
                if (watch.Elapsed >= CDeadline)
                {
                    return new CCallerDeadline(tries);
                }
                _ = Libnatpmp.getnatpmprequesttimeout(h, out var wait);
                var left = CDeadline - watch.Elapsed;
                wait = wait < TimeSpan.Zero ? TimeSpan.Zero : wait > left ? left : wait;
                try
                {
                    socket.Poll(Math.Max(1, (int)(wait.Ticks / TimeSpan.TicksPerMicrosecond)), SelectMode.SelectRead);
                }
                catch (SocketException)
                {
                    // C ignores select's result and reads.
                }
                r = Libnatpmp.readnatpmpresponseorretry(h, out var response);
                tries++;
                if (r == 0)
                {
                    last = response;
                }
            }
            while (r == Libnatpmp.NATPMP_TRYAGAIN);
            if (r < 0)
            {
                return new CCode(r);
            }
            epochs.Add(last!.epoch);
        }
        bool back = false;
        for (int i = 1; i < epochs.Count; i++)
        {
            back |= epochs[i] + 1 < epochs[i - 1];
        }
        return new CAnswer(last!, back);
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    internal static IReadOnlyList<PmpMember> All { get; } = new List<PmpMember>
    {
        new("P.AnnounceAsync", false, Calls(Pcp, async (c, t) => (object?)await c.AnnounceAsync(t))),
        new("P.MapAsync", true, Calls(Pcp, async (c, t) => (object?)await c.MapAsync(
            new PcpMapRequest(PortMappingProtocol.Udp, InternalPort) { Lifetime = TimeSpan.FromSeconds(Lifetime) }, t))),
        new("N.GetPublicAddressAsync", false, Calls(Natpmp, async (c, t) => (object?)await c.GetPublicAddressAsync(t))),
        new("N.MapAsync", true, Calls(Natpmp, async (c, t) => (object?)await c.MapAsync(
            new NatpmpMapRequest(PortMappingProtocol.Udp, InternalPort) { ExternalPort = PmpAnswers.ExternalPort, Lifetime = TimeSpan.FromSeconds(Lifetime) }, t))),
        new("F.ExternalIpAddress", false, Port(p => p.ExternalIpAddress())),
        new("F.AddPortMapping", true, Port(p => p.AddPortMapping(PmpAnswers.ExternalPort, "UDP", InternalPort, Lifetime))),
        new("C.sendpublicaddressrequest", false, C(mapping: false)),
        new("C.sendnewportmappingrequest", true, C(mapping: true)),
    };

    /// <summary>The outcome string of a member's value (see <see cref="PmpOutcomes"/>).</summary>
    internal static string Describe(object? value) => value switch
    {
        PcpAnnouncement a => Lost(PmpOutcomes.Value, a.ServerStateLost),
        PcpMapping m => Lost(Mapping(m.ExternalEndPoint.Address, m.ExternalEndPoint.Port, m.Lifetime), m.ServerStateLost),
        NatpmpPublicAddress a => Lost(Address(a.Address), a.ServerStateLost),
        NatpmpMapping m => Lost(Mapping(null, m.ExternalPort, m.Lifetime), m.ServerStateLost),
        string address when IPAddress.TryParse(address, out var ip) => Address(ip),
        int port => Port(port),
        CAnswer { Response: var r } c => (r.publicaddress is { } ip ? Address(ip)
            : Port(r.mappedpublicport) + (r.lifetime == Lifetime ? "" : $" lifetime {r.lifetime}")) + (c.EpochBack ? " epoch-back" : ""),
        CCode c => PmpOutcomes.Natpmp(c.Code),
        CCallerDeadline => PmpOutcomes.Timeout,
        _ => $"unexpected value {value}",
    };

    /// <summary>The outcome string of a member's exception.</summary>
    internal static string Describe(Exception e) => e switch
    {
        NatpmpException n => PmpOutcomes.Natpmp(n.Code),
        PcpException p => PmpOutcomes.Pcp(p.ResultCode),
        TimeoutException => PmpOutcomes.Timeout,
        OperationCanceledException => "canceled",
        ObjectDisposedException => "disposed",
        _ => $"unexpected {e.GetType().Name}: {e.Message}",
    };

    private static string Lost(string outcome, bool lost) => lost ? outcome + " lost" : outcome;

    private static string Address(IPAddress ip) =>
        ip.Equals(PmpAnswers.PublicAddress) ? PmpOutcomes.Value : ip.Equals(PmpAnswers.MarkedAddress) ? PmpOutcomes.Hostile : $"value address {ip}";

    private static string Port(int port) =>
        port == PmpAnswers.ExternalPort ? PmpOutcomes.Value : port == PmpAnswers.MarkedPort ? PmpOutcomes.Hostile : $"value port {port}";

    private static string Mapping(IPAddress? address, int port, TimeSpan lifetime)
    {
        string outcome = Port(port);
        if (address is not null && outcome == PmpOutcomes.Value && !address.Equals(PmpAnswers.PublicAddress))
        {
            outcome = $"value address {address}";
        }
        if (lifetime == PcpClient.MaxLifetime)
        {
            return outcome + " capped";
        }
        return lifetime == TimeSpan.FromSeconds(Lifetime) ? outcome : $"{outcome} lifetime {lifetime.TotalSeconds}";
    }
}
