using System;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MiniUpnp.Net;

/// <summary>Why a datagram is not the answer to a Binding request (it is then ignored, as RFC 8489 §6.3 asks).</summary>
internal enum StunReplyProblem
{
    None,
    TooShort,
    NotStun,
    WrongCookie,
    BadLength,
    NotAResponse,
    WrongTransaction,
    MalformedAttribute,
    BadFingerprint,
    NoMappedAddress,
    NoErrorCode,
    WrongSender,
}

/// <summary>A parsed Binding response (RFC 8489 §6.3.1 success, §6.3.4 error) and the attributes this client reads.</summary>
internal readonly record struct StunResponse(
    bool IsError,
    IPEndPoint? Mapped,
    bool IsXorMapped,
    IPEndPoint? OtherAddress,
    IPEndPoint? ResponseOrigin,
    string? Software,
    int ErrorCode,
    string? ErrorReason);

/// <summary>
/// The STUN wire format (RFC 8489, with RFC 5780's attributes): the Binding request, with or without CHANGE-REQUEST, and
/// its response. Every read is bounded by the span it is given: a datagram that is short, not STUN, or not the answer to
/// the request is reported as a <see cref="StunReplyProblem"/>, never an exception.
/// </summary>
internal static class StunMessage
{
    internal const int HeaderBytes = 20;
    internal const int TransactionIdBytes = 12;
    internal const uint MagicCookie = 0x2112A442;

    internal const ushort BindingRequest = 0x0001;
    internal const ushort BindingSuccess = 0x0101;
    internal const ushort BindingError = 0x0111;

    internal const ushort MappedAddress = 0x0001;
    internal const ushort ChangeRequest = 0x0003;
    internal const ushort ChangedAddress = 0x0005;
    internal const ushort ErrorCodeAttribute = 0x0009;
    internal const ushort XorMappedAddress = 0x0020;
    internal const ushort Software = 0x8022;
    internal const ushort Fingerprint = 0x8028;
    internal const ushort ResponseOrigin = 0x802B;
    internal const ushort OtherAddress = 0x802C;

    /// <summary>RFC 5780 §7.2: the CHANGE-REQUEST flags.</summary>
    internal const uint ChangeIPFlag = 0x04;
    internal const uint ChangePortFlag = 0x02;

    /// <summary>RFC 8489 §14.7: FINGERPRINT is the CRC-32 of the message before it, XOR'ed with this.</summary>
    private const uint FingerprintXor = 0x5354554E;

