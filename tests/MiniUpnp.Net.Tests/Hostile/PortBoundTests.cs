using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Python;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Hostile;

/// <summary>
/// The faithful <see cref="UPnP"/> is bounded: a router that drips its answer for ever (a byte every second, until the
/// test ends it) holds no member past <see cref="UPnP.CallTimeout"/>, on the description fetch (SelectIgd with a URL,
/// Discover then SelectIgd) and on a SOAP call; the object keeps its state, and the abandoned native call ends on its
/// own (the shipped miniupnpc ends an HTTP exchange after 30 s). Loopback only (a <see cref="FakeRouter"/> and its
/// minissdpd look-alike); no lab needed. Times are asserted with generous margins, never tightly.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PortBoundTests
{
    /// <summary>Short enough for a quick test, long enough that an honest loopback exchange never reaches it.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(2);

    /// <summary>Scheduling on a loaded 2-core machine under AddressSanitizer.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(10);

    [Test]
    public void TheDefaultBoundIsThirtySeconds()
    {
        using var u = new UPnP();
        Assert.That(UPnP.DefaultCallTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
        Assert.That(u.CallTimeout, Is.EqualTo(UPnP.DefaultCallTimeout));
        u.CallTimeout = Timeout.InfiniteTimeSpan;
        Assert.That(u.CallTimeout, Is.EqualTo(Timeout.InfiniteTimeSpan));
        Assert.Throws<ArgumentOutOfRangeException>(() => u.CallTimeout = TimeSpan.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => u.CallTimeout = TimeSpan.FromSeconds(-1));
    }

    [Test]
    public void SelectIgdOfADescriptionDrippedForEverEndsAtItsBound()
    {
        var drip = new ForeverDrip();
        using var router = drip.Router(HostileTarget.Description);
        using var u = new UPnP { CallTimeout = Bound };

        var e = AssertBounded(() => u.SelectIgd(router.DescriptionUrl), drip);

        Assert.That(e.Message, Does.Contain("UPnP.SelectIgd").And.Contain("CallTimeout"));
        Assert.That(u.LanAddr, Is.Empty, "a SelectIgd that timed out selects nothing");
    }

    [Test]
    public void DiscoverThenSelectIgdOfADescriptionDrippedForEverEndsAtItsBound()
    {
        var drip = new ForeverDrip();
        using var router = drip.Router(HostileTarget.Description, withMinissdpd: true);
        using var u = new UPnP(multicastif: "127.0.0.1", minissdpdsocket: router.MinissdpdSocket) { CallTimeout = Bound };

        Assert.That(u.Discover(), Is.GreaterThanOrEqualTo(1), "minissdpd names the dripping router");
        var e = AssertBounded(() => u.SelectIgd(), drip);

        Assert.That(e.Message, Does.Contain("UPnP.SelectIgd"));
    }

    [Test]
    public void ASoapReplyDrippedForEverEndsAtItsBound()
    {
        var drip = new ForeverDrip();
        using var router = drip.Router(HostileTarget.Control);
        using var u = new UPnP { CallTimeout = Bound };
        Assert.That(u.SelectIgd(router.DescriptionUrl), Does.Contain($":{router.HttpPort}/"), "the description is served plainly");

        var e = AssertBounded(() => u.StatusInfo(), drip);

        Assert.That(e.Message, Does.Contain("UPnP.StatusInfo"));
        Assert.That(u.LanAddr, Is.EqualTo("127.0.0.1"), "the selected IGD stays selected");
    }

    /// <summary>
    /// The caller's bound does not depend on the native call ending; this one shows that it does end anyway: the shipped
    /// miniupnpc gives up an HTTP exchange after 30 s in all (our patch of miniwget.c), so the abandoned call closes its
    /// connection while the router is still dripping.
    /// </summary>
    [Test]
    public void TheAbandonedNativeCallEndsOnItsOwn()
    {
        var drip = new ForeverDrip();
        using var router = drip.Router(HostileTarget.Control);
        using var u = new UPnP { CallTimeout = Bound };
        u.SelectIgd(router.DescriptionUrl);
        var watch = Stopwatch.StartNew();

        Assert.Throws<TimeoutException>(() => u.ExternalIpAddress());

        Assert.That(drip.ClientClosed.Wait(TimeSpan.FromSeconds(30) + TimeSpan.FromSeconds(30)), Is.True,
            "the native call still holds its connection a minute after it began");
        int dripped = drip.BytesSent;
        Assert.That(drip.StillDripping(dripped), Is.True, "the router was still dripping: miniupnpc gave up, not the router");
        TestContext.Out.WriteLine($"abandoned native call closed its connection after {watch.Elapsed.TotalSeconds:0.0} s ({dripped} bytes dripped)");
    }

    private static TimeoutException AssertBounded(TestDelegate call, ForeverDrip drip)
    {
        var watch = Stopwatch.StartNew();
        var e = Assert.Throws<TimeoutException>(call)!;
        var elapsed = watch.Elapsed;
        TestContext.Out.WriteLine($"{e.Message} ({elapsed.TotalMilliseconds:0} ms, bound {Bound.TotalMilliseconds:0} ms)");
        Assert.That(drip.Started.IsSet, Is.True, "the router began dripping");
        Assert.That(drip.ClientClosed.IsSet, Is.False, "the call was still held when its caller gave up");
        Assert.That(elapsed, Is.GreaterThanOrEqualTo(Bound - TimeSpan.FromMilliseconds(50)), "the member waited its bound");
        Assert.That(elapsed, Is.LessThan(Bound + Slack));
        return e;
    }

    /// <summary>A hostile exchange that never ends: a status line, then one byte of a header line every second, until the
    /// router stops; it notes when the client closes the connection.</summary>
    private sealed class ForeverDrip
    {
        private int _bytesSent;

        internal ManualResetEventSlim Started { get; } = new();
        internal ManualResetEventSlim ClientClosed { get; } = new();
        internal int BytesSent => Volatile.Read(ref _bytesSent);

        internal FakeRouter Router(HostileTarget target, bool withMinissdpd = false) =>
            HostileRouter.Create(new HostileCase("http-drip-forever", HostileLayer.Http, "a header line dripped a byte a second, for ever") { Http = DripAsync },
                target, IPAddress.Loopback, "http://127.0.0.1:9/", "http://127.0.0.1:9/", withMinissdpd);

        /// <summary>True when the router sends another byte after <paramref name="count"/> (it waits up to 5 s for it).</summary>
        internal bool StillDripping(int count)
        {
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < TimeSpan.FromSeconds(5))
            {
                if (BytesSent > count)
                {
                    return true;
                }
                Thread.Sleep(100);
            }
            return false;
        }

        private async Task DripAsync(RouterExchange x)
        {
            _ = WatchCloseAsync(x);
            byte[] head = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nX-Drip: ");
            await x.WriteAsync(head).ConfigureAwait(false);
            Started.Set();
            while (!x.Stop.IsCancellationRequested)
            {
                // After the client's FIN a write still succeeds; its RST then fails the next one. Either way, keep going
                // while the test runs: the router never ends the exchange itself.
                try
                {
                    await x.Stream.WriteAsync("a"u8.ToArray(), x.Stop).ConfigureAwait(false);
                    Interlocked.Increment(ref _bytesSent);
                }
                catch (IOException)
                {
                    Interlocked.Increment(ref _bytesSent);
                }
                await Task.Delay(TimeSpan.FromSeconds(1), x.Stop).ConfigureAwait(false);
            }
        }

        private async Task WatchCloseAsync(RouterExchange x)
        {
            try
            {
                // The request has been read: the next read returns 0 when the client closes its end.
                var buffer = new byte[256];
                while (await x.Socket.ReceiveAsync(buffer, SocketFlags.None, x.Stop).ConfigureAwait(false) > 0)
                {
                }
            }
            catch (Exception)
            {
                // Reset or stopped: closed as well.
            }
            ClientClosed.Set();
        }
    }
}
