using System;

using MiniUpnp.Net.Native;

namespace MiniUpnp.Net;

/// <summary>
/// A UPnP operation failed. <see cref="Code"/> is the UPnP error code the IGD returned (718, 714, …) or a
/// miniupnpc code (<c>UPNPCOMMAND_*</c>, <c>UPNPDISCOVER_*</c>, negative); <see cref="Exception.Message"/> is miniupnpc's
/// own text for it (<c>strupnperror</c>), or the Python module's text where the module has its own.
/// </summary>
public class UpnpException : Exception
{
    /// <summary>Creates the exception for <paramref name="code"/> with miniupnpc's text for it.</summary>
    /// <param name="code">The UPnP or miniupnpc code.</param>
    public UpnpException(int code) : this(code, Miniupnpc.strupnperror(code) ?? $"UPnP error {code}")
    {
    }

    /// <summary>Creates the exception with a code and a message.</summary>
    /// <param name="code">The UPnP or miniupnpc code.</param>
    /// <param name="message">The text shown to users.</param>
    public UpnpException(int code, string message) : base(message)
    {
        Code = code;
    }

    /// <summary>Creates the exception with a code, a message and the exception that caused it.</summary>
    /// <param name="code">The UPnP or miniupnpc code.</param>
    /// <param name="message">The text shown to users.</param>
    /// <param name="innerException">The cause.</param>
    public UpnpException(int code, string message, Exception? innerException) : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>The UPnP error code (positive) or miniupnpc code (negative, or 0 where the Python module reports one).</summary>
    public int Code { get; }

    /// <summary>The <see cref="Code"/> as a <see cref="UpnpErrorCode"/>; a code the enum does not name keeps its number.</summary>
    public UpnpErrorCode ErrorCode => (UpnpErrorCode)Code;

    /// <summary>Throws <see cref="UpnpException"/> unless <paramref name="code"/> is <c>UPNPCOMMAND_SUCCESS</c>.</summary>
    internal static void ThrowIfFailed(int code)
    {
        if (code != Miniupnpc.UPNPCOMMAND_SUCCESS)
        {
            Throw(code);
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Throw(int code) => throw new UpnpException(code);
}
