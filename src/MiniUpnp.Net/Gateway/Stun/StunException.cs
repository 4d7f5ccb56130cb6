using System;

namespace MiniUpnp.Net;

/// <summary>
/// A STUN server answered a Binding request with an error response (RFC 8489 §6.3.4): <see cref="Code"/> is the
/// ERROR-CODE (class × 100 + number, 300–699), <see cref="Reason"/> the server's reason phrase. A server that never
/// answers (or answers only with datagrams that are not valid answers) ends the call with <see cref="TimeoutException"/>
/// instead.
/// </summary>
public class StunException : Exception
{
    /// <summary>Creates the exception for an error code and reason phrase.</summary>
    /// <param name="code">The ERROR-CODE, class × 100 + number (for example 420).</param>
    /// <param name="reason">The reason phrase (for example "Unknown Attribute").</param>
    public StunException(int code, string reason) : this(code, reason, $"STUN error {code}: {reason}")
    {
    }

    /// <summary>Creates the exception with an error code, reason phrase and message.</summary>
    /// <param name="code">The ERROR-CODE, class × 100 + number.</param>
    /// <param name="reason">The reason phrase.</param>
    /// <param name="message">The text shown to users.</param>
    public StunException(int code, string reason, string message) : base(message)
    {
        Code = code;
        Reason = reason;
    }

    /// <summary>The ERROR-CODE: class × 100 + number (400 Bad Request, 420 Unknown Attribute, 500 Server Error, …).</summary>
    public int Code { get; }

    /// <summary>The server's reason phrase (UTF-8, as sent; empty when it sent none).</summary>
    public string Reason { get; }
}
