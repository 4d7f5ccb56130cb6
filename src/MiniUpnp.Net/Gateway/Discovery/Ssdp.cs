using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;

namespace MiniUpnp.Net;

/// <summary>The SSDP pieces of discovery (UPnP Device Architecture 1.1, section 1.3): the M-SEARCH request, the parse
/// of its answers, and where to send it.</summary>
internal static class Ssdp
{
    /// <summary>The SSDP multicast group and port.</summary>
    internal static readonly IPEndPoint MulticastEndPoint = new(new IPAddress(new byte[] { 239, 255, 255, 250 }), 1900);

    /// <summary>SSDP over IPv6, site-local scope (miniupnpc tries it first: the answer then comes from, and names, an
    /// address of site scope or wider).</summary>
    internal static readonly IPEndPoint SiteLocalMulticastEndPoint = new(IPv6Group(0x05), 1900);

    /// <summary>SSDP over IPv6, link-local scope (miniupnpc's second try).</summary>
    internal static readonly IPEndPoint LinkLocalMulticastEndPoint = new(IPv6Group(0x02), 1900);

    // ff0s::c, built from bytes: parsing text would be the first use of the runtime's address parser in a search,
    // milliseconds of a fresh process's start spent before its first datagram.
    private static IPAddress IPv6Group(byte scope)
    {
        var bytes = new byte[16];
        bytes[0] = 0xff;
        bytes[1] = scope;
        bytes[15] = 0x0c;
        return new IPAddress(bytes);
    }

    /// <summary>The largest answer read; a bigger datagram is not an SSDP answer worth parsing.</summary>
    internal const int MaxDatagram = 8192;

    /// <summary>MX: how long (s) a device may wait before answering a multicast search. We do not wait for it: we return
    /// on the first valid answer. 2 is what miniupnpc sends for a 2 s delay.</summary>
    internal const string Mx = "2";

    /// <summary>An M-SEARCH request for <paramref name="searchTarget"/> addressed to <paramref name="target"/>.</summary>
    internal static byte[] Request(IPEndPoint target, string searchTarget) => Encoding.ASCII.GetBytes(
        "M-SEARCH * HTTP/1.1\r\n" +
        "HOST: " + HostHeader(target) + "\r\n" +
        "ST: " + searchTarget + "\r\n" +
        "MAN: \"ssdp:discover\"\r\n" +
        "MX: " + Mx + "\r\n" +
        "\r\n");

    private const string MulticastHost = "239.255.255.250:1900";

    // "239.255.255.250:1900", "[ff05::c]:1900" (no scope id: it means nothing to the receiver). The first search's is a
    // constant: formatting an address is code a fresh process would compile before its first datagram.
    private static string HostHeader(IPEndPoint target)
    {
        if (target.Equals(MulticastEndPoint))
        {
            return MulticastHost;
        }
        if (target.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return $"{target.Address}:{target.Port}";
        }
        var address = new IPAddress(target.Address.GetAddressBytes());
        return $"[{address}]:{target.Port}";
    }

    /// <summary>The headers of an answer that matter here.</summary>
    internal sealed record Answer(string Location, string SearchTarget, string? UniqueServiceName, string? Server);

