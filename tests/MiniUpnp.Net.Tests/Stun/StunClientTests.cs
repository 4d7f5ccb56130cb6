using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using Received = MiniUpnp.Net.Tests.Stun.StunResponder.Received;
using Reply = MiniUpnp.Net.Tests.Stun.StunResponder.Reply;

namespace MiniUpnp.Net.Tests.Stun;

/// <summary>
/// The Binding query against a small STUN server on 127.85.0.0/16: what it sends, what it reads, from which port, and
/// hostile replies (short, no cookie, another transaction id or sender, a bad length or attribute, an error, silence),
/// each ending in a value, a <see cref="StunException"/> or a timeout within its bound. Bounds are generous (no wall-clock
/// assertion is tight).
/// </summary>
public class StunClientTests
{
    /// <summary>A call that must end (any way) well within this: the client's own bound is 2 s at most here.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private static readonly IPEndPoint Elsewhere = new(IPAddress.Parse("203.0.113.66"), 1);

    internal static async Task<T> Bounded<T>(Task<T> task)
    {
        Assert.That(await Task.WhenAny(task, Task.Delay(Bound)), Is.SameAs(task), "the call did not end within its bound");
        return await task;
    }

    private static IEnumerable<Reply> One(byte[] bytes) => [new Reply(bytes)];

    [Test]
    public async Task AQueryReadsTheMappedAddressAndWhatElseTheServerSaid()
    {
        using var server = new StunResponder();
        var binding = await Bounded(StunResponder.Client().QueryAsync(server.Primary));

        var request = server.Requests.Single();
        Assert.That(request.Bytes, Has.Length.EqualTo(20), "a Binding request without attributes");
        Assert.That(Convert.ToHexString(request.Bytes[..8]), Is.EqualTo("000100002112A442"));
        Assert.That(binding.LocalEndPoint, Is.EqualTo(request.From));
        Assert.That(binding.LocalEndPoint.Address, Is.EqualTo(IPAddress.Parse("127.85.0.10")));
        Assert.That(binding.MappedEndPoint, Is.EqualTo(request.From));
        Assert.That((binding.IsXorMapped, binding.IsTranslated, binding.RequestsSent), Is.EqualTo((true, false, 1)));
        Assert.That((binding.Server, binding.AnsweredFrom, binding.ResponseOrigin, binding.OtherAddress),
            Is.EqualTo((server.Primary, server.Primary, server.Primary, server.Alternate)));
        Assert.That(binding.Software, Is.EqualTo("MiniUpnp.Net test StunResponder"));
        Assert.That(binding.RoundTripTime, Is.GreaterThan(TimeSpan.Zero));
        Assert.That(binding.ToString(), Does.StartWith($"{request.From} -> {request.From} seen by {server.Primary} (other address {server.Alternate})"));
    }

    [Test]
    public async Task EachRequestHasItsOwnRandomTransactionId()
    {
        using var server = new StunResponder();
        var client = StunResponder.Client();
        await Bounded(client.QueryAsync(server.Primary));
        await Bounded(client.QueryAsync(server.Primary));
        var ids = server.Requests.Select(r => Convert.ToHexString(StunResponder.TransactionId(r.Bytes))).ToArray();
        Assert.That(ids, Has.Length.EqualTo(2).And.Unique);
        Assert.That(ids, Has.None.EqualTo(new string('0', 24)));
    }

