using System;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace MiniUpnp.Net;

/// <summary>Why a datagram is not the answer to a request (it is then ignored, as RFC 6887 §8.3 asks).</summary>
internal enum PcpReplyProblem
{
    None,
    TooShort,
    TooLong,
    NotAResponse,
    WrongVersion,
    WrongOpcode,
    WrongNonce,
    OtherMapping,
    SuccessWithoutMapping,
    WrongSender,
}

/// <summary>A parsed PCP response (RFC 6887 §7.2, §11.1): header fields and, for MAP, the mapping part.</summary>
internal readonly record struct PcpResponse(
    int Version,
    byte Opcode,
    PcpResultCode ResultCode,
    uint Lifetime,
    uint Epoch,
    int ExternalPort,
    IPAddress? ExternalAddress);

/// <summary>
/// The PCP wire format, version 2 (RFC 6887): the common header (§7.1 request, §7.2 response), ANNOUNCE (§14.1) and MAP
/// (§11.1). Every read is bounded by the span it is given: a datagram that is too short, too long or not the answer to
/// the request is reported as a <see cref="PcpReplyProblem"/>, never an exception.
/// </summary>
internal static class PcpMessage
{
    internal const byte Version = 2;
    internal const byte OpcodeAnnounce = 0;
    internal const byte OpcodeMap = 1;
    internal const byte ResponseBit = 0x80;

    /// <summary>The largest PCP message (RFC 6887 §7: UDP payload of at most 1100 octets).</summary>
    internal const int MaxMessageBytes = 1100;

    /// <summary>The common header, request or response (§7.1, §7.2).</summary>
    internal const int HeaderBytes = 24;

    /// <summary>MAP's opcode-specific part (§11.1): nonce 12, protocol 1, reserved 3, internal port 2, external port 2,
    /// external address 16.</summary>
    internal const int MapBytes = 36;

    internal const int NonceBytes = 12;

    /// <summary>An address as PCP writes it: 16 bytes, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), IPv6 without scope.</summary>
    internal static void WriteAddress(Span<byte> destination, IPAddress address)
    {
        var v6 = address.AddressFamily == AddressFamily.InterNetwork ? address.MapToIPv6() : address;
        if (!v6.TryWriteBytes(destination[..16], out int written) || written != 16)
        {
            throw new ArgumentException("Not an IPv4 or IPv6 address.", nameof(address));
        }
    }

    /// <summary>The address in 16 PCP bytes; an IPv4-mapped one comes back as IPv4.</summary>
    internal static IPAddress ReadAddress(ReadOnlySpan<byte> source)
    {
        var address = new IPAddress(source[..16].ToArray());
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    /// <summary>The all-zeros address of the family of <paramref name="client"/> (§11.1: "no suggestion"): ::ffff:0.0.0.0
    /// for IPv4, :: for IPv6.</summary>
    internal static IPAddress Unspecified(IPAddress client) =>
        client.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any;

    /// <summary>Writes the common request header (§7.1); returns <see cref="HeaderBytes"/>.</summary>
    internal static int WriteHeader(Span<byte> destination, byte opcode, uint lifetime, IPAddress client)
    {
        destination[..HeaderBytes].Clear();
        destination[0] = Version;
        destination[1] = (byte)(opcode & 0x7F);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(4, 4), lifetime);
        WriteAddress(destination.Slice(8, 16), client);
        return HeaderBytes;
    }

    /// <summary>An ANNOUNCE request (§14.1): the header alone, lifetime 0.</summary>
    internal static byte[] Announce(IPAddress client)
    {
        var message = new byte[HeaderBytes];
        WriteHeader(message, OpcodeAnnounce, 0, client);
        return message;
    }

    /// <summary>A MAP request (§11.1). A lifetime of 0 deletes the mapping that <paramref name="nonce"/> created.</summary>
    internal static byte[] Map(IPAddress client, uint lifetime, ReadOnlySpan<byte> nonce, PortMappingProtocol protocol,
        int internalPort, int suggestedExternalPort, IPAddress? suggestedExternalAddress)
    {
        if (nonce.Length != NonceBytes)
        {
            throw new ArgumentException("A mapping nonce is 12 bytes.", nameof(nonce));
        }
        var message = new byte[HeaderBytes + MapBytes];
        var map = message.AsSpan(WriteHeader(message, OpcodeMap, lifetime, client));
        nonce.CopyTo(map);
        map[12] = (byte)protocol;
        BinaryPrimitives.WriteUInt16BigEndian(map.Slice(16, 2), checked((ushort)internalPort));
        BinaryPrimitives.WriteUInt16BigEndian(map.Slice(18, 2), checked((ushort)suggestedExternalPort));
        WriteAddress(map.Slice(20, 16), suggestedExternalAddress ?? Unspecified(client));
        return message;
    }