    /// <summary>A Binding request (RFC 8489 §6.1): the header, and CHANGE-REQUEST (RFC 5780 §7.2) when a change is
    /// asked for.</summary>
    internal static byte[] Request(ReadOnlySpan<byte> transactionId, StunChangeRequest change)
    {
        if (transactionId.Length != TransactionIdBytes)
        {
            throw new ArgumentException("A STUN transaction id is 12 bytes.", nameof(transactionId));
        }
        int attributes = change == StunChangeRequest.None ? 0 : 8;
        var message = new byte[HeaderBytes + attributes];
        BinaryPrimitives.WriteUInt16BigEndian(message, BindingRequest);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), (ushort)attributes);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), MagicCookie);
        transactionId.CopyTo(message.AsSpan(8));
        if (attributes != 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(20), ChangeRequest);
            BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(22), 4);
            BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(24), (uint)change);
        }
        return message;
    }

    /// <summary>
    /// Checks that <paramref name="datagram"/> is a Binding success or error response with the request's transaction id
    /// (RFC 8489 §6.3: header of 20 bytes, the two top bits zero, the magic cookie, a length that is a multiple of 4 and
    /// lies within the datagram; attributes whose padded values lie within that length; FINGERPRINT, when present, right)
    /// and reads it. A success needs XOR-MAPPED-ADDRESS or MAPPED-ADDRESS, an error ERROR-CODE. Only the first of each
    /// attribute counts (§14); attributes this client does not read are skipped.
    /// </summary>
    internal static StunReplyProblem TryParse(ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> transactionId, out StunResponse response)
    {
        response = default;
        if (datagram.Length < HeaderBytes)
        {
            return StunReplyProblem.TooShort;
        }
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(datagram);
        if ((type & 0xC000) != 0)
        {
            return StunReplyProblem.NotStun;
        }
        if (BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) != MagicCookie)
        {
            return StunReplyProblem.WrongCookie;
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        if (length % 4 != 0 || HeaderBytes + length > datagram.Length)
        {
            return StunReplyProblem.BadLength;
        }
        if (type is not (BindingSuccess or BindingError))
        {
            return StunReplyProblem.NotAResponse;
        }
        if (!datagram.Slice(8, TransactionIdBytes).SequenceEqual(transactionId))
        {
            return StunReplyProblem.WrongTransaction;
        }

        var message = datagram[..(HeaderBytes + length)];
        IPEndPoint? xorMapped = null, mapped = null, other = null, changed = null, origin = null;
        string? software = null, reason = null;
        int code = 0;
        bool seenXor = false, seenMapped = false, seenOther = false, seenChanged = false, seenOrigin = false,
            seenSoftware = false, seenError = false;
        int position = HeaderBytes;
        while (position < message.Length)
        {
            // The length is a multiple of 4 and so is every padded attribute: 4 header bytes always remain here.
            ushort attribute = BinaryPrimitives.ReadUInt16BigEndian(message[position..]);
            int valueLength = BinaryPrimitives.ReadUInt16BigEndian(message[(position + 2)..]);
            int padded = (valueLength + 3) & ~3;
            if (padded > message.Length - position - 4)
            {
                return StunReplyProblem.MalformedAttribute;
            }
            var value = message.Slice(position + 4, valueLength);
            switch (attribute)
            {
                case XorMappedAddress when !seenXor:
                    seenXor = true;
                    if (!TryReadAddress(value, datagram.Slice(4, 16), out xorMapped))
                    {
                        return StunReplyProblem.MalformedAttribute;
                    }
                    break;
                case MappedAddress when !seenMapped:
                    seenMapped = true;
                    if (!TryReadAddress(value, default, out mapped))
                    {
                        return StunReplyProblem.MalformedAttribute;
                    }
                    break;
                case OtherAddress when !seenOther:
                    seenOther = true;
                    if (!TryReadAddress(value, default, out other))
                    {
                        return StunReplyProblem.MalformedAttribute;
                    }
                    break;
                case ChangedAddress when !seenChanged:
                    seenChanged = true;
                    if (!TryReadAddress(value, default, out changed))
                    {
                        return StunReplyProblem.MalformedAttribute;
                    }
                    break;
                case ResponseOrigin when !seenOrigin:
                    seenOrigin = true;
                    if (!TryReadAddress(value, default, out origin))
                    {
                        return StunReplyProblem.MalformedAttribute;
                    }
                    break;
                case Software when !seenSoftware:
                    seenSoftware = true;
                    software = Text(value);
                    break;
                case ErrorCodeAttribute when !seenError:
                    seenError = true;
                    // §14.8: 21 reserved bits, the class (3 bits, 3–6) and the number (0–99), then a UTF-8 reason.
                    if (valueLength < 4 || (value[2] & 0x07) is < 3 or > 6 || value[3] > 99)
                    {
                        return StunReplyProblem.MalformedAttribute;
                    }
                    code = (value[2] & 0x07) * 100 + value[3];
                    reason = Text(value[4..]);
                    break;
                case Fingerprint:
                    // §14.7: the last attribute; the CRC covers the message before it, its length field counting it.
                    if (valueLength != 4 || position + 8 != message.Length
                        || BinaryPrimitives.ReadUInt32BigEndian(value) != (Crc32(message[..position]) ^ FingerprintXor))
                    {
                        return StunReplyProblem.BadFingerprint;
                    }
                    break;
            }
            position += 4 + padded;
        }

        if (type == BindingError)
        {
            if (!seenError)
            {
                return StunReplyProblem.NoErrorCode;
            }
            response = new StunResponse(true, null, false, other ?? changed, origin, software, code, reason);
            return StunReplyProblem.None;
        }
        if (xorMapped is null && mapped is null)
        {
            return StunReplyProblem.NoMappedAddress;
        }
        response = new StunResponse(false, xorMapped ?? mapped, xorMapped is not null, other ?? changed, origin, software, 0, null);
        return StunReplyProblem.None;
    }

    /// <summary>
    /// Reads a (XOR-)MAPPED-ADDRESS-shaped value (RFC 8489 §14.1, §14.2): reserved byte, family 1 (IPv4, 4 address bytes)
    /// or 2 (IPv6, 16), port, address. With a <paramref name="xorKey"/> (cookie + transaction id), port and address are
    /// XOR'ed with it.
    /// </summary>
    private static bool TryReadAddress(ReadOnlySpan<byte> value, ReadOnlySpan<byte> xorKey, out IPEndPoint? endPoint)
    {
        endPoint = null;
        int addressBytes = value.Length >= 2 ? value[1] switch { 1 => 4, 2 => 16, _ => -1 } : -1;
        if (addressBytes < 0 || value.Length != 4 + addressBytes)
        {
            return false;
        }
        Span<byte> address = stackalloc byte[addressBytes];
        value.Slice(4, addressBytes).CopyTo(address);
        int port = BinaryPrimitives.ReadUInt16BigEndian(value[2..]);
        if (!xorKey.IsEmpty)
        {
            port ^= (int)(MagicCookie >> 16);
            for (int i = 0; i < addressBytes; i++)
            {
                address[i] ^= xorKey[i];
            }
        }
        endPoint = new IPEndPoint(new IPAddress(address.ToArray()), port);
        return true;
    }

    private static string Text(ReadOnlySpan<byte> value) => Encoding.UTF8.GetString(value).TrimEnd('\0');

    /// <summary>CRC-32 as ISO 3309 / ITU-T V.42 (the zlib one), bit by bit: a STUN message is short.</summary>
    internal static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc >> 1) ^ (0xEDB88320 & (uint)-(int)(crc & 1));
            }
        }
        return ~crc;
    }

    /// <summary>The text the timeout's message gives for a reply that was ignored.</summary>
    internal static string Describe(StunReplyProblem problem) => problem switch
    {
        StunReplyProblem.TooShort => "shorter than the 20-byte header",
        StunReplyProblem.NotStun => "not STUN (top bits of the type set)",
        StunReplyProblem.WrongCookie => "without the magic cookie",
        StunReplyProblem.BadLength => "a length that is not a multiple of 4 or exceeds the datagram",
        StunReplyProblem.NotAResponse => "not a Binding response",
        StunReplyProblem.WrongTransaction => "another transaction id",
        StunReplyProblem.MalformedAttribute => "a malformed attribute",
        StunReplyProblem.BadFingerprint => "a wrong FINGERPRINT",
        StunReplyProblem.NoMappedAddress => "a success without (XOR-)MAPPED-ADDRESS",
        StunReplyProblem.NoErrorCode => "an error without ERROR-CODE",
        StunReplyProblem.WrongSender => "from another address than the one asked",
        _ => "valid",
    };

    /// <summary>The address as the client compares it: IPv4-mapped IPv6 as IPv4.</summary>
    internal static IPAddress Plain(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>True when both name the same address and port (IPv4-mapped IPv6 as IPv4, IPv6 scope ignored).</summary>
    internal static bool Same(IPEndPoint a, IPEndPoint b)
    {
        if (a.Port != b.Port)
        {
            return false;
        }
        var x = Plain(a.Address);
        var y = Plain(b.Address);
        return x.AddressFamily == y.AddressFamily
            && (x.AddressFamily == AddressFamily.InterNetworkV6
                ? x.GetAddressBytes().AsSpan().SequenceEqual(y.GetAddressBytes())
                : x.Equals(y));
    }
}