    [Test]
    public async Task TheLocalEndPointOptionQueriesThatPort()
    {
        using var server = new StunResponder();
        int port = FreePort("127.85.0.11");
        var client = new StunClient { LocalEndPoint = new IPEndPoint(IPAddress.Parse("127.85.0.11"), port), OperationTimeout = TimeSpan.FromSeconds(2) };
        var binding = await Bounded(client.QueryAsync(server.Primary));
        Assert.That(binding.LocalEndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Parse("127.85.0.11"), port)));
        Assert.That(server.Requests.Single().From.Port, Is.EqualTo(port));
        Assert.That(binding.MappedEndPoint.Port, Is.EqualTo(port));
        // The client's own socket is closed after the call: the port is free again.
        using var again = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Assert.That(() => again.Bind(new IPEndPoint(IPAddress.Parse("127.85.0.11"), port)), Throws.Nothing);
    }

    [Test]
    public async Task TheApplicationsSocketIsUsedAndLeftOpen()
    {
        using var server = new StunResponder();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Parse("127.85.0.12"), 0));
        var client = StunResponder.Client();
        var first = await Bounded(client.QueryFromAsync(socket, server.Primary));
        var second = await Bounded(client.QueryFromAsync(socket, server.Primary));
        Assert.That(first.LocalEndPoint, Is.EqualTo(socket.LocalEndPoint));
        Assert.That(second.MappedEndPoint, Is.EqualTo(socket.LocalEndPoint));
        Assert.That(server.Requests.Select(r => r.From), Is.All.EqualTo(socket.LocalEndPoint));
        Assert.That(() => socket.SendTo(new byte[1], server.AlternatePort), Throws.Nothing, "not disposed");
    }

    [Test]
    public async Task ADualModeIPv6SocketReachesAnIPv4Server()
    {
        using var server = new StunResponder();
        using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true };
        socket.Bind(new IPEndPoint(IPAddress.Parse("127.85.0.14").MapToIPv6(), 0));
        var binding = await Bounded(StunResponder.Client().QueryFromAsync(socket, new IPEndPoint(server.Primary.Address.MapToIPv6(), server.Primary.Port)));
        Assert.That(binding.Server, Is.EqualTo(server.Primary), "an IPv4-mapped server address is the IPv4 one");
        Assert.That(binding.LocalEndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Parse("127.85.0.14"), ((IPEndPoint)socket.LocalEndPoint!).Port)));
        Assert.That(binding.MappedEndPoint, Is.EqualTo(binding.LocalEndPoint));
    }

    [Test]
    public async Task MappedAddressAloneIsTheFallback()
    {
        var mapped = new IPEndPoint(IPAddress.Parse("198.51.100.20"), 40001);
        using var server = new StunResponder(answer: r => One(StunResponder.Success(r.Bytes, mapped, xor: false)));
        var binding = await Bounded(StunResponder.Client().QueryAsync(server.Primary));
        Assert.That((binding.MappedEndPoint, binding.IsXorMapped, binding.IsTranslated), Is.EqualTo((mapped, false, true)));
        Assert.That(binding.OtherAddress, Is.Null);
    }

    [Test]
    public async Task XorMappedAddressWinsOverARewrittenMappedAddress()
    {
        var mapped = new IPEndPoint(IPAddress.Parse("198.51.100.20"), 40001);
        using var server = new StunResponder(answer: r => One(StunResponder.Success(r.Bytes, mapped,
            plainMapped: new IPEndPoint(IPAddress.Parse("10.1.1.1"), 1234))));
        var binding = await Bounded(StunResponder.Client().QueryAsync(server.Primary));
        Assert.That((binding.MappedEndPoint, binding.IsXorMapped), Is.EqualTo((mapped, true)));
    }

    [Test]
    public void AnErrorResponseThrowsWithCodeAndReason()
    {
        using var server = new StunResponder(answer: r => One(StunResponder.Error(r.Bytes, 420, "Unknown Attribute")));
        var e = Assert.ThrowsAsync<StunException>(() => Bounded(StunResponder.Client().QueryAsync(server.Primary)));
        Assert.That((e!.Code, e.Reason), Is.EqualTo((420, "Unknown Attribute")));
        Assert.That(e.Message, Is.EqualTo($"STUN Binding refused by {server.Primary}: error 420 Unknown Attribute"));
        Assert.That(server.Requests, Has.Count.EqualTo(1), "an error ends the transaction");
    }

    [TestCase(300, "Try Alternate")]
    [TestCase(500, "Server Error")]
    [TestCase(699, "")]
    public void EveryErrorClassIsReported(int code, string reason)
    {
        using var server = new StunResponder(answer: r => One(StunResponder.Error(r.Bytes, code, reason)));
        var e = Assert.ThrowsAsync<StunException>(() => Bounded(StunResponder.Client().QueryAsync(server.Primary)));
        Assert.That((e!.Code, e.Reason), Is.EqualTo((code, reason)));
    }

    private static IEnumerable<TestCaseData> HostileReplies()
    {
        TestCaseData Case(string name, Func<Received, StunResponder, Reply> hostile, string ignoredAs) =>
            new TestCaseData(hostile, ignoredAs).SetName("Ignores " + name);
        static byte[] Good(Received r) => StunResponder.Success(r.Bytes, Elsewhere);
        static byte[] With(byte[] bytes, int offset, byte value)
        {
            bytes[offset] = value;
            return bytes;
        }
        yield return Case("a 12-byte reply", (r, _) => new Reply(Good(r)[..12]), "shorter than the 20-byte header");
        yield return Case("a reply without the magic cookie", (r, _) => new Reply(With(Good(r), 4, 0x22)), "without the magic cookie");
        yield return Case("another transaction id", (r, _) => new Reply(With(Good(r), 8, (byte)(r.Bytes[8] ^ 0xFF))), "another transaction id");
        yield return Case("a length beyond the datagram", (r, _) => new Reply(Good(r)[..^4]), "exceeds the datagram");
        yield return Case("a length not a multiple of 4", (r, _) => new Reply(With(Good(r), 3, (byte)(Good(r)[3] - 1))), "not a multiple of 4");
        yield return Case("the request echoed", (r, _) => new Reply(r.Bytes), "not a Binding response");
        yield return Case("a success without mapped address", (r, _) => new Reply(StunResponder.Success(r.Bytes, null)), "without (XOR-)MAPPED-ADDRESS");
        yield return Case("an error from another address",
            (r, s) => new Reply(StunResponder.Error(r.Bytes, 400, "Bad Request"), s.AlternateAddress), "from another address than the one asked");
        yield return Case("an answer from another address", (r, s) => new Reply(Good(r), s.AlternateAddress), "from another address than the one asked");
        yield return Case("an answer from another port", (r, s) => new Reply(Good(r), s.AlternatePort), "from another address than the one asked");
    }

    /// <summary>Alone, a hostile reply is ignored: the call ends with a timeout within its bound that says what came.</summary>
    [TestCaseSource(nameof(HostileReplies))]
    public void AHostileReplyAloneEndsInATimeout(Delegate hostileReply, string ignoredAs)
    {
        var hostile = (Func<Received, StunResponder, Reply>)hostileReply;
        StunResponder? self = null;
        using var server = self = new StunResponder(answer: r => [hostile(r, self!)]);
        var e = Assert.ThrowsAsync<TimeoutException>(() => Bounded(StunResponder.Client(timeoutMs: 600).QueryAsync(server.Primary)));
        Assert.That(e!.Message, Does.StartWith($"STUN Binding: no valid answer from {server.Primary} within 600 ms"));
        Assert.That(e.Message, Does.Contain(ignoredAs));
        Assert.That(server.Requests, Has.Count.GreaterThanOrEqualTo(2), "retransmitted meanwhile");
    }

    /// <summary>Followed by the real answer, a hostile reply changes nothing.</summary>
    [TestCaseSource(nameof(HostileReplies))]
    public async Task AHostileReplyBeforeTheAnswerIsSkipped(Delegate hostileReply, string ignoredAs)
    {
        var hostile = (Func<Received, StunResponder, Reply>)hostileReply;
        var right = new IPEndPoint(IPAddress.Parse("198.51.100.77"), 4242);
        StunResponder? self = null;
        using var server = self = new StunResponder(answer: r => [hostile(r, self!), new Reply(StunResponder.Success(r.Bytes, right))]);
        var binding = await Bounded(StunResponder.Client().QueryAsync(server.Primary));
        Assert.That(binding.MappedEndPoint, Is.EqualTo(right), ignoredAs);
        Assert.That(binding.AnsweredFrom, Is.EqualTo(server.Primary));
        Assert.That(server.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public void SilenceEndsInATimeoutWithBoundedRetransmissions()
    {
        using var server = new StunResponder(answer: _ => []);
        var e = Assert.ThrowsAsync<TimeoutException>(() => Bounded(StunResponder.Client(timeoutMs: 1000, retransmitMs: 100).QueryAsync(server.Primary)));
        Assert.That(e!.Message, Does.Contain("within 1000 ms").And.Contain("no reply"));
        var requests = server.Requests.ToArray();
        // Sent at 0, 100, 300 and 700 ms; the next would be at 1500 ms, after the bound. A slow machine sends fewer.
        Assert.That(requests, Has.Length.InRange(1, 4));
        Assert.That(requests.Select(r => r.Bytes), Is.All.EqualTo(requests[0].Bytes), "a retransmission is the same request");
    }

    [Test]
    public void AfterMaxRequestsTheTransactionFails()
    {
        // Rc = 3, RTO = 50 ms: sent at 0, 50 and 150 ms, then 16 × 50 ms of waiting; the 20 s timeout never comes into it.
        using var server = new StunResponder(answer: _ => []);
        var client = StunResponder.Client(timeoutMs: 20000, retransmitMs: 50, maxRequests: 3);
        var e = Assert.ThrowsAsync<TimeoutException>(() => Bounded(client.QueryAsync(server.Primary)));
        Assert.That(e!.Message, Does.Contain("after 3 requests (3 sent, no reply)"));
        Assert.That(server.Requests, Has.Count.EqualTo(3));
    }

    [Test]
    public async Task ALateAnswerToARetransmittedRequestIsTaken()
    {
        using var server = new StunResponder(answer: r => r.Index < 2 ? [] : One(StunResponder.Success(r.Bytes, r.From)));
        var binding = await Bounded(StunResponder.Client(retransmitMs: 50).QueryAsync(server.Primary));
        Assert.That(binding.RequestsSent, Is.EqualTo(3));
        Assert.That(server.Requests, Has.Count.EqualTo(3));
    }

    [Test]
    public void CancellationIsNotATimeout()
    {
        using var server = new StunResponder(answer: _ => []);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        Assert.That(async () => await Bounded(StunResponder.Client(timeoutMs: 10000).QueryAsync(server.Primary, cts.Token)),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(server.Requests, Is.Not.Empty);
    }

    [Test]
    public void ACancelledTokenSendsNothing()
    {
        using var server = new StunResponder();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Parse("127.85.0.12"), 0));
        var cancelled = new CancellationToken(true);
        Assert.That(async () => await StunResponder.Client().QueryAsync(server.Primary, cancelled), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await StunResponder.Client().QueryFromAsync(socket, server.Primary, cancelled), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await StunResponder.Client().DetectBehaviourAsync(server.Primary, cancelled), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(server.Requests, Is.Empty);
    }

    [Test]
    public void ACancelledCallLeavesTheApplicationsSocketUsable()
    {
        using var server = new StunResponder(answer: r => r.Index == 0 ? [] : One(StunResponder.Success(r.Bytes, r.From)));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Parse("127.85.0.13"), 0));
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
        {
            Assert.That(async () => await Bounded(StunResponder.Client(retransmitMs: 1000).QueryFromAsync(socket, server.Primary, cts.Token)),
                Throws.InstanceOf<OperationCanceledException>());
        }
        Assert.That(async () => (await Bounded(StunResponder.Client().QueryFromAsync(socket, server.Primary))).MappedEndPoint,
            Is.EqualTo(socket.LocalEndPoint));
    }

    private static IEnumerable<TestCaseData> BadArguments()
    {
        TestCaseData Case(string name, string param, Func<StunResponder, Task> call) =>
            new TestCaseData(param, call).SetName("Rejects " + name);
        var v4 = StunResponder.Client();
        yield return Case("a null server", "server", _ => v4.QueryAsync(null!));
        yield return Case("server port 0", "server", s => v4.QueryAsync(new IPEndPoint(s.Primary.Address, 0)));
        yield return Case("server 0.0.0.0", "server", s => v4.QueryAsync(new IPEndPoint(IPAddress.Any, s.Primary.Port)));
        yield return Case("server 255.255.255.255", "server", s => v4.QueryAsync(new IPEndPoint(IPAddress.Broadcast, s.Primary.Port)));
        yield return Case("a multicast server", "server", s => v4.QueryAsync(new IPEndPoint(IPAddress.Parse("239.255.255.250"), s.Primary.Port)));
        yield return Case("an IPv6 multicast server", "server", s => v4.DetectBehaviourAsync(new IPEndPoint(IPAddress.Parse("ff02::1"), s.Primary.Port)));
        yield return Case("an IPv6 local endpoint for an IPv4 server", "LocalEndPoint",
            s => new StunClient { LocalEndPoint = new IPEndPoint(IPAddress.IPv6Loopback, 0) }.QueryAsync(s.Primary));
        yield return Case("an IPv4 local endpoint for an IPv6 server", "LocalEndPoint",
            s => v4.DetectBehaviourAsync(new IPEndPoint(IPAddress.IPv6Loopback, s.Primary.Port)));
        yield return Case("a null socket", "socket", s => v4.QueryFromAsync(null!, s.Primary));
        yield return Case("a TCP socket", "socket", s => WithSocket(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp),
            socket => v4.QueryFromAsync(socket, s.Primary)));
        yield return Case("an IPv4 socket for an IPv6 server", "socket", s => WithSocket(Udp(AddressFamily.InterNetwork),
            socket => v4.QueryFromAsync(socket, new IPEndPoint(IPAddress.IPv6Loopback, s.Primary.Port))));
        yield return Case("an IPv6-only socket for an IPv4 server", "socket", s => WithSocket(Udp(AddressFamily.InterNetworkV6, dualMode: false),
            socket => v4.DetectBehaviourFromAsync(socket, s.Primary)));
        yield return Case("a connected socket", "socket", s => WithSocket(Udp(AddressFamily.InterNetwork), socket =>
        {
            socket.Connect(s.Primary);
            return v4.QueryFromAsync(socket, s.Primary);
        }));
    }

    private static Socket Udp(AddressFamily family, bool dualMode = true)
    {
        var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        if (family == AddressFamily.InterNetworkV6)
        {
            socket.DualMode = dualMode;
        }
        return socket;
    }

    private static async Task WithSocket(Socket socket, Func<Socket, Task> call)
    {
        using (socket)
        {
            await call(socket);
        }
    }

    [TestCaseSource(nameof(BadArguments))]
    public void BadArgumentsFailBeforeAnyIO(string param, Delegate call)
    {
        using var server = new StunResponder();
        var e = Assert.CatchAsync<ArgumentException>(() => ((Func<StunResponder, Task>)call)(server));
        Assert.That(e!.ParamName, Is.EqualTo(param));
        Assert.That(server.Requests, Is.Empty);
    }

    [Test]
    public void OptionsOutOfRangeAreRejected()
    {
        Assert.That(() => new StunClient { OperationTimeout = TimeSpan.Zero },
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("OperationTimeout"));
        Assert.That(() => new StunClient { OperationTimeout = TimeSpan.FromHours(2) }, Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => new StunClient { InitialRetransmissionInterval = TimeSpan.FromMilliseconds(-1) },
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("InitialRetransmissionInterval"));
        Assert.That(() => new StunClient { MaxRequests = 0 },
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("MaxRequests"));
        Assert.That(() => new StunClient { MaxRequests = 17 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
        var defaults = new StunClient();
        Assert.That((defaults.OperationTimeout, defaults.InitialRetransmissionInterval, defaults.MaxRequests, defaults.LocalEndPoint),
            Is.EqualTo((TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(500), 7, (IPEndPoint?)null)));
    }

    /// <summary>A port that was free on <paramref name="address"/> a moment ago.</summary>
    internal static int FreePort(string address)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
