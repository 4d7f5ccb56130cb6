using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;

namespace MiniUpnp.Net;

/// <summary>A NAT's mapping behaviour (RFC 4787 §4.1, found as RFC 5780 §4.3 says): whether the public port this host's
/// port gets depends on where it sends.</summary>
public enum StunMappingBehaviour
{
    /// <summary>The tests did not conclude (a test got no answer or an error, or the server's alternate address is not a
    /// different IP address); <see cref="StunNatBehaviour.Explanation"/> says why. Nothing is guessed.</summary>
    Unknown = 0,

    /// <summary>The server gives no alternate address (no OTHER-ADDRESS): it does not support RFC 5780, so the behaviour
    /// cannot be found with it.</summary>
    NotSupported = 1,

    /// <summary>One public address and port for every destination (or no NAT at all): what a peer learns from a STUN
    /// server is what it can reach.</summary>
    EndpointIndependent = 2,

    /// <summary>The mapping changes with the destination's IP address.</summary>
    AddressDependent = 3,

    /// <summary>The mapping changes with the destination's address or port ("symmetric NAT"): an address learnt from a
    /// STUN server is of no use to anybody else.</summary>
    AddressAndPortDependent = 4,
}

/// <summary>A NAT's filtering behaviour (RFC 4787 §5, found as RFC 5780 §4.4 says): which senders may reach this host's
/// mapped port.</summary>
public enum StunFilteringBehaviour
{
    /// <summary>The tests did not conclude (an error answer, or a server that does not honour CHANGE-REQUEST);
    /// <see cref="StunNatBehaviour.Explanation"/> says why. Nothing is guessed.</summary>
    Unknown = 0,

    /// <summary>The server gives no alternate address (no OTHER-ADDRESS): it does not support RFC 5780.</summary>
    NotSupported = 1,

    /// <summary>Anybody may send to the mapped port once it exists (or no NAT filters at all).</summary>
    EndpointIndependent = 2,

    /// <summary>Only addresses this host has sent to may send back (from any port).</summary>
    AddressDependent = 3,

    /// <summary>Only the exact address and port this host has sent to may send back.</summary>
    AddressAndPortDependent = 4,
}

/// <summary>Which of RFC 5780's tests a <see cref="StunBehaviourTest"/> is.</summary>
public enum StunBehaviourTestKind
{
    /// <summary>Test I of §4.3 and §4.4: a plain Binding request to the server's primary address and port.</summary>
    Binding = 0,

    /// <summary>Mapping test II (§4.3): to the alternate IP address, primary port.</summary>
    MappingAlternateAddress = 1,

    /// <summary>Mapping test III (§4.3): to the alternate IP address and alternate port.</summary>
    MappingAlternateAddressAndPort = 2,

    /// <summary>Filtering test II (§4.4): to the primary address, answer asked from the alternate IP address and port.</summary>
    FilteringChangeAddressAndPort = 3,

    /// <summary>Filtering test III (§4.4): to the primary address, answer asked from the alternate port.</summary>
    FilteringChangePort = 4,
}

/// <summary>One test of the behaviour discovery and what came of it: the evidence behind a verdict.</summary>
public sealed class StunBehaviourTest
{
    internal StunBehaviourTest(StunBehaviourTestKind kind, IPEndPoint destination, StunChangeRequest change,
        IPEndPoint? expectedOrigin, StunBinding? binding, string? failure)
    {
        Kind = kind;
        Destination = destination;
        Change = change;
        ExpectedOrigin = expectedOrigin;
        Binding = binding;
        Failure = failure;
    }

    /// <summary>Which test.</summary>
    public StunBehaviourTestKind Kind { get; }

    /// <summary>Where the request went.</summary>
    public IPEndPoint Destination { get; }

    /// <summary>The CHANGE-REQUEST flags it carried.</summary>
    public StunChangeRequest Change { get; }

    /// <summary>Where the answer should come from (for a CHANGE-REQUEST: the alternate address or port).</summary>
    public IPEndPoint? ExpectedOrigin { get; }

    /// <summary>The answer, or null when there was none (see <see cref="Failure"/>).</summary>
    public StunBinding? Binding { get; }

    /// <summary>Null when answered as asked; otherwise what happened instead ("no answer within 3000 ms (3 sent)", an
    /// error response, an answer from an address the server was not asked to answer from).</summary>
    public string? Failure { get; }

    /// <summary>True when a valid answer came from where it was asked to come from.</summary>
    public bool Answered => Binding is not null && Failure is null;

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Kind} to {Destination}{(Change == StunChangeRequest.None ? string.Empty : $" ({Change})")}: " +
        (Failure ?? $"mapped {Binding!.MappedEndPoint}");
}

/// <summary>
/// What RFC 5780's behaviour discovery found about the NAT between this host's port and one STUN server: its mapping and
/// filtering behaviour, and the tests behind them.
/// </summary>
public sealed class StunNatBehaviour
{
    internal StunNatBehaviour(IPEndPoint server, StunBinding binding, StunMappingBehaviour mapping, StunFilteringBehaviour filtering,
        IReadOnlyList<StunBehaviourTest> tests, string explanation)
    {
        Server = server;
        Binding = binding;
        Mapping = mapping;
        Filtering = filtering;
        Tests = tests;
        Explanation = explanation;
    }

    /// <summary>The server the tests used.</summary>
    public IPEndPoint Server { get; }

    /// <summary>The answer to test I: this host's local end, the mapping the server saw, the alternate address (if any).</summary>
    public StunBinding Binding { get; }

    /// <summary>This host's end of every test (all of them are sent from one port).</summary>
    public IPEndPoint LocalEndPoint => Binding.LocalEndPoint;

    /// <summary>The public address and port test I saw.</summary>
    public IPEndPoint MappedEndPoint => Binding.MappedEndPoint;

    /// <summary>True when a NAT translated the address or port (the mapped address is not the local one).</summary>
    public bool IsTranslated => Binding.IsTranslated;

    /// <summary>True when the server has an alternate address (OTHER-ADDRESS or CHANGED-ADDRESS) and so supports RFC 5780.</summary>
    public bool ServerSupportsBehaviourDiscovery => Binding.OtherAddress is not null;

    /// <summary>The mapping behaviour, <see cref="StunMappingBehaviour.NotSupported"/> or
    /// <see cref="StunMappingBehaviour.Unknown"/>.</summary>
    public StunMappingBehaviour Mapping { get; }

    /// <summary>The filtering behaviour, <see cref="StunFilteringBehaviour.NotSupported"/> or
    /// <see cref="StunFilteringBehaviour.Unknown"/>.</summary>
    public StunFilteringBehaviour Filtering { get; }

    /// <summary>Every test run, in order: test I first.</summary>
    public IReadOnlyList<StunBehaviourTest> Tests { get; }

    /// <summary>Why the verdicts are what they are, in a sentence or two.</summary>
    public string Explanation { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"mapping {Mapping}, filtering {Filtering} ({LocalEndPoint} -> {MappedEndPoint} via {Server}): {Explanation}"
        + string.Concat(Tests.Select(t => Environment.NewLine + "  " + t));
}
