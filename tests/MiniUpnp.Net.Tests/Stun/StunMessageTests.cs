using System;
using System.Net;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Stun;

/// <summary>
/// The wire format on its own: RFC 5769's test vectors (XOR-MAPPED-ADDRESS over IPv4 and IPv6, SOFTWARE, FINGERPRINT),
/// the request's bytes, and each bound the parser checks, reported as the problem that gets a datagram ignored.
/// </summary>
public class StunMessageTests
{
    private static readonly byte[] VectorTransactionId = Convert.FromHexString("b7e7a701bc34d686fa87dfae");

    /// <summary>RFC 5769 §2.2, sample IPv4 response.</summary>
    private static readonly byte[] Rfc5769IPv4 = Convert.FromHexString(
        "0101003c2112a442b7e7a701bc34d686fa87dfae" +
        "8022000b7465737420766563746f7220" +
        "002000080001a147e112a643" +
        "000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7" +
        "80280004c07d4c96");

    /// <summary>RFC 5769 §2.3, sample IPv6 response.</summary>
    private static readonly byte[] Rfc5769IPv6 = Convert.FromHexString(
        "010100482112a442b7e7a701bc34d686fa87dfae" +
        "8022000b7465737420766563746f7220" +
        "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9" +
        "00080014a382954e4be67bf11784c97c8292c275bfe3ed41" +
        "80280004c8fb0b4c");

