using System;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Python;

/// <summary>
/// The NATPMP port without the lab: defaults, disposal, Python's argument conversions and refusals (before any I/O),
/// the protocol test, the error texts, the bound. The gateway is a responder of the test's own on a loopback address
/// of its own (127.x.y.z:5351), named through the internal constructor (initnatpmp with forcegw).
/// </summary>
[Platform("Linux", Reason = "a loopback responder on 127.x.y.z needs Linux's whole 127/8 on lo")]
public class NatpmpPortTests
{
    private static int _next;

    /// <summary>A NAT-PMP gateway on a fresh loopback address: records requests, answers what the test says.</summary>
    private sealed class FakeGateway : IDisposable
    {
        internal FakeGateway()
        {
            int n = Interlocked.Increment(ref _next);
            Address = new IPAddress(new byte[] { 127, 86, (byte)(Environment.ProcessId % 250 + 1), (byte)(n % 250 + 1) });
            Socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            Socket.Bind(new IPEndPoint(Address, 5351));
        }

        internal IPAddress Address { get; }
        internal Socket Socket { get; }
        internal NATPMP Client() => new(1, BitConverter.ToUInt32(Address.GetAddressBytes()));

        /// <summary>The next request, or null when none comes within the time.</summary>
        internal (byte[] Request, EndPoint From)? Receive(int milliseconds = 2000)
        {
            if (!Socket.Poll(milliseconds * 1000, SelectMode.SelectRead))
            {
                return null;
            }
            var buffer = new byte[64];
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            int n = Socket.ReceiveFrom(buffer, ref from);
            return (buffer[..n], from);
        }

