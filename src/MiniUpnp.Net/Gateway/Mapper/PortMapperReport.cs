using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace MiniUpnp.Net;

/// <summary>What one protocol's probe in the race came to.</summary>
public enum PortMapperProbeOutcome
{
    /// <summary>The router answered: it speaks this protocol.</summary>
    Answered = 0,

    /// <summary>The router answered that it does not (an error code, another protocol version, an ICMP port unreachable),
    /// or UPnP found no usable gateway.</summary>
    Refused = 1,

    /// <summary>No answer within the race's timeout.</summary>
    NoAnswer = 2,

    /// <summary>Stopped unfinished: a more preferred protocol had already won.</summary>
    Stopped = 3,

    /// <summary>Not asked: a remembered protocol answered (warm start), or the options left it out.</summary>
    NotTried = 4,
}

/// <summary>One protocol's probe: what it came to, after how long, and what was seen.</summary>
/// <param name="Method">The protocol.</param>
/// <param name="Outcome">What it came to.</param>
/// <param name="Elapsed">From the start of the race to the probe's end (or to the decision, for a stopped probe).</param>
/// <param name="Detail">What was seen, in one line: the epoch, the public address, the error, the description URL.</param>
public sealed record PortMapperProbe(PortMappingMethod Method, PortMapperProbeOutcome Outcome, TimeSpan Elapsed, string Detail)
{
    /// <inheritdoc/>
    public override string ToString() => $"{PortMapperReport.Name(Method)}: {Outcome} after {Elapsed.TotalMilliseconds:0} ms: {Detail}";
}

/// <summary>Why <see cref="PortMapper.DiscoverAsync"/> chose its protocol: every probe, and the reason.</summary>
public sealed class PortMapperReport
{
    internal PortMapperReport(PortMappingMethod? chosen, IReadOnlyList<PortMapperProbe> probes, string reason, TimeSpan elapsed,
        bool usedRemembered)
    {
        Chosen = chosen;
        Probes = probes;
        Reason = reason;
        Elapsed = elapsed;
        UsedRemembered = usedRemembered;
    }

    /// <summary>The protocol chosen, or null when none answered.</summary>
    public PortMappingMethod? Chosen { get; }

    /// <summary>Each protocol's probe, in the order of preference.</summary>
    public IReadOnlyList<PortMapperProbe> Probes { get; }

    /// <summary>The decision, in one sentence.</summary>
    public string Reason { get; }

    /// <summary>How long the decision took.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>True when the remembered protocol answered and no race was run (a warm start).</summary>
    public bool UsedRemembered { get; }

    /// <summary>The probes that answered, in the order of preference.</summary>
    public IEnumerable<PortMappingMethod> Answered => Probes.Where(p => p.Outcome == PortMapperProbeOutcome.Answered).Select(p => p.Method);

    /// <summary>The reason, then one line per probe.</summary>
    /// <returns>The report as text.</returns>
    public override string ToString()
    {
        var text = new StringBuilder(Reason);
        foreach (var probe in Probes)
        {
            text.Append('\n').Append("  ").Append(probe);
        }
        return text.ToString();
    }

    internal static string Name(PortMappingMethod method) => method switch
    {
        PortMappingMethod.Pcp => "PCP",
        PortMappingMethod.Natpmp => "NAT-PMP",
        PortMappingMethod.Upnp => "UPnP",
        _ => method.ToString(),
    };
}

/// <summary>No protocol answered: the router maps no ports for this host (or there is no router). <see cref="Report"/>
/// says what each protocol did.</summary>
public sealed class PortMapperException : Exception
{
    /// <summary>Creates the exception for a race that nothing won.</summary>
    /// <param name="report">The race's report.</param>
    public PortMapperException(PortMapperReport report) : base(report?.ToString())
    {
        ArgumentNullException.ThrowIfNull(report);
        Report = report;
    }

    /// <summary>What each protocol did.</summary>
    public PortMapperReport Report { get; }
}
