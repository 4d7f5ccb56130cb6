using System;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Native;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Natpmp;

/// <summary>
/// <see cref="NatpmpClient"/> without a router: bad arguments before any I/O, a port nobody serves (ICMP), a silent
/// gateway (the timeout), cancellation, and a refusal, against responders on loopback addresses of their own (libnatpmp
/// always talks to port 5351).
/// </summary>
public class NatpmpClientTests
{
    private static readonly IPAddress Nobody = IPAddress.Parse("127.77.0.1");
    private static readonly IPAddress Silent = IPAddress.Parse("127.77.0.2");
    private static readonly IPAddress Refusing = IPAddress.Parse("127.77.0.3");

    [Test]
    public void BadArgumentsThrowBeforeAnyIo()
    {
        Assert.Throws<ArgumentException>(() => _ = new NatpmpClient(IPAddress.IPv6Loopback));
        Assert.Throws<ArgumentException>(() => _ = new NatpmpClient(IPAddress.Any));
        Assert.Throws<ArgumentException>(() => _ = new NatpmpClient(IPAddress.Parse("239.255.255.250")));
        Assert.Throws<ArgumentNullException>(() => _ = new NatpmpClient(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new NatpmpClient(Nobody) { OperationTimeout = TimeSpan.Zero });
        var client = new NatpmpClient(Nobody);
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.MapAsync(new NatpmpMapRequest(PortMappingProtocol.Tcp, 0)));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.MapAsync(new NatpmpMapRequest(PortMappingProtocol.Tcp, 80) { ExternalPort = 65536 }));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.MapAsync(new NatpmpMapRequest(PortMappingProtocol.Tcp, 80) { Lifetime = TimeSpan.FromDays(2) }));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.MapAsync(new NatpmpMapRequest((PortMappingProtocol)7, 80)));
        Assert.ThrowsAsync<ArgumentNullException>(() => client.MapAsync(null!));
        Assert.That(client.LastEpoch, Is.Null, "nothing was sent");
    }

    [Test]
    public void AGatewayWithoutNatpmpIsRefusedWithLibnatpmpsCodeAndText()
    {
        var clock = Stopwatch.StartNew();
        var e = Assert.ThrowsAsync<NatpmpException>(() => new NatpmpClient(Nobody).GetPublicAddressAsync());
        TestContext.Out.WriteLine($"{e!.Message} after {clock.ElapsedMilliseconds} ms");
        Assert.That(e.Code, Is.EqualTo(Libnatpmp.NATPMP_ERR_NOGATEWAYSUPPORT));
        Assert.That(e.Message, Does.Contain(Libnatpmp.strnatpmperr(Libnatpmp.NATPMP_ERR_NOGATEWAYSUPPORT)).And.Contain("127.77.0.1"));
    }

    [Test]
    public void ASilentGatewayEndsWithTheTimeoutAndTheRequestWasRetried()
    {
        using var server = Bind(Silent);
        var client = new NatpmpClient(Silent) { OperationTimeout = TimeSpan.FromMilliseconds(900) };
        var e = Assert.ThrowsAsync<TimeoutException>(() => client.MapAsync(new NatpmpMapRequest(PortMappingProtocol.Udp, 4000)));
        Assert.That(e!.Message, Does.Contain("900 ms").And.Contain("127.77.0.2:5351"));
        // libnatpmp's schedule: at 0, 250 and 750 ms (then 1750).
        Assert.That(Received(server), Is.EqualTo(3));
    }

    [Test]
    public void CancellationEndsTheWaitAndTheNativeLoop()
    {
        using var server = Bind(Silent);
        var client = new NatpmpClient(Silent) { OperationTimeout = TimeSpan.FromSeconds(30) };
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        Assert.CatchAsync<OperationCanceledException>(() => client.GetPublicAddressAsync(cancel.Token));
        // The thread's loop looks at the token every 50 ms: no request after the first, none later.
        Thread.Sleep(400);
        Assert.That(Received(server), Is.EqualTo(1));
    }

    [Test]
    public async Task ARefusalCarriesLibnatpmpsCodeAndText()
    {
        using var server = Bind(Refusing);
        var answering = Task.Run(() =>
        {
            var buffer = new byte[64];
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            int n = server.ReceiveFrom(buffer, ref from);
            Assert.That(n, Is.EqualTo(12));
            // Version 0, opcode 128 + 2 (TCP), result 2 (not authorized), epoch 1234, the ports, lifetime 0.
            var answer = new byte[16];
            answer[1] = 130;
            answer[3] = 2;
            answer[6] = 0x04;
            answer[7] = 0xD2;
            Array.Copy(buffer, 4, answer, 8, 4);
            server.SendTo(answer, from);
        });
        var client = new NatpmpClient(Refusing) { OperationTimeout = TimeSpan.FromSeconds(5) };
        var e = Assert.ThrowsAsync<NatpmpException>(() => client.MapAsync(new NatpmpMapRequest(PortMappingProtocol.Tcp, 4000)));
        await answering;
        Assert.That(e!.Code, Is.EqualTo(Libnatpmp.NATPMP_ERR_NOTAUTHORIZED));
        Assert.That(e.Message, Does.Contain(Libnatpmp.strnatpmperr(Libnatpmp.NATPMP_ERR_NOTAUTHORIZED)));
    }

    private static Socket Bind(IPAddress address)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 3000 };
        socket.Bind(new IPEndPoint(address, NatpmpClient.ServerPort));
        return socket;
    }

    private static int Received(Socket server)
    {
        int n = 0;
        var buffer = new byte[64];
        while (n < 100 && server.Poll(0, SelectMode.SelectRead))
        {
            server.Receive(buffer);
            n++;
        }
        return n;
    }
}