        /// <summary>Answers the next request: public address, mapping (echoing the private port) or an error.</summary>
        internal Task<byte[]?> AnswerAsync(ushort resultCode = 0, ushort mappedPort = 0, byte[]? address = null) => Task.Run(() =>
        {
            var got = Receive(10_000);
            if (got is null)
            {
                return null;
            }
            var (req, from) = got.Value;
            byte[] answer = req[1] == 0 ? new byte[12] : new byte[16];
            answer[1] = (byte)(128 + req[1]);
            BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(2), resultCode);
            BinaryPrimitives.WriteUInt32BigEndian(answer.AsSpan(4), 1234);
            if (req[1] == 0)
            {
                (address ?? new byte[] { 203, 0, 113, 7 }).CopyTo(answer, 8);
            }
            else
            {
                req.AsSpan(4, 2).CopyTo(answer.AsSpan(8)); // private port
                BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(10), mappedPort);
                req.AsSpan(8, 4).CopyTo(answer.AsSpan(12)); // lifetime
            }
            Socket.SendTo(answer, from);
            return (byte[]?)req;
        });

        public void Dispose() => Socket.Dispose();
    }

    [Test]
    public void DefaultsAreThePythonModules()
    {
        using var g = new FakeGateway();
        using var n = g.Client();
        Assert.That(n.DiscoverDelay, Is.Zero);
        n.DiscoverDelay = 4000;
        Assert.That(n.DiscoverDelay, Is.EqualTo(4000));
        Assert.That(n.CallTimeout, Is.EqualTo(NATPMP.DefaultCallTimeout));
        Assert.That(NATPMP.DefaultCallTimeout, Is.GreaterThan(TimeSpan.FromMilliseconds(127_750)), "longer than libnatpmp's 9 tries");
        Assert.Throws<ArgumentOutOfRangeException>(() => n.CallTimeout = TimeSpan.Zero);
        n.CallTimeout = Timeout.InfiniteTimeSpan;
        Assert.That(n.CallTimeout, Is.EqualTo(Timeout.InfiniteTimeSpan));
        using var onDefaultGateway = new NATPMP(); // opens a socket only: a UDP connect sends nothing
    }

    [Test]
    public void DisposedObjectsThrowObjectDisposedException()
    {
        using var g = new FakeGateway();
        var n = g.Client();
        n.Dispose();
        n.Dispose();
        Assert.Throws<ObjectDisposedException>(() => n.ExternalIpAddress());
        Assert.Throws<ObjectDisposedException>(() => n.AddPortMapping(1, "TCP", 1, 1));
        Assert.Throws<ObjectDisposedException>(() => n.DeletePortMapping(1, "UDP", 1));
        Assert.That(g.Receive(200), Is.Null, "nothing was sent");
    }

    [Test]
    public void DisposeEndsACallThatIsWaiting()
    {
        using var g = new FakeGateway(); // silent: never answers
        var n = g.Client();
        var call = Task.Run(() => n.ExternalIpAddress());
        Assert.That(g.Receive(5000), Is.Not.Null, "the request was sent");
        n.Dispose();
        var e = Assert.Throws<AggregateException>(() => call.Wait(TimeSpan.FromSeconds(30)));
        Assert.That(e!.InnerException, Is.InstanceOf<ObjectDisposedException>());
    }

    [Test]
    public void ArgumentsPythonRefusesThrowBeforeAnyIo()
    {
        using var g = new FakeGateway();
        using var n = g.Client();
        Assert.Throws<ArgumentNullException>(() => n.AddPortMapping(1, null!, 1, 1));
        Assert.Throws<ArgumentNullException>(() => n.DeletePortMapping(1, null!, 1));
        Assert.That(Assert.Throws<ArgumentException>(() => n.AddPortMapping(1, "TCP\0", 1, 1))!.ParamName, Is.EqualTo("proto"));
        Assert.That(Assert.Throws<ArgumentException>(() => n.DeletePortMapping(1, "tcp\ud800", 1))!.ParamName, Is.EqualTo("proto"));
        foreach (var proto in new[] { "tc", "", "t", "icmp", "xtcp", " tcp", "UD", "ｔｃｐ" })
        {
            var e = Assert.Throws<NatpmpException>(() => n.AddPortMapping(1, proto, 1, 1), proto)!;
            Assert.That(e.Message, Is.EqualTo("Unknown protocol"));
            Assert.That(e.Code, Is.EqualTo(Libnatpmp.NATPMP_ERR_INVALIDARGS));
            Assert.That(Assert.Throws<NatpmpException>(() => n.DeletePortMapping(1, proto, 1))!.Message, Is.EqualTo("Unknown protocol"));
        }
        Assert.That(g.Receive(200), Is.Null, "nothing was sent");
    }

    [TestCase("tcp", Libnatpmp.NATPMP_PROTOCOL_TCP)]
    [TestCase("TCP", Libnatpmp.NATPMP_PROTOCOL_TCP)]
    [TestCase("tCp", Libnatpmp.NATPMP_PROTOCOL_TCP)]
    [TestCase("TCPX", Libnatpmp.NATPMP_PROTOCOL_TCP)]
    [TestCase("tcp/ip", Libnatpmp.NATPMP_PROTOCOL_TCP)]
    [TestCase("udp", Libnatpmp.NATPMP_PROTOCOL_UDP)]
    [TestCase("UDPlite", Libnatpmp.NATPMP_PROTOCOL_UDP)]
    [TestCase("tc", 0)]
    [TestCase("", 0)]
    [TestCase("ud", 0)]
    [TestCase("tcq", 0)]
    [TestCase("\u0131cp", 0)] // no Unicode case folding: strncasecmp folds ASCII only
    public void ProtocolsAreMatchedOnThreeLettersIgnoringAsciiCase(string proto, int expected) =>
        Assert.That(NATPMP.MatchProtocol(proto), Is.EqualTo(expected));

    [Test]
    public async Task ExternalIpAddressReturnsTheDottedAddress()
    {
        using var g = new FakeGateway();
        using var n = g.Client();
        var answered = g.AnswerAsync(address: new byte[] { 100, 64, 0, 1 });
        Assert.That(n.ExternalIpAddress(), Is.EqualTo("100.64.0.1"));
        Assert.That(await answered, Is.EqualTo(new byte[] { 0, 0 }));
    }

    [Test]
    public async Task PortsAndLifetimeAreMaskedAsPythonsHAndIFormatsDo()
    {
        using var g = new FakeGateway();
        using var n = g.Client();
        var answered = g.AnswerAsync(mappedPort: 4567);
        Assert.That(n.AddPortMapping(65536 + 80, "TCPX", -1, -1), Is.EqualTo(4567));
        Assert.That(await answered, Is.EqualTo(new byte[] { 0, 2, 0, 0, 0xFF, 0xFF, 0, 80, 0xFF, 0xFF, 0xFF, 0xFF }));

        answered = g.AnswerAsync(mappedPort: 0);
        Assert.That(n.DeletePortMapping(8080, "udp", 9090), Is.Zero);
        Assert.That(await answered, Is.EqualTo(new byte[] { 0, 1, 0, 0, 0x23, 0x82, 0x1F, 0x90, 0, 0, 0, 0 }));
    }

    [TestCase((ushort)1, Libnatpmp.NATPMP_ERR_UNSUPPORTEDVERSION, "unsupported nat-pmp version error from server")]
    [TestCase((ushort)2, Libnatpmp.NATPMP_ERR_NOTAUTHORIZED, "not authorized")]
    [TestCase((ushort)3, Libnatpmp.NATPMP_ERR_NETWORKFAILURE, "network failure")]
    [TestCase((ushort)4, Libnatpmp.NATPMP_ERR_OUTOFRESOURCES, "nat-pmp server out of resources")]
    [TestCase((ushort)5, Libnatpmp.NATPMP_ERR_UNSUPPORTEDOPCODE, "unsupported nat-pmp opcode error from server")]
    [TestCase((ushort)99, Libnatpmp.NATPMP_ERR_UNDEFINEDERROR, "undefined nat-pmp server error")]
    public async Task AGatewaysRefusalIsStrnatpmperrsTextWithItsCode(ushort resultCode, int code, string text)
    {
        using var g = new FakeGateway();
        using var n = g.Client();
        var answered = g.AnswerAsync(resultCode);
        var e = Assert.Throws<NatpmpException>(() => n.AddPortMapping(80, "tcp", 80, 60))!;
        Assert.That((e.Code, e.Message), Is.EqualTo((code, text)));
        await answered;
    }

    [Test]
    public void NoGatewayListeningIsTheGatewayDoesNotSupportNatpmp()
    {
        using var g = new FakeGateway();
        var address = g.Address;
        g.Dispose(); // nothing on the port: ICMP port unreachable, ECONNREFUSED
        using var n = new NATPMP(1, BitConverter.ToUInt32(address.GetAddressBytes()));
        var e = Assert.Throws<NatpmpException>(() => n.ExternalIpAddress())!;
        Assert.That((e.Code, e.Message), Is.EqualTo((Libnatpmp.NATPMP_ERR_NOGATEWAYSUPPORT, "the gateway does not support nat-pmp")));
    }

    [Test]
    public void ASilentGatewayEndsAtCallTimeout()
    {
        using var g = new FakeGateway();
        using var n = g.Client();
        n.CallTimeout = TimeSpan.FromMilliseconds(600);
        Assert.Throws<TimeoutException>(() => n.ExternalIpAddress());
        Assert.That(g.Receive(100), Is.Not.Null, "the request was sent");
        Assert.That(g.Receive(1000), Is.Not.Null, "libnatpmp retried after 250 ms, within the bound");
    }

    [TestCase(Libnatpmp.NATPMP_ERR_INVALIDARGS, "invalid arguments")]
    [TestCase(Libnatpmp.NATPMP_ERR_SOCKETERROR, "socket() failed")]
    [TestCase(Libnatpmp.NATPMP_ERR_CANNOTGETGATEWAY, "cannot get default gateway ip address")]
    [TestCase(Libnatpmp.NATPMP_ERR_CLOSEERR, "close() failed")]
    [TestCase(Libnatpmp.NATPMP_ERR_RECVFROM, "recvfrom() failed")]
    [TestCase(Libnatpmp.NATPMP_ERR_NOPENDINGREQ, "no pending request")]
    [TestCase(Libnatpmp.NATPMP_ERR_NOGATEWAYSUPPORT, "the gateway does not support nat-pmp")]
    [TestCase(Libnatpmp.NATPMP_ERR_CONNECTERR, "connect() failed")]
    [TestCase(Libnatpmp.NATPMP_ERR_WRONGPACKETSOURCE, "packet not received from the default gateway")]
    [TestCase(Libnatpmp.NATPMP_ERR_SENDERR, "send() failed")]
    [TestCase(Libnatpmp.NATPMP_ERR_FCNTLERROR, "fcntl() failed")]
    [TestCase(Libnatpmp.NATPMP_ERR_GETTIMEOFDAYERR, "gettimeofday() failed")]
    [TestCase(Libnatpmp.NATPMP_ERR_UNSUPPORTEDVERSION, "unsupported nat-pmp version error from server")]
    [TestCase(Libnatpmp.NATPMP_ERR_UNSUPPORTEDOPCODE, "unsupported nat-pmp opcode error from server")]
    [TestCase(Libnatpmp.NATPMP_ERR_UNDEFINEDERROR, "undefined nat-pmp server error")]
    [TestCase(Libnatpmp.NATPMP_ERR_NOTAUTHORIZED, "not authorized")]
    [TestCase(Libnatpmp.NATPMP_ERR_NETWORKFAILURE, "network failure")]
    [TestCase(Libnatpmp.NATPMP_ERR_OUTOFRESOURCES, "nat-pmp server out of resources")]
    [TestCase(-1000, "Unknown libnatpmp error")]
    public void EachCodesTextIsStrnatpmperrs(int code, string text)
    {
        var e = new NatpmpException(code);
        Assert.That((e.Code, e.Message), Is.EqualTo((code, text)));
    }
}
