using System;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MiniUpnp.Net;

/// <summary>
/// Argument checks of the async layer: bad input throws an <see cref="ArgumentException"/> naming the parameter
/// before any network I/O.
/// </summary>
internal static class Check
{
    /// <summary>The longest description accepted, in UTF-8 bytes. miniupnpd keeps 64; the SOAP request must fit
    /// miniupnpc's 2048-byte buffer along with everything else.</summary>
    internal const int MaxDescriptionBytes = 256;

    /// <summary>The longest lease IGDv2 allows (WANIPConnection:2: 604800 s, one week).</summary>
    internal static readonly TimeSpan MaxLease = TimeSpan.FromSeconds(604800);

    /// <summary>The longest pinhole lease WANIPv6FirewallControl allows (86400 s).</summary>
    internal static readonly TimeSpan MaxPinholeLease = TimeSpan.FromSeconds(86400);

    internal static void Port(int port, string paramName)
    {
        if (port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(paramName, port, "A port must be between 1 and 65535.");
        }
    }

    internal static void Protocol(PortMappingProtocol protocol, string paramName)
    {
        if (protocol is not (PortMappingProtocol.Tcp or PortMappingProtocol.Udp))
        {
            throw new ArgumentOutOfRangeException(paramName, protocol, "The protocol must be Tcp or Udp.");
        }
    }

    /// <summary>A lease of whole seconds from 0 (permanent) to <paramref name="max"/>; fractions round up.</summary>
    internal static string Lease(TimeSpan lease, TimeSpan max, bool allowZero, string paramName)
    {
        if (lease < TimeSpan.Zero || lease > max || (!allowZero && lease == TimeSpan.Zero))
        {
            throw new ArgumentOutOfRangeException(paramName, lease,
                $"A lease must be between {(allowZero ? "0 (permanent)" : "1 s")} and {max.TotalSeconds:0} s.");
        }
        return Seconds(lease);
    }

    /// <summary>Whole seconds, rounded up, as text.</summary>
    internal static string Seconds(TimeSpan span) =>
        ((long)Math.Ceiling(span.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A description: no NUL (C would cut it), none of the characters miniupnpc puts into its SOAP request unescaped
    /// (&lt; &gt; &amp;: the router would see broken or injected XML), at most <see cref="MaxDescriptionBytes"/> bytes.
    /// </summary>
    internal static string Description(string? description, string paramName)
    {
        description ??= string.Empty;
        if (description.AsSpan().IndexOfAny("\0<>&") >= 0)
        {
            throw new ArgumentException("The description contains a NUL, '<', '>' or '&', which miniupnpc cannot send.", paramName);
        }
        if (Encoding.UTF8.GetByteCount(description) > MaxDescriptionBytes)
        {
            throw new ArgumentException($"The description is longer than {MaxDescriptionBytes} UTF-8 bytes.", paramName);
        }
        return description;
    }

    internal static void IPv4(IPAddress? address, string paramName)
    {
        if (address is not null && address.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException("A port mapping takes IPv4 addresses (use a pinhole for IPv6).", paramName);
        }
    }

    internal static void IPv6(IPAddress? address, string paramName)
    {
        if (address is not null && address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ArgumentException("A pinhole takes IPv6 addresses.", paramName);
        }
    }

    internal static void Positive(TimeSpan value, TimeSpan max, string paramName)
    {
        if (value <= TimeSpan.Zero || value > max)
        {
            throw new ArgumentOutOfRangeException(paramName, value, $"The value must be above zero and at most {max}.");
        }
    }

    /// <summary>The address as miniupnpc sends it; IPv6 without its scope (routers do not take one).</summary>
    internal static string Text(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0)
        {
            address = new IPAddress(address.GetAddressBytes());
        }
        return address.ToString();
    }

    internal static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
