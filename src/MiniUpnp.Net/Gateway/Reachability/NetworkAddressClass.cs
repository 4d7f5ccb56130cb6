using System;
using System.Net;
using System.Net.Sockets;

namespace MiniUpnp.Net;

/// <summary>What kind of address a router reports as its external one, and so whether the Internet can reach it.</summary>
public enum NetworkAddressClass
{
    /// <summary>A public address: routed on the Internet.</summary>
    Public = 0,

    /// <summary>100.64.0.0/10, the shared address space of carrier-grade NAT (RFC 6598): the ISP translates it again.</summary>
    CarrierGradeNat = 1,

    /// <summary>A private address (RFC 1918 10/8, 172.16/12, 192.168/16; IPv6 fc00::/7): another router is in front.</summary>
    Private = 2,

    /// <summary>Any other address the Internet does not route: unspecified, loopback, link-local, documentation,
    /// benchmarking (198.18/15), multicast, 240/4 (RFC 6890).</summary>
    Reserved = 3,
}

/// <summary>Classifies addresses (<see cref="NetworkAddressClass"/>), by the IANA special-purpose registries (RFC 6890).</summary>
public static class NetworkAddressClassifier
{
    /// <summary>The class of <paramref name="address"/>; an IPv4-mapped IPv6 address is classified as its IPv4 address.</summary>
    /// <param name="address">The address.</param>
    /// <returns>Its class.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="address"/> is null.</exception>
    public static NetworkAddressClass Classify(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        return address.AddressFamily == AddressFamily.InterNetwork ? ClassifyV4(address.GetAddressBytes()) : ClassifyV6(address);
    }

    private static NetworkAddressClass ClassifyV4(byte[] b) => (b[0], b[1], b[2]) switch
    {
        (10, _, _) => NetworkAddressClass.Private,
        (172, >= 16 and <= 31, _) => NetworkAddressClass.Private,
        (192, 168, _) => NetworkAddressClass.Private,
        (100, >= 64 and <= 127, _) => NetworkAddressClass.CarrierGradeNat,
        (0, _, _) or (127, _, _) or (169, 254, _) => NetworkAddressClass.Reserved,
        (192, 0, 0) or (192, 0, 2) or (198, 51, 100) or (203, 0, 113) => NetworkAddressClass.Reserved,
        (198, 18 or 19, _) => NetworkAddressClass.Reserved,
        ( >= 224, _, _) => NetworkAddressClass.Reserved, // multicast, 240/4 and the broadcast address
        _ => NetworkAddressClass.Public,
    };

    private static NetworkAddressClass ClassifyV6(IPAddress address)
    {
        var b = address.GetAddressBytes();
        if ((b[0] & 0xFE) == 0xFC)
        {
            return NetworkAddressClass.Private; // unique local fc00::/7
        }
        bool documentation = (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8) // 2001:db8::/32
            || (b[0] == 0x3F && b[1] == 0xFF && (b[2] & 0xF0) == 0); // 3fff::/20 (RFC 9637)
        bool benchmarking = b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 2 && b[4] == 0 && b[5] == 0; // 2001:2::/48
        bool nat64 = b[0] == 0 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0; // 64:ff9b::/96
        bool globalUnicast = (b[0] & 0xE0) == 0x20; // 2000::/3
        return nat64 || (globalUnicast && !documentation && !benchmarking) ? NetworkAddressClass.Public : NetworkAddressClass.Reserved;
    }
}
