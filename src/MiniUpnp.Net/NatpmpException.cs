using System;

using MiniUpnp.Net.Native;

namespace MiniUpnp.Net;

/// <summary>
/// A NAT-PMP operation failed. <see cref="Code"/> is a libnatpmp code (<c>NATPMP_ERR_*</c>, negative: -10 "send() failed",
/// -7 "the gateway does not support nat-pmp", -51 "not authorized", …); <see cref="Exception.Message"/> is libnatpmp's
/// own text for it (<c>strnatpmperr</c>), or the Python module's text where the module has its own ("Unknown protocol").
/// </summary>
/// <remarks>
/// Not a <see cref="UpnpException"/>: NAT-PMP codes are another numbering (libnatpmp's -1 is "invalid arguments",
/// miniupnpc's -1 is "Miniupnpc Unknown Error"), so one exception type for both would make <c>Code</c> ambiguous. It lives
/// in the root namespace, beside <see cref="UpnpException"/>, because every layer that speaks NAT-PMP can throw it.
/// </remarks>
public class NatpmpException : Exception
{
    /// <summary>Creates the exception for <paramref name="code"/> with libnatpmp's text for it.</summary>
    /// <param name="code">The libnatpmp code (<c>NATPMP_ERR_*</c>).</param>
    public NatpmpException(int code) : this(code, Libnatpmp.strnatpmperr(code))
    {
    }

    /// <summary>Creates the exception with a code and a message.</summary>
    /// <param name="code">The libnatpmp code (<c>NATPMP_ERR_*</c>).</param>
    /// <param name="message">The text shown to users.</param>
    public NatpmpException(int code, string message) : base(message)
    {
        Code = code;
    }

    /// <summary>Creates the exception with a code, a message and the exception that caused it.</summary>
    /// <param name="code">The libnatpmp code (<c>NATPMP_ERR_*</c>).</param>
    /// <param name="message">The text shown to users.</param>
    /// <param name="innerException">The cause.</param>
    public NatpmpException(int code, string message, Exception? innerException) : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>The libnatpmp code (<c>NATPMP_ERR_*</c>, negative); <see cref="Libnatpmp.NATPMP_ERR_INVALIDARGS"/> for the
    /// Python module's "Unknown protocol".</summary>
    public int Code { get; }
}