    /// <summary>
    /// Checks that <paramref name="datagram"/> is a PCP response to an ANNOUNCE or MAP request and reads it. For MAP, the
    /// response must carry the request's nonce, protocol and internal port (§11.3: it answers that mapping); a success
    /// to a request for a lifetime must give a lifetime and an external port. A version-0 or version-1 answer with
    /// UNSUPP_VERSION (§9: a NAT-PMP-only server answers so) is a response, with its own version.
    /// </summary>
    internal static PcpReplyProblem TryParse(ReadOnlySpan<byte> datagram, byte opcode, ReadOnlySpan<byte> nonce,
        PortMappingProtocol protocol, int internalPort, uint requestedLifetime, out PcpResponse response)
    {
        response = default;
        if (datagram.Length > MaxMessageBytes)
        {
            return PcpReplyProblem.TooLong;
        }
        if (datagram.Length < 4)
        {
            return PcpReplyProblem.TooShort;
        }
        if ((datagram[1] & ResponseBit) == 0)
        {
            return PcpReplyProblem.NotAResponse;
        }
        if (datagram[0] != Version)
        {
            return TryParseUnsupportedVersion(datagram, out response);
        }
        if ((datagram[1] & 0x7F) != opcode)
        {
            return PcpReplyProblem.WrongOpcode;
        }
        if (datagram.Length < HeaderBytes)
        {
            return PcpReplyProblem.TooShort;
        }
        var result = (PcpResultCode)datagram[3];
        uint lifetime = BinaryPrimitives.ReadUInt32BigEndian(datagram.Slice(4, 4));
        uint epoch = BinaryPrimitives.ReadUInt32BigEndian(datagram.Slice(8, 4));
        if (opcode == OpcodeAnnounce)
        {
            response = new PcpResponse(Version, opcode, result, lifetime, epoch, 0, null);
            return PcpReplyProblem.None;
        }
        if (datagram.Length < HeaderBytes + MapBytes)
        {
            // An error about the request as a whole may come without the opcode's part (there is no nonce to check then).
            if (result is PcpResultCode.UnsuppVersion or PcpResultCode.MalformedRequest or PcpResultCode.UnsuppOpcode)
            {
                response = new PcpResponse(Version, opcode, result, lifetime, epoch, 0, null);
                return PcpReplyProblem.None;
            }
            return PcpReplyProblem.TooShort;
        }
        var map = datagram.Slice(HeaderBytes, MapBytes);
        if (!map[..NonceBytes].SequenceEqual(nonce))
        {
            return PcpReplyProblem.WrongNonce;
        }
        if (map[12] != (byte)protocol || BinaryPrimitives.ReadUInt16BigEndian(map.Slice(16, 2)) != internalPort)
        {
            return PcpReplyProblem.OtherMapping;
        }
        int externalPort = BinaryPrimitives.ReadUInt16BigEndian(map.Slice(18, 2));
        var externalAddress = ReadAddress(map.Slice(20, 16));
        if (result == PcpResultCode.Success && requestedLifetime != 0 && (lifetime == 0 || externalPort == 0))
        {
            // A mapping with no lifetime or no port is no mapping: not an answer a client can use (RFC 6887 §11.4 wants
            // the assigned port and lifetime in a success).
            return PcpReplyProblem.SuccessWithoutMapping;
        }
        response = new PcpResponse(Version, opcode, result, lifetime, epoch, externalPort, externalAddress);
        return PcpReplyProblem.None;
    }

    /// <summary>
    /// A server of another version answering UNSUPP_VERSION (RFC 6887 §9): PCP version 1 puts the result code in byte 3;
    /// NAT-PMP (version 0, RFC 6886 §3.5) puts a 16-bit result code 1 in bytes 2–3. Anything else of another version is
    /// not for us.
    /// </summary>
    private static PcpReplyProblem TryParseUnsupportedVersion(ReadOnlySpan<byte> datagram, out PcpResponse response)
    {
        response = default;
        int version = datagram[0];
        bool unsupported = version switch
        {
            0 => BinaryPrimitives.ReadUInt16BigEndian(datagram.Slice(2, 2)) == (ushort)PcpResultCode.UnsuppVersion,
            1 => datagram[3] == (byte)PcpResultCode.UnsuppVersion,
            _ => false,
        };
        if (!unsupported)
        {
            return PcpReplyProblem.WrongVersion;
        }
        uint epoch = datagram.Length >= 8 ? BinaryPrimitives.ReadUInt32BigEndian(datagram.Slice(4, 4)) : 0;
        response = new PcpResponse(version, (byte)(datagram[1] & 0x7F), PcpResultCode.UnsuppVersion, 0, epoch, 0, null);
        return PcpReplyProblem.None;
    }

    /// <summary>The problem, for a timeout's message.</summary>
    internal static string Describe(PcpReplyProblem problem) => problem switch
    {
        PcpReplyProblem.TooShort => "too short",
        PcpReplyProblem.TooLong => $"longer than {MaxMessageBytes} bytes",
        PcpReplyProblem.NotAResponse => "not a response (R bit clear)",
        PcpReplyProblem.WrongVersion => "another protocol version",
        PcpReplyProblem.WrongOpcode => "the answer to another opcode",
        PcpReplyProblem.WrongNonce => "another mapping nonce",
        PcpReplyProblem.OtherMapping => "another protocol or internal port",
        PcpReplyProblem.SuccessWithoutMapping => "a success without lifetime or external port",
        PcpReplyProblem.WrongSender => "from another address than the server's",
        _ => "valid",
    };
}
