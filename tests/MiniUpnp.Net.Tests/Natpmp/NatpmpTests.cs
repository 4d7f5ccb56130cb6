using System;
using System.Buffers.Binary;
using System.Net;
using MiniUpnp.Net.Native;
using NUnit.Framework;
using static MiniUpnp.Net.Native.Libnatpmp;

namespace MiniUpnp.Net.Tests.Natpmp;

/// <summary>The C-named libnatpmp API: bad arguments fail before any I/O, codes and texts are libnatpmp's, and a
/// round trip with a NAT-PMP responder of the test's own on loopback.</summary>
[Platform("Linux")] // the loopback re-connect calls libc's connect
public class NatpmpTests
{
    [Test]
    public void BadArgumentsThrowBeforeAnythingIsSent()
    {
        using var loop = new NatpmpLoopback();
        loop.Responder.ReceiveTimeout = 300;
        Assert.Multiple(() =>
        {
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => sendnewportmappingrequest(loop.Handle, 0, 1, 1, 60))!.ParamName, Is.EqualTo("protocol"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => sendnewportmappingrequest(loop.Handle, 3, 1, 1, 60))!.ParamName, Is.EqualTo("protocol"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => sendnewportmappingrequest(loop.Handle, NATPMP_PROTOCOL_TCP, -1, 1, 60))!.ParamName, Is.EqualTo("privateport"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => sendnewportmappingrequest(loop.Handle, NATPMP_PROTOCOL_TCP, 65536, 1, 60))!.ParamName, Is.EqualTo("privateport"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => sendnewportmappingrequest(loop.Handle, NATPMP_PROTOCOL_UDP, 1, 65536, 60))!.ParamName, Is.EqualTo("publicport"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => sendnewportmappingrequest(loop.Handle, NATPMP_PROTOCOL_UDP, 1, -5, 60))!.ParamName, Is.EqualTo("publicport"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => sendnewportmappingrequest(loop.Handle, NATPMP_PROTOCOL_UDP, 1, 1, -1))!.ParamName, Is.EqualTo("lifetime"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => sendnewportmappingrequest(loop.Handle, NATPMP_PROTOCOL_UDP, 1, 1, 1L + uint.MaxValue))!.ParamName, Is.EqualTo("lifetime"));
            Assert.Throws<ArgumentNullException>(() => sendpublicaddressrequest(null!));
            Assert.Throws<ArgumentNullException>(() => initnatpmp(null!, 1, NatpmpLoopback.LoopbackInAddr));
        });
        // Nothing reached the responder.
        Assert.Throws<System.Net.Sockets.SocketException>(() => loop.Request());
        Assert.That(getnatpmprequesttimeout(loop.Handle, out _), Is.EqualTo(NATPMP_ERR_NOPENDINGREQ), "no request pending");
    }

    [Test]
    public void TheBoundsAreAccepted()
    {
        using var loop = new NatpmpLoopback();
        Assert.That(sendnewportmappingrequest(loop.Handle, NATPMP_PROTOCOL_TCP, 0, 0, 0), Is.EqualTo(12), "delete all: both ports and lifetime 0");
        Assert.That(loop.Request(), Has.Length.EqualTo(12));
        Assert.That(sendnewportmappingrequest(loop.Handle, NATPMP_PROTOCOL_UDP, 65535, 65535, uint.MaxValue), Is.EqualTo(12));
        var request = loop.Request();
        Assert.That(request, Is.EqualTo(new byte[] { 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }));
    }

    [Test]
    public void StrnatpmperrGivesLibnatpmpsText()
    {
        Assert.That(strnatpmperr(NATPMP_ERR_NOGATEWAYSUPPORT), Is.EqualTo("the gateway does not support nat-pmp"));
        Assert.That(strnatpmperr(NATPMP_ERR_INVALIDARGS), Is.EqualTo("invalid arguments"));
        Assert.That(strnatpmperr(12345), Is.EqualTo("Unknown libnatpmp error"));
    }

    [Test]
    public void APublicAddressRequestRoundTripsThroughALoopbackResponder()
    {
        using var loop = new NatpmpLoopback();
        Assert.That(sendpublicaddressrequest(loop.Handle), Is.EqualTo(2));
        Assert.That(loop.Request(), Is.EqualTo(new byte[] { 0, 0 }));
        Assert.That(getnatpmprequesttimeout(loop.Handle, out var timeout), Is.Zero);
        Assert.That(timeout, Is.GreaterThan(TimeSpan.Zero).And.LessThanOrEqualTo(TimeSpan.FromMilliseconds(250)), "the first retry is 250 ms after the send");

        var answer = new byte[12];
        answer[1] = 128;
        BinaryPrimitives.WriteUInt32BigEndian(answer.AsSpan(4), 4242);
        IPAddress.Parse("203.0.113.7").GetAddressBytes().CopyTo(answer, 8);
        loop.Answer(answer);

        Assert.That(loop.Read(out var response), Is.Zero, () => strnatpmperr(loop.Read(out _)));
        Assert.Multiple(() =>
        {
            Assert.That(response.type, Is.EqualTo(NATPMP_RESPTYPE_PUBLICADDRESS));
            Assert.That(response.resultcode, Is.Zero);
            Assert.That(response.epoch, Is.EqualTo(4242));
            Assert.That(response.publicaddress, Is.EqualTo(IPAddress.Parse("203.0.113.7")));
            Assert.That(response.mappedpublicport, Is.Zero);
        });
        Assert.That(getnatpmprequesttimeout(loop.Handle, out _), Is.EqualTo(NATPMP_ERR_NOPENDINGREQ), "answered: nothing pending");
        Assert.That(readnatpmpresponseorretry(loop.Handle, out _), Is.EqualTo(NATPMP_ERR_NOPENDINGREQ));
    }

    [Test]
    public void AMappingRequestRoundTripsThroughALoopbackResponder()
    {
        using var loop = new NatpmpLoopback();
        Assert.That(sendnewportmappingrequest(loop.Handle, NATPMP_PROTOCOL_TCP, 6881, 16881, 3600), Is.EqualTo(12));
        var request = loop.Request();
        Assert.That(request, Has.Length.EqualTo(12));
        Assert.Multiple(() =>
        {
            Assert.That(request[1], Is.EqualTo(NATPMP_PROTOCOL_TCP), "opcode 2: map TCP");
            Assert.That(BinaryPrimitives.ReadUInt16BigEndian(request.AsSpan(4)), Is.EqualTo(6881));
            Assert.That(BinaryPrimitives.ReadUInt16BigEndian(request.AsSpan(6)), Is.EqualTo(16881));
            Assert.That(BinaryPrimitives.ReadUInt32BigEndian(request.AsSpan(8)), Is.EqualTo(3600));
        });

        var answer = new byte[16];
        answer[1] = 128 + 2;
        BinaryPrimitives.WriteUInt32BigEndian(answer.AsSpan(4), 77);
        BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(8), 6881);
        BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(10), 26881);
        BinaryPrimitives.WriteUInt32BigEndian(answer.AsSpan(12), 1800);
        loop.Answer(answer);

        Assert.That(loop.Read(out var response), Is.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(response.type, Is.EqualTo(NATPMP_RESPTYPE_TCPPORTMAPPING));
            Assert.That(response.epoch, Is.EqualTo(77));
            Assert.That(response.privateport, Is.EqualTo(6881));
            Assert.That(response.mappedpublicport, Is.EqualTo(26881));
            Assert.That(response.lifetime, Is.EqualTo(1800));
            Assert.That(response.publicaddress, Is.Null);
        });
    }

    [Test]
    public void AGatewaysRefusalIsACodeWithTheResultCodeAndEpoch()
    {
        using var loop = new NatpmpLoopback();
        Assert.That(sendnewportmappingrequest(loop.Handle, NATPMP_PROTOCOL_UDP, 5000, 5000, 60), Is.EqualTo(12));
        loop.Request();
        var answer = new byte[16];
        answer[1] = 128 + 1;
        answer[3] = 2; // NOT_AUTHORIZED
        answer[7] = 9; // epoch
        loop.Answer(answer);
        Assert.That(loop.Read(out var response), Is.EqualTo(NATPMP_ERR_NOTAUTHORIZED));
        Assert.That(response.resultcode, Is.EqualTo(2));
        Assert.That(response.epoch, Is.EqualTo(9));
        Assert.That(response.type, Is.Zero, "libnatpmp sets the type of successes only (natpmp.c, readnatpmpresponse)");
    }
}
