using System;

namespace MiniUpnp.Net;

/// <summary>
/// The miniupnpc library that was found is not the ABI this binding was generated for (API version 21), or the
/// libnatpmp library lacks one of natpmp.h's seven functions. Thrown at first use, before any call into the library.
/// </summary>
public sealed class IncompatibleNativeLibraryException : Exception
{
    /// <summary>Creates the exception with its message.</summary>
    public IncompatibleNativeLibraryException(string message) : base(message)
    {
    }
}
