namespace MiniUpnp.Net;

/// <summary>The result codes of a PCP response (RFC 6887 §7.4), with the RFC's names in PascalCase.</summary>
public enum PcpResultCode
{
    /// <summary>SUCCESS: the request was done.</summary>
    Success = 0,

    /// <summary>UNSUPP_VERSION: the server does not speak this PCP version (a NAT-PMP-only router answers so).</summary>
    UnsuppVersion = 1,

    /// <summary>NOT_AUTHORIZED: the server's policy forbids the operation for this client (miniupnpd also answers so to a
    /// delete whose nonce is not the mapping's).</summary>
    NotAuthorized = 2,

    /// <summary>MALFORMED_REQUEST: the server could not parse the request.</summary>
    MalformedRequest = 3,

    /// <summary>UNSUPP_OPCODE: the server does not support the opcode.</summary>
    UnsuppOpcode = 4,

    /// <summary>UNSUPP_OPTION: a mandatory option the server does not support.</summary>
    UnsuppOption = 5,

    /// <summary>MALFORMED_OPTION: an option is malformed (invalid length, repeated, ...).</summary>
    MalformedOption = 6,

    /// <summary>NETWORK_FAILURE: the server or the device it controls has a network failure (e.g. no external address
    /// yet); a short-lived error.</summary>
    NetworkFailure = 7,

    /// <summary>NO_RESOURCES: the server cannot create the mapping now (table full, memory, ...); a short-lived error.</summary>
    NoResources = 8,

    /// <summary>UNSUPP_PROTOCOL: the transport protocol is not supported.</summary>
    UnsuppProtocol = 9,

    /// <summary>USER_EX_QUOTA: the mapping would exceed this subscriber's port quota; a short-lived error.</summary>
    UserExQuota = 10,

    /// <summary>CANNOT_PROVIDE_EXTERNAL: the suggested external port or address cannot be given (only with the
    /// PREFER_FAILURE option, for SCTP, or for PEER).</summary>
    CannotProvideExternal = 11,

    /// <summary>ADDRESS_MISMATCH: the request came from another address than the one written in it: a NAT sits between
    /// this host and the PCP server.</summary>
    AddressMismatch = 12,

    /// <summary>EXCESSIVE_REMOTE_PEERS: the server could not create the filters of the FILTER option.</summary>
    ExcessiveRemotePeers = 13,
}

/// <summary>The RFC's names and explanations of <see cref="PcpResultCode"/> values.</summary>
internal static class PcpResultText
{
    /// <summary>The RFC 6887 name (NOT_AUTHORIZED, ...), or "result code N" for a code it does not define.</summary>
    internal static string Name(PcpResultCode code) => code switch
    {
        PcpResultCode.Success => "SUCCESS",
        PcpResultCode.UnsuppVersion => "UNSUPP_VERSION",
        PcpResultCode.NotAuthorized => "NOT_AUTHORIZED",
        PcpResultCode.MalformedRequest => "MALFORMED_REQUEST",
        PcpResultCode.UnsuppOpcode => "UNSUPP_OPCODE",
        PcpResultCode.UnsuppOption => "UNSUPP_OPTION",
        PcpResultCode.MalformedOption => "MALFORMED_OPTION",
        PcpResultCode.NetworkFailure => "NETWORK_FAILURE",
        PcpResultCode.NoResources => "NO_RESOURCES",
        PcpResultCode.UnsuppProtocol => "UNSUPP_PROTOCOL",
        PcpResultCode.UserExQuota => "USER_EX_QUOTA",
        PcpResultCode.CannotProvideExternal => "CANNOT_PROVIDE_EXTERNAL",
        PcpResultCode.AddressMismatch => "ADDRESS_MISMATCH",
        PcpResultCode.ExcessiveRemotePeers => "EXCESSIVE_REMOTE_PEERS",
        _ => $"result code {(int)code}",
    };

    /// <summary>What the code means, after RFC 6887 §7.4, with what it says about the network where that helps.</summary>
    internal static string Explanation(PcpResultCode code) => code switch
    {
        PcpResultCode.Success => "the request was done.",
        PcpResultCode.UnsuppVersion => "the server does not speak PCP version 2 (a router that answers so with version 0 speaks NAT-PMP only).",
        PcpResultCode.NotAuthorized => "the server's policy forbids this operation for this client; miniupnpd refuses so a delete whose "
            + "nonce is not the mapping's (the one of the last MAP that created or renewed it).",
        PcpResultCode.MalformedRequest => "the server could not parse the request.",
        PcpResultCode.UnsuppOpcode => "the server does not support this opcode.",
        PcpResultCode.UnsuppOption => "the server does not support a mandatory option of the request.",
        PcpResultCode.MalformedOption => "an option of the request is malformed.",
        PcpResultCode.NetworkFailure => "the server or the device it controls has a network failure (for example no external address yet); "
            + "try again later.",
        PcpResultCode.NoResources => "the server cannot create the mapping now (mapping table full, short of memory); try again later.",
        PcpResultCode.UnsuppProtocol => "the server does not support this transport protocol.",
        PcpResultCode.UserExQuota => "the mapping would exceed this subscriber's port quota; try again later or delete other mappings.",
        PcpResultCode.CannotProvideExternal => "the suggested external port or address cannot be provided.",
        PcpResultCode.AddressMismatch => "the request reached the server from another address than the one written in it: a NAT sits "
            + "between this host and the PCP server (the server answering is beyond another router's NAT, a double NAT), or the "
            + "address this host wrote is not its source address toward the server.",
        PcpResultCode.ExcessiveRemotePeers => "the server could not create the filters of the request's FILTER option.",
        _ => "a code RFC 6887 does not define.",
    };
}
