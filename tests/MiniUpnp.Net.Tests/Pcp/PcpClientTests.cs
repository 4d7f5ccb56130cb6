using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using Reply = MiniUpnp.Net.Tests.Pcp.PcpResponder.Reply;

namespace MiniUpnp.Net.Tests.Pcp;

/// <summary>
/// The client against a small PCP server on loopback: the requests it sends, the answers it takes, and hostile replies
/// (short, oversized, another version, opcode, nonce or sender, an epoch going back, a success with lifetime 0, a huge
/// lifetime, silence), each ending in a value, a <see cref="PcpException"/> or a timeout within its bound. Bounds are
/// generous (no wall-clock assertion is tight).
/// </summary>
public class PcpClientTests
{
    private static readonly PcpMapRequest Tcp6881 = new(PortMappingProtocol.Tcp, 6881);

    /// <summary>A call that must end (any way) well within this: the client's own bound is 2 s at most here.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private static IEnumerable<Reply> One(byte[] bytes) => [new Reply(bytes)];

    private static byte[] Nonce(byte[] request) => request.AsSpan(24, 12).ToArray();

    private static async Task<T> Bounded<T>(Task<T> task)
    {
        Assert.That(await Task.WhenAny(task, Task.Delay(Bound)), Is.SameAs(task), "the call did not end within its bound");
        return await task;
    }

    [Test]
    public async Task AnnounceReadsTheEpochAndSendsOurSourceAddress()
    {
        using var server = new PcpResponder((request, _) => One(PcpResponder.Answer(request, epoch: 77)));
        var client = server.Client();
        var announcement = await Bounded(client.AnnounceAsync());
        Assert.That((announcement.Epoch, announcement.ServerStateLost, announcement.LocalAddress),
            Is.EqualTo((77u, false, IPAddress.Loopback)));
        Assert.That(client.LastEpoch, Is.EqualTo(77u));
        var request = server.Requests.Single();
        Assert.That(request, Has.Length.EqualTo(24));
        Assert.That(request[..2], Is.EqualTo(new byte[] { 2, 0 }));
        Assert.That(new IPAddress(request.AsSpan(8, 16)), Is.EqualTo(IPAddress.Loopback.MapToIPv6()), "client address ::ffff:127.0.0.1");
    }

