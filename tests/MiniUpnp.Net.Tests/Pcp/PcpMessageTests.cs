using System;
using System.Linq;
using System.Net;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Pcp;

/// <summary>The PCP wire format against hand-made byte vectors laid out as RFC 6887 §7.1, §7.2, §11.1 and §14.1 draw
/// them, and the reply checks: every bad datagram is a problem, never an exception or a read past its end.</summary>
public class PcpMessageTests
{
    private static readonly byte[] Nonce = Enumerable.Range(1, 12).Select(i => (byte)i).ToArray();

    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));

    [Test]
    public void AnnounceRequestIsTheHeaderWithTheClientAsIPv4MappedIPv6()
    {
        var bytes = PcpMessage.Announce(IPAddress.Parse("192.168.1.10"));
        Assert.That(bytes, Is.EqualTo(Hex(
            "02 00 0000" +                            // version 2, R=0 opcode ANNOUNCE, reserved
            "00000000" +                              // requested lifetime 0
            "00000000 00000000 0000ffff c0a8010a"))); // client ::ffff:192.168.1.10
    }

    [Test]
    public void MapRequestForIPv4()
    {
        var bytes = PcpMessage.Map(IPAddress.Parse("10.0.0.2"), 7200, Nonce, PortMappingProtocol.Tcp, 6881, 0, null);
        Assert.That(bytes, Is.EqualTo(Hex(
            "02 01 0000" + "00001c20" + "00000000 00000000 0000ffff 0a000002" +   // header: MAP, 7200 s, ::ffff:10.0.0.2
            "01020304 05060708 090a0b0c" +                                       // mapping nonce
            "06 000000" + "1ae1 0000" +                                          // TCP, reserved; internal 6881, external 0
            "00000000 00000000 0000ffff 00000000")));                            // no suggestion: ::ffff:0.0.0.0
    }

    [Test]
    public void MapRequestForIPv6WithSuggestions()
    {
        var bytes = PcpMessage.Map(IPAddress.Parse("fd00::2"), 60, Nonce, PortMappingProtocol.Udp, 53, 5353, IPAddress.Parse("2001:db8::1"));
        Assert.That(bytes, Is.EqualTo(Hex(
            "02 01 0000" + "0000003c" + "fd000000 00000000 00000000 00000002" +
            "01020304 05060708 090a0b0c" + "11 000000" + "0035 14e9" +
            "20010db8 00000000 00000000 00000001")));
        Assert.That(bytes, Has.Length.EqualTo(60));
    }

    [Test]
    public void IPv6NoSuggestionIsAllZeros()
    {
        var bytes = PcpMessage.Map(IPAddress.Parse("fd00::2"), 60, Nonce, PortMappingProtocol.Udp, 53, 0, null);
        Assert.That(bytes.AsSpan(44, 16).ToArray(), Is.EqualTo(new byte[16]));
    }

    /// <summary>A MAP success: 100.64.0.1:40000 for 3600 s, epoch 1234, answering TCP 6881 with <see cref="Nonce"/>.</summary>
    internal static byte[] MapResponse(byte result = 0, uint lifetime = 3600, string nonceHex = "0102030405060708090a0b0c",
        byte protocol = 6, string internalPortHex = "1ae1", string externalPortHex = "9c40") => Hex(
        "02 81 00" + result.ToString("x2", System.Globalization.CultureInfo.InvariantCulture) +
        lifetime.ToString("x8", System.Globalization.CultureInfo.InvariantCulture) + "000004d2" + "00000000 00000000 00000000" +
        nonceHex + protocol.ToString("x2", System.Globalization.CultureInfo.InvariantCulture) + "000000" +
        internalPortHex + externalPortHex + "00000000 00000000 0000ffff 64400001");

    private static PcpReplyProblem ParseMap(byte[] datagram, out PcpResponse response, uint requested = 7200) =>
        PcpMessage.TryParse(datagram, PcpMessage.OpcodeMap, Nonce, PortMappingProtocol.Tcp, 6881, requested, out response);

    [Test]
    public void MapResponseIsRead()
    {
        Assert.That(ParseMap(MapResponse(), out var r), Is.EqualTo(PcpReplyProblem.None));
        Assert.That(r, Is.EqualTo(new PcpResponse(2, 1, PcpResultCode.Success, 3600, 1234, 40000, IPAddress.Parse("100.64.0.1"))));
    }

    [Test]
    public void OptionsAfterTheMapPartAreSkipped()
    {
        var withOption = MapResponse().Concat(Hex("01 00 0010" + "00000000 00000000 0000ffff 0a000063")).ToArray(); // THIRD_PARTY
        Assert.That(ParseMap(withOption, out var r), Is.EqualTo(PcpReplyProblem.None));
        Assert.That(r.ExternalPort, Is.EqualTo(40000));
    }

    [Test]
    public void ErrorResponseIsReadWithItsLifetime()
    {
        Assert.That(ParseMap(MapResponse(result: 2, lifetime: 30), out var r), Is.EqualTo(PcpReplyProblem.None));
        Assert.That((r.ResultCode, r.Lifetime), Is.EqualTo((PcpResultCode.NotAuthorized, 30u)));
    }

    [Test]
    public void AnnounceResponseIsRead()
    {
        var bytes = Hex("02 80 00 00" + "00000000" + "0000ffff" + "00000000 00000000 00000000");
        Assert.That(PcpMessage.TryParse(bytes, PcpMessage.OpcodeAnnounce, default, default, 0, 0, out var r), Is.EqualTo(PcpReplyProblem.None));
        Assert.That((r.ResultCode, r.Epoch), Is.EqualTo((PcpResultCode.Success, 65535u)));
    }

    private static byte[] With(byte[] bytes, int offset, byte value)
    {
        var copy = (byte[])bytes.Clone();
        copy[offset] = value;
        return copy;
    }

    private static TestCaseData Bad(string name, byte[] datagram, PcpReplyProblem problem, uint requested = 7200) =>
        new TestCaseData(datagram, problem, requested).SetName("Rejects " + name);

    private static System.Collections.Generic.IEnumerable<TestCaseData> BadReplies()
    {
        var ok = MapResponse();
        yield return Bad("empty", Array.Empty<byte>(), PcpReplyProblem.TooShort);
        yield return Bad("3 bytes", ok[..3], PcpReplyProblem.TooShort);
        yield return Bad("a header alone (23 bytes)", ok[..23], PcpReplyProblem.TooShort);
        yield return Bad("a success without its MAP part", ok[..24], PcpReplyProblem.TooShort);
        yield return Bad("a MAP part cut short (59 bytes)", ok[..59], PcpReplyProblem.TooShort);
        yield return Bad("1101 bytes", ok.Concat(new byte[1101 - ok.Length]).ToArray(), PcpReplyProblem.TooLong);
        yield return Bad("a request (R bit clear)", With(ok, 1, 0x01), PcpReplyProblem.NotAResponse);
        yield return Bad("version 1 success", With(ok, 0, 1), PcpReplyProblem.WrongVersion);
        yield return Bad("version 3", With(ok, 0, 3), PcpReplyProblem.WrongVersion);
        yield return Bad("NAT-PMP success (version 0)", Hex("00 81 0000 000004d2"), PcpReplyProblem.WrongVersion);
        yield return Bad("the ANNOUNCE answer to a MAP", With(ok, 1, 0x80), PcpReplyProblem.WrongOpcode);
        yield return Bad("the PEER answer to a MAP", With(ok, 1, 0x82), PcpReplyProblem.WrongOpcode);
        yield return Bad("another nonce", MapResponse(nonceHex: "0102030405060708090a0bff"), PcpReplyProblem.WrongNonce);
        yield return Bad("another nonce in an error", MapResponse(result: 2, nonceHex: "ff02030405060708090a0b0c"), PcpReplyProblem.WrongNonce);
        yield return Bad("UDP for a TCP request", MapResponse(protocol: 17), PcpReplyProblem.OtherMapping);
        yield return Bad("another internal port", MapResponse(internalPortHex: "1ae2"), PcpReplyProblem.OtherMapping);
        yield return Bad("a success with lifetime 0", MapResponse(lifetime: 0), PcpReplyProblem.SuccessWithoutMapping);
        yield return Bad("a success with external port 0", MapResponse(externalPortHex: "0000"), PcpReplyProblem.SuccessWithoutMapping);
    }

    [TestCaseSource(nameof(BadReplies))]
    public void BadRepliesAreProblemsNotExceptions(byte[] datagram, object problem, uint requested)
    {
        Assert.That(ParseMap(datagram, out _, requested), Is.EqualTo((PcpReplyProblem)problem));
    }

    [Test]
    public void EveryTruncationOfAValidReplyIsHandled()
    {
        var ok = MapResponse();
        for (int length = 0; length < ok.Length; length++)
        {
            // Exactly the bytes given: a read past them would throw from the span's bounds check.
            Assert.That(ParseMap(ok[..length], out _), Is.Not.EqualTo(PcpReplyProblem.None), $"length {length}");
            Assert.That(PcpMessage.TryParse(ok[..length], PcpMessage.OpcodeAnnounce, default, default, 0, 0, out _),
                length >= 24 ? Is.EqualTo(PcpReplyProblem.WrongOpcode) : Is.Not.EqualTo(PcpReplyProblem.None), $"length {length}");
        }
    }

    [Test]
    public void RandomDatagramsNeverThrow()
    {
        var random = new Random(6887);
        for (int i = 0; i < 20000; i++)
        {
            var datagram = new byte[random.Next(0, 1200)];
            random.NextBytes(datagram);
            if (datagram.Length > 1)
            {
                datagram[0] = (byte)random.Next(0, 4);
                datagram[1] = (byte)(0x80 | random.Next(0, 3));
            }
            Assert.DoesNotThrow(() => ParseMap(datagram, out _));
        }
    }

    [Test]
    public void DeleteSuccessMayHaveLifetimeZero()
    {
        Assert.That(ParseMap(MapResponse(lifetime: 0), out var r, requested: 0), Is.EqualTo(PcpReplyProblem.None));
        Assert.That(r.Lifetime, Is.Zero);
    }

    [Test]
    public void NatPmpUnsupportedVersionIsAnAnswer()
    {
        // RFC 6886 §3.5: a NAT-PMP server answers a version it does not know with version 0, result 1 (16 bits), its epoch.
        Assert.That(ParseMap(Hex("00 81 0001 00000064"), out var r), Is.EqualTo(PcpReplyProblem.None));
        Assert.That((r.Version, r.ResultCode, r.Epoch), Is.EqualTo((0, PcpResultCode.UnsuppVersion, 100u)));
        Assert.That(ParseMap(Hex("00 80 0001"), out r), Is.EqualTo(PcpReplyProblem.None), "without epoch");
    }

    [Test]
    public void HeaderOnlyErrorAboutTheWholeRequestIsAnAnswer()
    {
        var bytes = MapResponse(result: (byte)PcpResultCode.MalformedRequest)[..24];
        Assert.That(ParseMap(bytes, out var r), Is.EqualTo(PcpReplyProblem.None));
        Assert.That(r.ResultCode, Is.EqualTo(PcpResultCode.MalformedRequest));
    }

    [TestCase(1000u, 0, 1010u, 10, false, TestName = "Epoch: advancing with the clock")]
    [TestCase(1000u, 0, 999u, 0, false, TestName = "Epoch: one second back (reordering)")]
    [TestCase(1000u, 0, 998u, 0, true, TestName = "Epoch: two seconds back")]
    [TestCase(1000u, 0, 5u, 100, true, TestName = "Epoch: restarted")]
    [TestCase(1000u, 0, 1000u, 100, true, TestName = "Epoch: standing still while 100 s passed")]
    [TestCase(1000u, 0, 1001u, 3, false, TestName = "Epoch: within the 2 s slack")]
    [TestCase(1000u, 0, 1107u, 100, false, TestName = "Epoch: within the 1/16 slack")]
    [TestCase(1000u, 0, 1110u, 100, true, TestName = "Epoch: faster than the clock beyond the slack")]
    [TestCase(1000u, 0, 1095u, 100, false, TestName = "Epoch: slower within the slack")]
    [TestCase(1000u, 0, 1080u, 100, true, TestName = "Epoch: slower beyond the slack")]
    public void EpochValidationIsTheRfcs(uint previousServer, int previousClient, uint currentServer, int currentClient, bool invalid)
    {
        Assert.That(PcpEpoch.IsInvalid(previousServer, TimeSpan.FromSeconds(previousClient), currentServer, TimeSpan.FromSeconds(currentClient)),
            Is.EqualTo(invalid));
    }

    [Test]
    public void EpochTrackerReportsLossOnceAndRemembersTheLast()
    {
        var epoch = new PcpEpoch();
        Assert.That(epoch.Last, Is.Null);
        Assert.That(epoch.Observe(5000, TimeSpan.FromSeconds(1)), Is.False, "the first answer has nothing to compare with");
        Assert.That(epoch.Observe(5010, TimeSpan.FromSeconds(11)), Is.False);
        Assert.That(epoch.Observe(3, TimeSpan.FromSeconds(12)), Is.True, "went back: state lost");
        Assert.That(epoch.Observe(13, TimeSpan.FromSeconds(22)), Is.False, "from the new epoch on, valid again");
        Assert.That(epoch.Last, Is.EqualTo(13u));
    }

    [Test]
    public void EveryResultCodeHasItsRfcNameAndAnExplanation()
    {
        string[] names =
        [
            "SUCCESS", "UNSUPP_VERSION", "NOT_AUTHORIZED", "MALFORMED_REQUEST", "UNSUPP_OPCODE", "UNSUPP_OPTION", "MALFORMED_OPTION",
            "NETWORK_FAILURE", "NO_RESOURCES", "UNSUPP_PROTOCOL", "USER_EX_QUOTA", "CANNOT_PROVIDE_EXTERNAL", "ADDRESS_MISMATCH",
            "EXCESSIVE_REMOTE_PEERS",
        ];
        Assert.That(Enum.GetValues<PcpResultCode>().Select(c => (int)c), Is.EqualTo(Enumerable.Range(0, 14)));
        Assert.That(Enum.GetValues<PcpResultCode>().Select(PcpResultText.Name), Is.EqualTo(names));
        Assert.That(Enum.GetValues<PcpResultCode>().Select(PcpResultText.Explanation), Has.All.Length.GreaterThan(10));
        Assert.That(PcpResultText.Name((PcpResultCode)200), Is.EqualTo("result code 200"));
        Assert.That(new PcpException(PcpResultCode.AddressMismatch).Message, Does.StartWith("ADDRESS_MISMATCH (12): ").And.Contains("NAT"));
    }
}
