using System;

namespace MiniUpnp.Net;

/// <summary>The transport protocol of a port mapping or an IPv6 pinhole.</summary>
public enum PortMappingProtocol
{
    /// <summary>TCP (IANA protocol number 6).</summary>
    Tcp = 6,

    /// <summary>UDP (IANA protocol number 17).</summary>
    Udp = 17,
}

/// <summary>Conversions between <see cref="PortMappingProtocol"/> and the text UPnP puts on the wire.</summary>
internal static class PortMappingProtocolText
{
    /// <summary>"TCP" or "UDP", as WANIPConnection's NewProtocol wants it.</summary>
    internal static string ToWire(this PortMappingProtocol protocol) => protocol switch
    {
        PortMappingProtocol.Tcp => "TCP",
        PortMappingProtocol.Udp => "UDP",
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, "The protocol must be Tcp or Udp."),
    };

    /// <summary>The protocol number as text, as WANIPv6FirewallControl wants it ("65535": any).</summary>
    internal static string ToPinholeWire(this PortMappingProtocol? protocol) => protocol switch
    {
        null => "65535",
        PortMappingProtocol.Tcp => "6",
        PortMappingProtocol.Udp => "17",
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, "The protocol must be Tcp, Udp or null (any)."),
    };

    /// <summary>Parses a router's "TCP"/"UDP" (any case); false for anything else.</summary>
    internal static bool TryParse(string text, out PortMappingProtocol protocol)
    {
        if (text.Equals("TCP", StringComparison.OrdinalIgnoreCase))
        {
            protocol = PortMappingProtocol.Tcp;
            return true;
        }
        if (text.Equals("UDP", StringComparison.OrdinalIgnoreCase))
        {
            protocol = PortMappingProtocol.Udp;
            return true;
        }
        protocol = default;
        return false;
    }
}