    /// <summary>Parses an answer: <c>HTTP/1.x 200</c>, then headers (any case); null unless it carries a LOCATION.</summary>
    internal static Answer? Parse(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length is 0 or > MaxDatagram)
        {
            return null;
        }
        // Latin-1 keeps every byte as one char: nothing can fail, and header names are ASCII anyway.
        string text = Encoding.Latin1.GetString(datagram);
        string[] lines = text.Split('\n');
        string status = lines[0].TrimEnd('\r');
        if (!(status.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) || status.StartsWith("HTTP/1.0 200", StringComparison.Ordinal)))
        {
            return null;
        }
        string? location = null, st = null, usn = null, server = null;
        for (int i = 1; i < lines.Length && i < 64; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0)
            {
                break;
            }
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }
            string name = line[..colon].Trim();
            string value = line[(colon + 1)..].Trim();
            if (name.Equals("LOCATION", StringComparison.OrdinalIgnoreCase))
            {
                location ??= value;
            }
            else if (name.Equals("ST", StringComparison.OrdinalIgnoreCase))
            {
                st ??= value;
            }
            else if (name.Equals("USN", StringComparison.OrdinalIgnoreCase))
            {
                usn ??= value;
            }
            else if (name.Equals("SERVER", StringComparison.OrdinalIgnoreCase))
            {
                server ??= value;
            }
        }
        return string.IsNullOrEmpty(location) ? null : new Answer(location!, st ?? string.Empty, usn, server);
    }

    /// <summary>The "uuid:…" part of a USN ("uuid:…::urn:…"), or null when there is none.</summary>
    internal static string? DeviceUuid(string? usn)
    {
        if (usn is null || !usn.StartsWith("uuid:", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        int end = usn.IndexOf("::", StringComparison.Ordinal);
        string uuid = end < 0 ? usn : usn[..end];
        return uuid.Length is > 5 and <= 128 ? uuid : null;
    }

    /// <summary>The IPv4 default gateways of the interfaces that are up (what a unicast search goes to).</summary>
    internal static IReadOnlyList<IPAddress> DefaultGateways() =>
        OperatingSystem.IsLinux() && TryReadProcNetRoute("/proc/net/route", out var fromKernel) ? fromKernel : FromInterfaces();

    /// <summary>
    /// Linux: the default routes of /proc/net/route, one file read. NetworkInterface reads a dozen files per interface
    /// for the same answer (tens of milliseconds in a fresh process: bench/README.md), on the path of a cold start.
    /// </summary>
    internal static bool TryReadProcNetRoute(string path, out IReadOnlyList<IPAddress> gateways)
    {
        var found = new List<IPAddress>();
        gateways = found;
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        // "Iface Destination Gateway Flags ..." with addresses as the kernel's 32-bit values in host byte order, hex.
        const int RtfUp = 0x1, RtfGateway = 0x2;
        foreach (string line in lines.Skip(1).Take(256))
        {
            string[] f = line.Split(new[] { '\t', ' ' }, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 4 || f[1] != "00000000"
                || !uint.TryParse(f[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint gateway)
                || !int.TryParse(f[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int flags)
                || (flags & (RtfUp | RtfGateway)) != (RtfUp | RtfGateway) || gateway == 0)
            {
                continue;
            }
            var address = new IPAddress(BitConverter.GetBytes(gateway));
            if (!found.Contains(address) && found.Count < 8)
            {
                found.Add(address);
            }
        }
        return true;
    }

    /// <summary>The indexes of the interfaces an IPv6 multicast search goes out on: up, multicast-capable, not loopback,
    /// with an IPv6 address.</summary>
    internal static IReadOnlyList<int> IPv6MulticastInterfaces()
    {
        var indexes = new List<int>();
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (nic.OperationalStatus != OperationalStatus.Up || !nic.SupportsMulticast || !nic.Supports(NetworkInterfaceComponent.IPv6)
                    || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
                {
                    continue;
                }
                var properties = nic.GetIPProperties();
                if (!properties.UnicastAddresses.Any(a => a.Address.AddressFamily == AddressFamily.InterNetworkV6))
                {
                    continue;
                }
                int index = properties.GetIPv6Properties().Index;
                if (index > 0 && !indexes.Contains(index) && indexes.Count < 16)
                {
                    indexes.Add(index);
                }
            }
        }
        catch (NetworkInformationException)
        {
            // No interface information: unicast targets remain.
        }
        return indexes;
    }

    private static IReadOnlyList<IPAddress> FromInterfaces()
    {
        var gateways = new List<IPAddress>();
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
                {
                    continue;
                }
                foreach (var gateway in nic.GetIPProperties().GatewayAddresses)
                {
                    var address = gateway.Address;
                    if (address.AddressFamily == AddressFamily.InterNetwork && !address.Equals(IPAddress.Any)
                        && !gateways.Contains(address) && gateways.Count < 8)
                    {
                        gateways.Add(address);
                    }
                }
            }
        }
        catch (NetworkInformationException)
        {
            // No interface information (a sandbox): multicast and the configured targets remain.
        }
        return gateways;
    }
}
