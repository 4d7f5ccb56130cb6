using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Handles;

/// <summary>
/// No native leak: a long loop of discovery-free calls (parse, select an IGD from a URL served on loopback, free)
/// must not grow the C heap. On glibc the bytes malloc holds (mallinfo2: in-use chunks plus mmapped blocks) are
/// sampled after a warm-up and at the end, so the managed heap's growth does not blur the figure; elsewhere the
/// process RSS is sampled. Losing the URLs of one GetUPNPUrls (five strings, about 300 bytes: what the Python
/// module loses per selectigd) would show as several megabytes over the loop.
/// </summary>
public partial class LeakTests
{
    private const int WindowRounds = 10_000;

    // NotUnderSanitizers: LeakTests reads glibc's heap (mallinfo2), which ASan bypasses; LeakSanitizer checks instead.
    // (Under ASan every malloc goes to ASan's allocator, so the figure would not move whatever leaked: a vacuous pass.)
    [Test]
    [Category("NotUnderSanitizers")]
    public void ParseSelectFreeLoopDoesNotGrowTheProcess()
    {
        string desc = File.ReadAllText(Path.Combine(TestPaths.UpstreamSource, "testdesc", "new_LiveBox_desc.xml"));
        byte[] descBytes = Encoding.UTF8.GetBytes(desc);
        byte[] listing = Encoding.UTF8.GetBytes(
            "<p:PortMappingList xmlns:p=\"urn:schemas-upnp-org:gw:WANIPConnection\"><p:PortMappingEntry>" +
            "<p:NewExternalPort>5002</p:NewExternalPort><p:NewProtocol>UDP</p:NewProtocol><p:NewInternalPort>4001</p:NewInternalPort>" +
            "<p:NewInternalClient>192.168.1.123</p:NewInternalClient><p:NewDescription>xxx</p:NewDescription>" +
            "</p:PortMappingEntry></p:PortMappingList>");
        using var server = FakeRouter.Serving(desc);
        string url = server.Url("/rootDesc.xml");
        using var upnp = new UPnP();

        void Round()
        {
            var data = new IGDdatas();
            Miniupnpc.parserootdesc(descBytes, data);
            using (var parsed = new SafePortListingHandle())
            {
                Miniupnpc.ParsePortListing(listing, parsed);
            }
            using (var urls = new SafeUrlsHandle())
            {
                Miniupnpc.GetUPNPUrls(urls, data, url, 0);
            }
        }

        // Warm-up: the runtime's own one-off allocations (tiered JIT, thread pool, sockets) settle first.
        for (int i = 0; i < 5000; i++)
        {
            Round();
            if (i % 2 == 0)
            {
                upnp.SelectIgd(url);
            }
        }
        Thread.Sleep(500);

        // A leak grows every window alike; the runtime's noise (new threads' malloc caches, first full GCs) fades,
        // so the quietest window is the verdict: a leaking build grows by megabytes in each of them.
        var growth = new long[4];
        for (int w = 0; w < growth.Length; w++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long before = NativeHeapInUse();
            for (int i = 0; i < WindowRounds; i++)
            {
                Round();
                if (i % 2 == 0)
                {
                    upnp.SelectIgd(url);
                }
            }
            GC.Collect();
            GC.WaitForPendingFinalizers();
            growth[w] = NativeHeapInUse() - before;
        }
        TestContext.Progress.WriteLine($"{HeapMeasure} growth per window of {WindowRounds} rounds ({WindowRounds / 2} SelectIgd): " +
                                  $"{string.Join(", ", Array.ConvertAll(growth, g => $"{g / 1024} KiB"))}; {server.Requests} HTTP requests");
        Array.Sort(growth);
        Assert.That(upnp.LanAddr, Is.EqualTo("127.0.0.1"));
        Assert.That(growth[0], Is.LessThan(LeakThreshold), $"{HeapMeasure} grew by {growth[0] / 1024} KiB in the quietest window");
        Assert.That(MiniupnpcSafeHandle.FinalizedUndisposedCount, Is.Zero, "a handle was finalized instead of disposed");
    }

    private static bool HasMallinfo2 => OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libc.so.6", out var libc)
                                        && NativeLibrary.TryGetExport(libc, "mallinfo2", out _);

    private static string HeapMeasure => HasMallinfo2 ? "malloc in use" : "process RSS";

    // The C heap is quiet: a few hundred KiB of runtime noise at most. RSS also carries the managed heap's growth.
    private static long LeakThreshold => HasMallinfo2 ? 512 * 1024 : 16 * 1024 * 1024;

    private static long NativeHeapInUse()
    {
        if (HasMallinfo2)
        {
            var info = mallinfo2();
            return (long)(info.uordblks + info.hblkhd);
        }
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return self.WorkingSet64;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    }

    [LibraryImport("libc.so.6")]
    private static partial MallInfo2 mallinfo2();

}
