using System;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Port;

public class DefaultsAndDisposalTests
{
    [Test]
    public void DefaultsAreThoseOfPython()
    {
        using var upnp = new UPnP();
        Assert.Multiple(() =>
        {
            Assert.That(upnp.MulticastIf, Is.Null);
            Assert.That(upnp.MinissdpdSocket, Is.Null);
            Assert.That(upnp.DiscoverDelay, Is.EqualTo(0));
            Assert.That(upnp.LocalPort, Is.EqualTo(0));
            Assert.That(upnp.LanAddr, Is.Empty);
            Assert.That(upnp.WanAddr, Is.Empty);
        });
    }

    [Test]
    public void AttributesReadWriteAsInPython()
    {
        using var upnp = new UPnP("127.0.0.1", "/run/minissdpd.sock", 200, 1);
        upnp.DiscoverDelay = 500;
        upnp.LocalPort = 5; // the constructor's check does not apply to assignments, as in Python
        Assert.Multiple(() =>
        {
            Assert.That(upnp.MulticastIf, Is.EqualTo("127.0.0.1"));
            Assert.That(upnp.MinissdpdSocket, Is.EqualTo("/run/minissdpd.sock"));
            Assert.That(upnp.DiscoverDelay, Is.EqualTo(500));
            Assert.That(upnp.LocalPort, Is.EqualTo(5));
        });
    }

    [Test]
    public void SelectIgdWithoutDiscoveryHasPythonsText()
    {
        using var upnp = new UPnP();
        var e = Assert.Throws<UpnpException>(() => upnp.SelectIgd());
        Assert.That(e!.Message, Is.EqualTo("No UPnP device discovered"));
        Assert.That(e.Code, Is.EqualTo(Miniupnpc.UPNP_NO_IGD));
    }

    [Test]
    public void GetGenericAndSpecificReturnNullWithoutAnIgdAsInPython()
    {
        using var upnp = new UPnP();
        Assert.That(upnp.GetGenericPortMapping(0), Is.Null);
        Assert.That(upnp.GetSpecificPortMapping(80, "TCP"), Is.Null);
    }

    private static readonly Action<UPnP>[] Members =
    {
        u => u.Discover(), u => u.SelectIgd(), u => u.SelectIgd("http://127.0.0.1:1/x"), u => u.TotalByteSent(),
        u => u.TotalByteReceived(), u => u.TotalPacketSent(), u => u.TotalPacketReceived(), u => u.StatusInfo(),
        u => u.ConnectionType(), u => u.ExternalIpAddress(), u => u.AddPortMapping(1, "TCP", "h", 1, null, null),
        u => u.AddAnyPortMapping(1, "TCP", "h", 1, null, null), u => u.DeletePortMapping(1, "TCP"),
        u => u.DeletePortMappingRange(1, 2, "TCP", 0), u => u.GetPortMappingNumberOfEntries(),
        u => u.GetSpecificPortMapping(1, "TCP"), u => u.GetGenericPortMapping(0),
    };

    [Test]
    public void EveryMethodThrowsObjectDisposedAfterDispose([Range(0, 16)] int member)
    {
        var upnp = new UPnP();
        upnp.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Members[member](upnp));
    }

    [Test]
    public void DisposeTwiceIsHarmless()
    {
        var upnp = new UPnP();
        upnp.Dispose();
        Assert.DoesNotThrow(upnp.Dispose);
    }

    [Test]
    public void DisposeRacingCallsOnEightThreadsNeverCrashes([Range(1, 5)] int round)
    {
        // Calls that need no router (they fail fast inside miniupnpc on the missing control URL), 8 threads at once,
        // Dispose landing in the middle: every outcome is a value, UpnpException or ObjectDisposedException.
        var upnp = new UPnP();
        using var start = new Barrier(9);
        int unexpected = 0;
        var threads = new Task[8];
        for (int t = 0; t < threads.Length; t++)
        {
            int seed = t;
            threads[t] = Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                for (int i = 0; i < 200; i++)
                {
                    try
                    {
                        _ = Members[(seed + i) % Members.Length] switch
                        {
                            var m when m == Members[0] || m == Members[2] => 0, // no network here: skip discovery and fetches
                            var m => Run(m, upnp),
                        };
                    }
                    catch (Exception e) when (e is UpnpException or ObjectDisposedException)
                    {
                    }
                    catch (Exception)
                    {
                        Interlocked.Increment(ref unexpected);
                    }
                }
            }, TaskCreationOptions.LongRunning);
        }
        start.SignalAndWait();
        Thread.Sleep(round);
        upnp.Dispose();
        Assert.That(Task.WaitAll(threads, TimeSpan.FromSeconds(60)), Is.True, "threads finished");
        Assert.That(unexpected, Is.Zero);
        Assert.Throws<ObjectDisposedException>(() => upnp.StatusInfo());
    }

    private static int Run(Action<UPnP> member, UPnP upnp)
    {
        member(upnp);
        return 0;
    }
}