    [Test]
    public async Task MapRenewDeleteKeepOneNonce()
    {
        using var server = new PcpResponder((request, _) => One(PcpResponder.Answer(request,
            lifetime: request[4..8].All(b => b == 0) ? 0u : 3600u)));
        var client = server.Client();

        var mapping = await Bounded(client.MapAsync(Tcp6881 with { ExternalPort = 40000, Lifetime = TimeSpan.FromMinutes(10) }));
        Assert.That(mapping.ExternalEndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Parse("100.64.0.1"), 40000)));
        Assert.That((mapping.Lifetime, mapping.Epoch, mapping.ServerStateLost, mapping.InternalAddress),
            Is.EqualTo((TimeSpan.FromHours(1), 1000u, false, IPAddress.Loopback)));
        Assert.That(mapping.ToString(), Is.EqualTo("TCP 100.64.0.1:40000 -> 127.0.0.1:6881, 3600 s, epoch 1000"));

        var renewed = await Bounded(client.RenewAsync(mapping));
        Assert.That(await Bounded(client.DeleteAsync(renewed)), Is.False);

        var requests = server.Requests.ToArray();
        Assert.That(requests, Has.Length.EqualTo(3));
        Assert.That(requests.Select(Nonce).Distinct(new BytesComparer()).Count(), Is.EqualTo(1), "one nonce for map, renew and delete");
        Assert.That(requests.Select(r => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(r.AsSpan(4))), Is.EqualTo(new uint[] { 600, 600, 0 }));
        Assert.That(requests.Select(r => r[36]), Is.All.EqualTo(6), "protocol TCP");
        Assert.That(requests.Select(r => System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(r.AsSpan(40))), Is.All.EqualTo(6881));
        Assert.That(requests.Select(r => System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(r.AsSpan(42))), Is.All.EqualTo(40000));
        Assert.That(new IPAddress(requests[1].AsSpan(44, 16)), Is.EqualTo(IPAddress.Parse("100.64.0.1").MapToIPv6()), "renewal suggests what was assigned");
        Assert.That(new IPAddress(requests[0].AsSpan(44, 16)), Is.EqualTo(IPAddress.Any.MapToIPv6()), "no address suggested: ::ffff:0.0.0.0");
    }

    [Test]
    public async Task EachMappingHasItsOwnNonce()
    {
        using var server = new PcpResponder((request, _) => One(PcpResponder.Answer(request)));
        var client = server.Client();
        await Bounded(client.MapAsync(Tcp6881));
        await Bounded(client.MapAsync(Tcp6881));
        Assert.That(server.Requests.Select(Nonce).Distinct(new BytesComparer()).Count(), Is.EqualTo(2));
    }

    [TestCase(PcpResultCode.NotAuthorized, "NOT_AUTHORIZED (2)")]
    [TestCase(PcpResultCode.NoResources, "NO_RESOURCES (8)")]
    [TestCase(PcpResultCode.AddressMismatch, "ADDRESS_MISMATCH (12)")]
    public async Task AnErrorAnswerThrowsWithTheRfcNameAndItsLifetime(PcpResultCode code, string name)
    {
        using var server = new PcpResponder((request, _) => One(PcpResponder.Answer(request, result: (byte)code, lifetime: 30)));
        var e = Assert.ThrowsAsync<PcpException>(() => Bounded(server.Client().MapAsync(Tcp6881)));
        Assert.That((e!.ResultCode, e.Lifetime), Is.EqualTo((code, TimeSpan.FromSeconds(30))));
        Assert.That(e.Message, Does.StartWith("PCP MAP refused by 127.0.0.1: " + name));
        if (code == PcpResultCode.AddressMismatch)
        {
            Assert.That(e.Message, Does.Contain("a NAT sits between this host and the PCP server"));
        }
    }

    [Test]
    public void ANatPmpOnlyServerIsRecognised()
    {
        using var server = new PcpResponder((_, _) => One(Convert.FromHexString("0080000100000064")));
        var e = Assert.ThrowsAsync<PcpException>(() => Bounded(server.Client().AnnounceAsync()));
        Assert.That(e!.ResultCode, Is.EqualTo(PcpResultCode.UnsuppVersion));
        Assert.That(e.ServerVersion, Is.Zero);
        Assert.That(e.Message, Does.Contain("speaks NAT-PMP, not PCP"));
    }

    private static IEnumerable<TestCaseData> HostileReplies()
    {
        TestCaseData Case(string name, Func<byte[], Reply> hostile, string ignoredAs) =>
            new TestCaseData(hostile, ignoredAs).SetName("Ignores " + name);
        yield return Case("a 3-byte reply", r => new Reply(PcpResponder.Answer(r)[..3]), "too short");
        yield return Case("a reply cut inside the MAP part", r => new Reply(PcpResponder.Answer(r)[..40]), "too short");
        yield return Case("a 1101-byte reply", r => new Reply(PcpResponder.Answer(r, length: 1101)), "longer than 1100 bytes");
        yield return Case("a 9000-byte reply", r => new Reply(PcpResponder.Answer(r, length: 9000)), "longer than 1100 bytes");
        yield return Case("version 1", r => new Reply(With(PcpResponder.Answer(r), 0, 1)), "another protocol version");
        yield return Case("version 0 success (NAT-PMP)", r => new Reply(With(PcpResponder.Answer(r), 0, 0)), "another protocol version");
        yield return Case("the ANNOUNCE opcode", r => new Reply(With(PcpResponder.Answer(r), 1, 0x80)), "the answer to another opcode");
        yield return Case("the request echoed (R bit clear)", r => new Reply(r), "not a response");
        yield return Case("another nonce", r => new Reply(With(PcpResponder.Answer(r), 30, (byte)(r[30] ^ 0xFF))), "another mapping nonce");
        yield return Case("a success with lifetime 0", r => new Reply(PcpResponder.Answer(r, lifetime: 0)), "a success without lifetime or external port");
        yield return Case("a success with external port 0", r => new Reply(PcpResponder.Answer(r, externalPort: 0)), "a success without lifetime or external port");
        yield return Case("an answer from another address", r => new Reply(PcpResponder.Answer(r), FromOtherAddress: true), "no reply");
    }

    private static byte[] With(byte[] bytes, int offset, byte value)
    {
        bytes[offset] = value;
        return bytes;
    }

    /// <summary>Alone, a hostile reply is ignored: the call ends with a timeout within its bound that says what came.</summary>
    [TestCaseSource(nameof(HostileReplies))]
    public void AHostileReplyAloneEndsInATimeout(Delegate hostileReply, string ignoredAs)
    {
        var hostile = (Func<byte[], Reply>)hostileReply;
        using var server = new PcpResponder((request, _) => [hostile(request)]);
        var watch = Stopwatch.StartNew();
        var e = Assert.ThrowsAsync<TimeoutException>(() => Bounded(server.Client(timeoutMs: 600).MapAsync(Tcp6881)));
        Assert.That(watch.Elapsed, Is.LessThan(Bound));
        Assert.That(e!.Message, Does.StartWith("PCP MAP: no valid answer from 127.0.0.1:"));
        Assert.That(e.Message, Does.Contain(ignoredAs));
        Assert.That(server.Requests, Has.Count.GreaterThanOrEqualTo(2), "retransmitted meanwhile");
    }

    /// <summary>Followed by the real answer, a hostile reply changes nothing.</summary>
    [TestCaseSource(nameof(HostileReplies))]
    public async Task AHostileReplyBeforeTheAnswerIsSkipped(Delegate hostileReply, string ignoredAs)
    {
        var hostile = (Func<byte[], Reply>)hostileReply;
        using var server = new PcpResponder((request, _) => [hostile((byte[])request.Clone()), new Reply(PcpResponder.Answer(request))]);
        var mapping = await Bounded(server.Client().MapAsync(Tcp6881));
        Assert.That(mapping.ExternalEndPoint.Port, Is.EqualTo(40000), ignoredAs);
        Assert.That(server.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public void SilenceEndsInATimeoutAfterRetransmissions()
    {
        using var server = new PcpResponder((_, _) => []);
        var e = Assert.ThrowsAsync<TimeoutException>(() => Bounded(server.Client(timeoutMs: 1000, retransmitMs: 100).AnnounceAsync()));
        Assert.That(e!.Message, Does.Contain("no reply"));
        var requests = server.Requests.ToArray();
        // 100 ms, then about 200, 400: three or four sends within one second (each interval ±10 %).
        Assert.That(requests, Has.Length.InRange(2, 6));
        Assert.That(requests, Is.All.EqualTo(requests[0]), "a retransmission is the same request");
    }

    [Test]
    public void NoServerOnThePortEndsInATimeoutThatSaysSo()
    {
        // A port nobody listens on: loopback answers with ICMP port unreachable, which the client notes and waits on.
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        var client = new PcpClient(IPAddress.Loopback)
        {
            Port = port,
            OperationTimeout = TimeSpan.FromMilliseconds(500),
            InitialRetransmissionInterval = TimeSpan.FromMilliseconds(100),
        };
        var e = Assert.ThrowsAsync<TimeoutException>(() => Bounded(client.AnnounceAsync()));
        if (OperatingSystem.IsLinux())
        {
            Assert.That(e!.Message, Does.Contain("ICMP port unreachable"));
        }
    }

    [Test]
    public void CancellationIsNotATimeout()
    {
        using var server = new PcpResponder((_, _) => []);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        Assert.That(async () => await Bounded(server.Client(timeoutMs: 10000).MapAsync(Tcp6881, cts.Token)),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await server.Client().AnnounceAsync(new CancellationToken(true)), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task AnEpochGoingBackSaysTheServerLostItsState()
    {
        using var server = new PcpResponder((request, i) => One(PcpResponder.Answer(request, epoch: i == 0 ? 5000u : 10u)));
        var client = server.Client();
        var first = await Bounded(client.MapAsync(Tcp6881));
        var second = await Bounded(client.RenewAsync(first));
        Assert.That((first.ServerStateLost, second.ServerStateLost), Is.EqualTo((false, true)));
        Assert.That(client.LastEpoch, Is.EqualTo(10u));
    }

    [Test]
    public async Task AnEpochThatStandsStillWhileTimePassesSaysTheServerLostItsState()
    {
        // The client's clock advances about 3 s between the two answers; the server's epoch does not (2 s of slack).
        using var server = new PcpResponder((request, _) => One(PcpResponder.Answer(request, epoch: 500)));
        var client = server.Client();
        Assert.That((await Bounded(client.AnnounceAsync())).ServerStateLost, Is.False);
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.That((await Bounded(client.AnnounceAsync())).ServerStateLost, Is.True);
    }

    [Test]
    public async Task AHugeLifetimeIsCappedAtADay()
    {
        using var server = new PcpResponder((request, _) => One(PcpResponder.Answer(request, lifetime: uint.MaxValue)));
        var mapping = await Bounded(server.Client().MapAsync(Tcp6881));
        Assert.That(mapping.Lifetime, Is.EqualTo(PcpClient.MaxLifetime).And.EqualTo(TimeSpan.FromHours(24)));
    }

    private static IEnumerable<TestCaseData> BadRequests()
    {
        TestCaseData Case(string name, Type exception, string param, PcpMapRequest request) =>
            new TestCaseData(exception, param, request).SetName("Rejects " + name);
        yield return Case("protocol 99", typeof(ArgumentOutOfRangeException), "Protocol", Tcp6881 with { Protocol = (PortMappingProtocol)99 });
        yield return Case("internal port 0", typeof(ArgumentOutOfRangeException), "InternalPort", Tcp6881 with { InternalPort = 0 });
        yield return Case("internal port 65536", typeof(ArgumentOutOfRangeException), "InternalPort", Tcp6881 with { InternalPort = 65536 });
        yield return Case("external port -1", typeof(ArgumentOutOfRangeException), "ExternalPort", Tcp6881 with { ExternalPort = -1 });
        yield return Case("external port 65536", typeof(ArgumentOutOfRangeException), "ExternalPort", Tcp6881 with { ExternalPort = 65536 });
        yield return Case("lifetime 0", typeof(ArgumentOutOfRangeException), "Lifetime", Tcp6881 with { Lifetime = TimeSpan.Zero });
        yield return Case("lifetime over a day", typeof(ArgumentOutOfRangeException), "Lifetime", Tcp6881 with { Lifetime = TimeSpan.FromHours(25) });
    }

    [TestCaseSource(nameof(BadRequests))]
    public void BadRequestsFailBeforeAnyIO(Type exception, string param, PcpMapRequest request)
    {
        using var server = new PcpResponder((r, _) => One(PcpResponder.Answer(r)));
        var e = Assert.ThrowsAsync(exception, () => server.Client().MapAsync(request));
        Assert.That(((ArgumentException)e!).ParamName, Is.EqualTo(param));
        Assert.That(server.Requests, Is.Empty);
    }

    [TestCase("0.0.0.0")]
    [TestCase("255.255.255.255")]
    [TestCase("224.0.0.1")]
    [TestCase("::")]
    [TestCase("ff02::1")]
    public void TheServerMustBeAUnicastAddress(string address)
    {
        Assert.That(() => new PcpClient(IPAddress.Parse(address)), Throws.ArgumentException.With.Property("ParamName").EqualTo("server"));
    }

    [Test]
    public void BoundsAreChecked()
    {
        Assert.That(() => new PcpClient(IPAddress.Loopback) { OperationTimeout = TimeSpan.Zero }, Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => new PcpClient(IPAddress.Loopback) { InitialRetransmissionInterval = TimeSpan.FromSeconds(2000) },
            Throws.InstanceOf<ArgumentOutOfRangeException>());
        var client = new PcpClient(IPAddress.Parse("::ffff:10.0.0.1"));
        Assert.That((client.Server, client.OperationTimeout, client.InitialRetransmissionInterval),
            Is.EqualTo((IPAddress.Parse("10.0.0.1"), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(3))));
    }

    private sealed class BytesComparer : IEqualityComparer<byte[]>
    {
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => obj.Length == 0 ? 0 : obj[0];
    }
}
