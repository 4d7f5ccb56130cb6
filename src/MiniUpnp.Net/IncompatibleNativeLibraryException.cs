using System;

namespace MiniUpnp.Net;

/// <summary>
/// The miniupnpc library that was found is not the ABI this binding was generated for (API version 21).
/// Thrown at first use, before any call into the library.
/// </summary>
public sealed class IncompatibleNativeLibraryException : Exception
{
    /// <summary>Creates the exception with its message.</summary>
    public IncompatibleNativeLibraryException(string message) : base(message)
    {
    }
}
