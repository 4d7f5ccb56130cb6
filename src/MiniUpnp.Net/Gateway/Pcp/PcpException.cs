using System;

namespace MiniUpnp.Net;

/// <summary>
/// A PCP server (RFC 6887) answered a request with an error: <see cref="ResultCode"/> is the code, the message its RFC
/// name and what it means. A server that never answers (or answers only with replies that are not valid answers to the
/// request) ends the call with <see cref="TimeoutException"/> instead.
/// </summary>
/// <remarks>Not a <see cref="UpnpException"/>: PCP's result codes (1–13) are another numbering than UPnP's error codes,
/// and a caller racing PCP against UPnP tells the two apart by type.</remarks>
public class PcpException : Exception
{
    /// <summary>Creates the exception for <paramref name="resultCode"/> with the RFC's name and explanation of it.</summary>
    /// <param name="resultCode">The PCP result code.</param>
    public PcpException(PcpResultCode resultCode) : this(resultCode, Describe(resultCode))
    {
    }

    /// <summary>Creates the exception with a result code and a message.</summary>
    /// <param name="resultCode">The PCP result code.</param>
    /// <param name="message">The text shown to users.</param>
    public PcpException(PcpResultCode resultCode, string message) : base(message)
    {
        ResultCode = resultCode;
    }

    internal PcpException(PcpResultCode resultCode, string message, TimeSpan lifetime, int serverVersion) : base(message)
    {
        ResultCode = resultCode;
        Lifetime = lifetime;
        ServerVersion = serverVersion;
    }

    /// <summary>The server's result code.</summary>
    public PcpResultCode ResultCode { get; }

    /// <summary>How long the server says the error holds (RFC 6887 §7.2: the response's lifetime), capped at
    /// <see cref="PcpClient.MaxLifetime"/>; <see cref="TimeSpan.Zero"/> when not from a server.</summary>
    public TimeSpan Lifetime { get; }

    /// <summary>The version in the server's response (0 for a NAT-PMP-only server answering UNSUPP_VERSION), or 2.</summary>
    internal int ServerVersion { get; } = PcpMessage.Version;

    /// <summary>"NOT_AUTHORIZED (2): the server's policy forbids ...".</summary>
    internal static string Describe(PcpResultCode code) =>
        $"{PcpResultText.Name(code)} ({(int)code}): {PcpResultText.Explanation(code)}";
}
