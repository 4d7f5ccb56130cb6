using System;
using System.Net;

namespace MiniUpnp.Net;

/// <summary>The CHANGE-REQUEST flags of RFC 5780 §7.2: ask the server to answer from its alternate address, port, or
/// both (a NAT's filtering then shows in whether the answer arrives).</summary>
[Flags]
public enum StunChangeRequest
{
    /// <summary>No CHANGE-REQUEST: the server answers from the address and port the request went to.</summary>
    None = 0,

    /// <summary>Answer from the alternate port (the "change port" flag, 0x02).</summary>
    ChangePort = 0x02,

    /// <summary>Answer from the alternate IP address (the "change IP" flag, 0x04).</summary>
    ChangeAddress = 0x04,
}

/// <summary>
/// The answer to one STUN Binding request (RFC 8489): the address and port the server saw the request come from — for a
/// host behind a NAT, the NAT's public mapping of <see cref="LocalEndPoint"/> toward that server.
/// </summary>
public sealed class StunBinding
{
    internal StunBinding(IPEndPoint server, IPEndPoint localEndPoint, IPEndPoint mappedEndPoint, bool isXorMapped,
        IPEndPoint? otherAddress, IPEndPoint? responseOrigin, string? software, TimeSpan roundTripTime, int requestsSent,
        IPEndPoint answeredFrom)
    {
        Server = server;
        LocalEndPoint = localEndPoint;
        MappedEndPoint = mappedEndPoint;
        IsXorMapped = isXorMapped;
        OtherAddress = otherAddress;
        ResponseOrigin = responseOrigin;
        Software = software;
        RoundTripTime = roundTripTime;
        RequestsSent = requestsSent;
        AnsweredFrom = answeredFrom;
    }

    /// <summary>The server the request was sent to.</summary>
    public IPEndPoint Server { get; }

    /// <summary>The address the answer came from: <see cref="Server"/>, or the server's alternate address or port when the
    /// request carried a CHANGE-REQUEST.</summary>
    public IPEndPoint AnsweredFrom { get; }

    /// <summary>This host's end of the exchange: the socket's port, and its address (the route's source address toward the
    /// server when the socket is bound to the unspecified address).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The address and port the server saw: from XOR-MAPPED-ADDRESS, or from MAPPED-ADDRESS when the server sent
    /// only that (an RFC 3489 server). Equal to <see cref="LocalEndPoint"/> when no NAT is in between.</summary>
    public IPEndPoint MappedEndPoint { get; }

    /// <summary>True when <see cref="MappedEndPoint"/> came from XOR-MAPPED-ADDRESS; false when only MAPPED-ADDRESS carried it
    /// (which a NAT's application-level gateway may have rewritten).</summary>
    public bool IsXorMapped { get; }

    /// <summary>The server's alternate address and port (RFC 5780 OTHER-ADDRESS, or RFC 3489 CHANGED-ADDRESS), or null: only
    /// a server that has one can tell the NAT's mapping and filtering behaviour.</summary>
    public IPEndPoint? OtherAddress { get; }

    /// <summary>Where the server says it sent the answer from (RFC 5780 RESPONSE-ORIGIN), or null.</summary>
    public IPEndPoint? ResponseOrigin { get; }

    /// <summary>The server's SOFTWARE attribute (its name and version), or null.</summary>
    public string? Software { get; }

    /// <summary>From the first transmission of the request to the answer: includes the retransmission waits when datagrams
    /// were lost (see <see cref="RequestsSent"/>).</summary>
    public TimeSpan RoundTripTime { get; }

    /// <summary>How many times the request was sent before the answer came (1 when nothing was lost).</summary>
    public int RequestsSent { get; }

    /// <summary>True when the server saw another address or port than <see cref="LocalEndPoint"/>: a NAT is in between.</summary>
    public bool IsTranslated => !StunMessage.Same(MappedEndPoint, LocalEndPoint);

    /// <inheritdoc/>
    public override string ToString() =>
        $"{LocalEndPoint} -> {MappedEndPoint} seen by {Server}{(OtherAddress is null ? string.Empty : $" (other address {OtherAddress})")}, {RoundTripTime.TotalMilliseconds:0} ms";
}
