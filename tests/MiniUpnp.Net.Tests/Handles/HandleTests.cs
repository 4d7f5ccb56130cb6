using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Handles;

public class HandleTests
{
    [Test]
    public void DisposingAHandleTwiceIsHarmless()
    {
        var urls = new SafeUrlsHandle();
        var listing = new SafePortListingHandle();
        urls.Dispose();
        listing.Dispose();
        Assert.DoesNotThrow(urls.Dispose);
        Assert.DoesNotThrow(listing.Dispose);
        Assert.That(urls.IsClosed && listing.IsClosed, Is.True);
    }

    [Test]
    public void ReadingADisposedHandleThrowsObjectDisposed()
    {
        var urls = new SafeUrlsHandle();
        var listing = new SafePortListingHandle();
        urls.Dispose();
        listing.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _ = urls.controlURL);
        Assert.Throws<ObjectDisposedException>(() => _ = listing.Entries);
    }

    [Test]
    public void PassingADisposedHandleToNativeCodeThrowsObjectDisposed()
    {
        var listing = new SafePortListingHandle();
        listing.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Miniupnpc.ParsePortListing("<x/>"u8, listing));
    }

    [Test]
    public void AnEmptyDeviceListIsInvalidAndHasNoDevices()
    {
        using var list = new SafeDeviceListHandle();
        Assert.That(list.IsInvalid, Is.True);
        Assert.That(list.Devices, Is.Empty);
        Miniupnpc.freeUPNPDevlist(list);
        Assert.That(list.IsClosed, Is.True);
    }

    [Test]
    public void DisposeRacingReadersOnEightThreadsNeverFreesMemoryInUse([Range(1, 5)] int round)
    {
        string desc = File.ReadAllText(Path.Combine(TestPaths.UpstreamSource, "testdesc", "new_LiveBox_desc.xml"));
        using var server = FakeRouter.Serving(desc);
        var urls = new SafeUrlsHandle();
        Miniupnpc.GetUPNPUrls(urls, new IGDdatas(), server.Url("/rootDesc.xml"), 0);
        using var start = new Barrier(9);
        int unexpected = 0;
        var readers = new Task[8];
        for (int t = 0; t < readers.Length; t++)
        {
            readers[t] = Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                for (int i = 0; i < 2000; i++)
                {
                    try
                    {
                        if (!urls.rootdescURL.StartsWith("http://127.0.0.1:", StringComparison.Ordinal))
                        {
                            Interlocked.Increment(ref unexpected);
                        }
                    }
                    catch (ObjectDisposedException)
                    {
                        return;
                    }
                }
            }, TaskCreationOptions.LongRunning);
        }
        start.SignalAndWait();
        Thread.Sleep(round);
        urls.Dispose();
        Assert.That(Task.WaitAll(readers, TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(unexpected, Is.Zero, "a reader saw a torn or freed string");
    }

    [Test]
    public void ReusingOneUrlsHandleDoesNotLeakAndLeavesNoUndisposedHandle()
    {
        // GetUPNPUrls overwrites the struct in C; the binding frees the old strings first (checked under valgrind
        // in the closing note of the issue; here: the handle keeps working and ends disposed).
        string desc = File.ReadAllText(Path.Combine(TestPaths.UpstreamSource, "testdesc", "new_LiveBox_desc.xml"));
        var data = new IGDdatas();
        Miniupnpc.parserootdesc(Encoding.UTF8.GetBytes(desc), data);
        using var urls = new SafeUrlsHandle();
        for (int i = 0; i < 100; i++)
        {
            Miniupnpc.GetUPNPUrls(urls, data, $"http://192.0.2.1:{1000 + i}/desc.xml", 0);
        }
        Assert.That(urls.controlURL, Is.EqualTo("http://192.0.2.1:1099/87895a19/upnp/control/WANIPConn1"));
        Assert.That(urls.controlURL_6FC, Is.EqualTo("http://192.0.2.1:1099/87895a19/upnp/control/WANIPv6FwCtrl1"));
    }
}