    [Test]
    public void ReadsTheRfc5769IPv4Vector()
    {
        Assert.That(StunMessage.TryParse(Rfc5769IPv4, VectorTransactionId, out var response), Is.EqualTo(StunReplyProblem.None));
        Assert.That(response.Mapped, Is.EqualTo(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853)));
        Assert.That((response.IsError, response.IsXorMapped, response.Software), Is.EqualTo((false, true, "test vector")));
        Assert.That((response.OtherAddress, response.ResponseOrigin), Is.EqualTo(((IPEndPoint?)null, (IPEndPoint?)null)));
    }

    [Test]
    public void ReadsTheRfc5769IPv6Vector()
    {
        Assert.That(StunMessage.TryParse(Rfc5769IPv6, VectorTransactionId, out var response), Is.EqualTo(StunReplyProblem.None));
        Assert.That(response.Mapped, Is.EqualTo(new IPEndPoint(IPAddress.Parse("2001:db8:1234:5678:11:2233:4455:6677"), 32853)));
    }

    [Test]
    public void AWrongFingerprintIsIgnored()
    {
        var tampered = (byte[])Rfc5769IPv4.Clone();
        tampered[^1] ^= 1;
        Assert.That(StunMessage.TryParse(tampered, VectorTransactionId, out _), Is.EqualTo(StunReplyProblem.BadFingerprint));
        var mappedChanged = (byte[])Rfc5769IPv4.Clone();
        mappedChanged[45] ^= 1; // inside XOR-MAPPED-ADDRESS: the CRC no longer matches
        Assert.That(StunMessage.TryParse(mappedChanged, VectorTransactionId, out _), Is.EqualTo(StunReplyProblem.BadFingerprint));
    }

    [Test]
    public void TheRequestIsAHeaderAndAnOptionalChangeRequest()
    {
        var id = Convert.FromHexString("0102030405060708090a0b0c");
        Assert.That(Convert.ToHexString(StunMessage.Request(id, StunChangeRequest.None)),
            Is.EqualTo("000100002112A442" + "0102030405060708090A0B0C"));
        Assert.That(Convert.ToHexString(StunMessage.Request(id, StunChangeRequest.ChangeAddress | StunChangeRequest.ChangePort)),
            Is.EqualTo("000100082112A442" + "0102030405060708090A0B0C" + "0003000400000006"));
        Assert.That(Convert.ToHexString(StunMessage.Request(id, StunChangeRequest.ChangePort)), Does.EndWith("0003000400000002"));
        Assert.That(() => StunMessage.Request(new byte[11], StunChangeRequest.None), Throws.ArgumentException);
    }

    private static byte[] Valid(byte[] request) =>
        StunResponder.Success(request, new IPEndPoint(IPAddress.Parse("203.0.113.7"), 40000), software: null);

    private static byte[] RequestBytes() => StunMessage.Request(Convert.FromHexString("a1a2a3a4a5a6a7a8a9aaabac"), StunChangeRequest.None);

    private static TestCaseData Case(string name, Func<byte[], byte[]> mutate, StunReplyProblem problem) =>
        new TestCaseData(mutate, problem).SetName("Parser reports " + name);

    private static System.Collections.Generic.IEnumerable<TestCaseData> Malformed()
    {
        yield return Case("19 bytes", r => Valid(r)[..19], StunReplyProblem.TooShort);
        yield return Case("top bits set", r => Set(Valid(r), 0, 0xC1), StunReplyProblem.NotStun);
        yield return Case("a wrong cookie", r => Set(Valid(r), 4, 0x21, 0x12, 0xA4, 0x43), StunReplyProblem.WrongCookie);
        yield return Case("a length not a multiple of 4", r => Set(Valid(r), 3, (byte)(Valid(r)[3] + 2)), StunReplyProblem.BadLength);
        yield return Case("a length beyond the datagram", r => Valid(r)[..^4], StunReplyProblem.BadLength);
        yield return Case("a Binding request", r => Set(Valid(r), 0, 0x00, 0x01), StunReplyProblem.NotAResponse);
        yield return Case("an indication", r => Set(Valid(r), 0, 0x00, 0x11), StunReplyProblem.NotAResponse);
        yield return Case("another transaction id", r => Set(Valid(r), 19, (byte)(r[19] ^ 0xFF)), StunReplyProblem.WrongTransaction);
        yield return Case("an attribute longer than the message",
            r => StunResponder.Message(0x0101, r, Set(StunResponder.AddressAttribute(0x0020, new IPEndPoint(IPAddress.Loopback, 1), r, true), 3, 12)),
            StunReplyProblem.MalformedAttribute);
        yield return Case("an odd-length attribute whose padding is missing",
            r => StunResponder.Message(0x0101, r, StunResponder.AddressAttribute(0x0020, new IPEndPoint(IPAddress.Loopback, 1), r, true),
                Set(new byte[4], 0, 0x80, 0x22, 0x00, 0x05)),
            StunReplyProblem.MalformedAttribute);
        yield return Case("an address family 3",
            r => Set(StunResponder.Message(0x0101, r, StunResponder.AddressAttribute(0x0020, new IPEndPoint(IPAddress.Loopback, 1), r, true)), 25, 3),
            StunReplyProblem.MalformedAttribute);
        yield return Case("an IPv6 family with 4 address bytes",
            r => Set(StunResponder.Message(0x0101, r, StunResponder.AddressAttribute(0x0020, new IPEndPoint(IPAddress.Loopback, 1), r, true)), 25, 2),
            StunReplyProblem.MalformedAttribute);
        yield return Case("a success without a mapped address", r => StunResponder.Success(r, null), StunReplyProblem.NoMappedAddress);
        yield return Case("an error without ERROR-CODE", r => StunResponder.Message(0x0111, r), StunReplyProblem.NoErrorCode);
        yield return Case("an ERROR-CODE of class 7", r => StunResponder.Error(r, 700, "x"), StunReplyProblem.MalformedAttribute);
        yield return Case("an ERROR-CODE shorter than 4 bytes",
            r => StunResponder.Message(0x0111, r, StunResponder.Attribute(0x0009, [0, 0, 4])), StunReplyProblem.MalformedAttribute);
        yield return Case("a FINGERPRINT that is not last",
            r => StunResponder.Message(0x0101, r, StunResponder.Attribute(0x8028, new byte[4]),
                StunResponder.AddressAttribute(0x0020, new IPEndPoint(IPAddress.Loopback, 1), r, true)),
            StunReplyProblem.BadFingerprint);
    }

    private static byte[] Set(byte[] bytes, int offset, params byte[] values)
    {
        values.CopyTo(bytes, offset);
        return bytes;
    }

    [TestCaseSource(nameof(Malformed))]
    public void MalformedRepliesAreReportedNotThrown(Delegate mutate, object expected)
    {
        var problem = (StunReplyProblem)expected;
        var request = RequestBytes();
        var datagram = ((Func<byte[], byte[]>)mutate)(request);
        Assert.That(StunMessage.TryParse(datagram, StunResponder.TransactionId(request), out var response), Is.EqualTo(problem));
        Assert.That(response, Is.EqualTo(default(StunResponse)));
    }

    [Test]
    public void TrailingBytesAfterTheMessageAndUnknownAttributesAreSkipped()
    {
        var request = RequestBytes();
        var datagram = StunResponder.Message(0x0101, request, StunResponder.Attribute(0x7FFE, [1, 2, 3]),
            StunResponder.AddressAttribute(0x0020, new IPEndPoint(IPAddress.Parse("198.51.100.1"), 5), request, true));
        Assert.That(StunMessage.TryParse([.. datagram, 0xEE, 0xEE], StunResponder.TransactionId(request), out var response),
            Is.EqualTo(StunReplyProblem.None));
        Assert.That(response.Mapped, Is.EqualTo(new IPEndPoint(IPAddress.Parse("198.51.100.1"), 5)));
    }

    [Test]
    public void XorMappedWinsOverMappedAndTheFirstOfEachCounts()
    {
        var request = RequestBytes();
        var xor = new IPEndPoint(IPAddress.Parse("198.51.100.1"), 5);
        var datagram = StunResponder.Message(0x0101, request,
            StunResponder.AddressAttribute(0x0001, new IPEndPoint(IPAddress.Parse("10.0.0.1"), 6), request, false),
            StunResponder.AddressAttribute(0x0020, xor, request, true),
            StunResponder.AddressAttribute(0x0020, new IPEndPoint(IPAddress.Parse("192.0.2.99"), 7), request, true),
            StunResponder.AddressAttribute(0x0005, new IPEndPoint(IPAddress.Parse("192.0.2.2"), 3479), request, false));
        Assert.That(StunMessage.TryParse(datagram, StunResponder.TransactionId(request), out var response), Is.EqualTo(StunReplyProblem.None));
        Assert.That((response.Mapped, response.IsXorMapped), Is.EqualTo((xor, true)));
        Assert.That(response.OtherAddress, Is.EqualTo(new IPEndPoint(IPAddress.Parse("192.0.2.2"), 3479)), "CHANGED-ADDRESS when no OTHER-ADDRESS");
    }

    [Test]
    public void AnErrorReadsClassNumberAndReason()
    {
        var request = RequestBytes();
        Assert.That(StunMessage.TryParse(StunResponder.Error(request, 420, "Unknown Attribute"), StunResponder.TransactionId(request),
            out var response), Is.EqualTo(StunReplyProblem.None));
        Assert.That((response.IsError, response.ErrorCode, response.ErrorReason), Is.EqualTo((true, 420, "Unknown Attribute")));
    }
}
