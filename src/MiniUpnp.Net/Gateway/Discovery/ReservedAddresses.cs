using System;
using System.Net;
using System.Net.Sockets;

namespace MiniUpnp.Net;

/// <summary>
/// miniupnpc's <c>addr_is_reserved</c> (src/addr_is_reserved.c, 2.3.3), which decides between
/// <see cref="GatewayState.Connected"/> and <see cref="GatewayState.ConnectedWithReservedAddress"/>: the same blocks,
/// and, as there, anything that is not IPv4 text counts as reserved.
/// </summary>
internal static class ReservedAddresses
{
    internal static readonly (uint Network, int PrefixLength)[] Blocks =
    {
        (Ip(0, 0, 0, 0), 8),        // RFC1122 "This host on this network"
        (Ip(10, 0, 0, 0), 8),       // RFC1918 Private-Use
        (Ip(100, 64, 0, 0), 10),    // RFC6598 Shared Address Space (carrier-grade NAT)
        (Ip(127, 0, 0, 0), 8),      // RFC1122 Loopback
        (Ip(169, 254, 0, 0), 16),   // RFC3927 Link-Local
        (Ip(172, 16, 0, 0), 12),    // RFC1918 Private-Use
        (Ip(192, 0, 0, 0), 24),     // RFC6890 IETF Protocol Assignments
        (Ip(192, 0, 2, 0), 24),     // RFC5737 TEST-NET-1
        (Ip(192, 31, 196, 0), 24),  // RFC7535 AS112-v4
        (Ip(192, 52, 193, 0), 24),  // RFC7450 AMT
        (Ip(192, 88, 99, 0), 24),   // RFC7526 6to4 Relay Anycast
        (Ip(192, 168, 0, 0), 16),   // RFC1918 Private-Use
        (Ip(192, 175, 48, 0), 24),  // RFC7534 Direct Delegation AS112 Service
        (Ip(198, 18, 0, 0), 15),    // RFC2544 Benchmarking
        (Ip(198, 51, 100, 0), 24),  // RFC5737 TEST-NET-2
        (Ip(203, 0, 113, 0), 24),   // RFC5737 TEST-NET-3
        (Ip(224, 0, 0, 0), 4),      // RFC1112 Multicast
        (Ip(240, 0, 0, 0), 4),      // RFC1112 Reserved + Limited Broadcast
    };

    /// <summary>True when miniupnpc would call the external address <paramref name="text"/> reserved.</summary>
    internal static bool IsReserved(string text) =>
        !TryParseDottedQuad(text, out var address) || IsReserved(address);

    /// <summary>
    /// Parses IPv4 text exactly as glibc's <c>inet_pton(AF_INET)</c> does: four decimal parts of 0–255, no leading
    /// zeros, nothing else (<see cref="IPAddress.TryParse(string?, out IPAddress?)"/> also takes "1", hex and octal).
    /// </summary>
    internal static bool TryParseDottedQuad(string text, out IPAddress address)
    {
        address = IPAddress.None;
        string[] parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }
        var bytes = new byte[4];
        for (int i = 0; i < 4; i++)
        {
            string part = parts[i];
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0'))
            {
                return false;
            }
            int value = 0;
            foreach (char c in part)
            {
                if (c is < '0' or > '9')
                {
                    return false;
                }
                value = value * 10 + (c - '0');
            }
            if (value > 255)
            {
                return false;
            }
            bytes[i] = (byte)value;
        }
        address = new IPAddress(bytes);
        return true;
    }

    /// <summary>True when the IPv4 <paramref name="address"/> lies in one of miniupnpc's reserved blocks.</summary>
    internal static bool IsReserved(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            return true;
        }
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        uint value = (uint)bytes[0] << 24 | (uint)bytes[1] << 16 | (uint)bytes[2] << 8 | bytes[3];
        foreach (var (network, prefix) in Blocks)
        {
            int shift = 32 - prefix;
            if (value >> shift == network >> shift)
            {
                return true;
            }
        }
        return false;
    }

    private static uint Ip(uint a, uint b, uint c, uint d) => a << 24 | b << 16 | c << 8 | d;
}
