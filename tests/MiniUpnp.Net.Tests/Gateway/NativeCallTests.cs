using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Gateway;

/// <summary>How the async layer runs blocking native calls: on threads of its own, never running the caller's code,
/// abandoned on timeout or cancellation, at most four at one router.</summary>
public class NativeCallTests
{
    private const string NativeThreadName = "MiniUpnp.Net native call";

    private static bool OnANativeCallThread => Thread.CurrentThread.Name == NativeThreadName;

    [Test]
    public async Task TheCodeAfterAnAwaitedCallNeverRunsOnANativeCallThread()
    {
        for (int i = 0; i < 20; i++)
        {
            bool callOnNative = await NativeCall.RunAsync(() =>
            {
                Thread.Sleep(i % 2); // with and without a real wait
                return OnANativeCallThread;
            }, Timeout.InfiniteTimeSpan, CancellationToken.None);
            Assert.That(callOnNative, Is.True, "the call itself runs on a native-call thread");
            Assert.That(OnANativeCallThread, Is.False, $"round {i}: the caller's continuation ran on the native-call thread");
        }
    }

    [Test]
    public async Task CallsRunSideBySideAndThreadsAreReused()
    {
        // Eight calls that can only end once all eight are running: none waits for another.
        const int Calls = 8;
        using var inside = new CountdownEvent(Calls);
        var calls = Enumerable.Range(0, Calls).Select(_ => NativeCall.RunAsync(() =>
        {
            inside.Signal();
            return inside.Wait(TimeSpan.FromSeconds(30));
        }, TimeSpan.FromSeconds(60), CancellationToken.None)).ToArray();
        Assert.That(await Task.WhenAll(calls), Has.All.True, "every call saw the other seven running");

        // One after the other, the calls reuse the threads that are there.
        int threads = NativeThreads.ThreadCount;
        for (int i = 0; i < 50; i++)
        {
            await NativeCall.RunAsync(() => 0, Timeout.InfiniteTimeSpan, CancellationToken.None);
        }
        Assert.That(NativeThreads.ThreadCount, Is.LessThanOrEqualTo(Math.Max(threads, 1)), "no new thread per call");
    }

    [Test]
    public void ACallerThatBlocksOnACallIsServed()
    {
        // Sync over async, from a thread-pool thread: the call does not need the caller's thread.
        int value = Task.Run(() => NativeCall.RunAsync(() => 7, TimeSpan.FromSeconds(30), CancellationToken.None).GetAwaiter().GetResult())
            .GetAwaiter().GetResult();
        Assert.That(value, Is.EqualTo(7));
    }

    [Test]
    public async Task GatewayCallsAndLeaseEventsNeverRunUserCodeOnANativeCallThread()
    {
        using var igd = new FakeRouter();
        var options = FakeIgdDiscoveryTests.LoopbackOnly(TimeSpan.FromMilliseconds(500), igd);
        options.OperationTimeout = TimeSpan.FromSeconds(10);
        var gateway = await UpnpGateway.OpenAsync(igd.RootUrl, options);
        Assert.That(OnANativeCallThread, Is.False, "after OpenAsync");
        await gateway.GetExternalAddressAsync();
        Assert.That(OnANativeCallThread, Is.False, "after GetExternalAddressAsync");
        await gateway.GetStatusAsync();
        Assert.That(OnANativeCallThread, Is.False, "after GetStatusAsync");

        var lease = await gateway.LeaseMappingAsync(new PortMappingLeaseOptions(PortMappingProtocol.Tcp, 8050)
        {
            LeaseDuration = TimeSpan.FromSeconds(2),
            CheckInterval = TimeSpan.FromMilliseconds(200),
            RetryDelay = TimeSpan.FromMilliseconds(100),
            MaxRetryDelay = TimeSpan.FromMilliseconds(400),
        });
        Assert.That(OnANativeCallThread, Is.False, "after LeaseMappingAsync");
        var threads = new System.Collections.Concurrent.ConcurrentQueue<(string Event, string? Thread)>();
        lease.Lost += (_, _) => threads.Enqueue(("Lost", Thread.CurrentThread.Name));
        lease.Restored += (_, _) => threads.Enqueue(("Restored", Thread.CurrentThread.Name));
        try
        {
            igd.RemoveMapping("TCP", 8050); // the router forgets it: the lease sees it gone and restores it
            var watch = Stopwatch.StartNew();
            while (lease.RestoreCount == 0 && watch.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(20);
            }
            Assert.That(threads.Select(t => t.Event), Is.SupersetOf(new[] { "Lost", "Restored" }));
            Assert.That(threads.Select(t => t.Thread), Has.None.EqualTo(NativeThreadName), string.Join(", ", threads));
        }
        finally
        {
            await lease.DisposeAsync();
        }
        Assert.That(OnANativeCallThread, Is.False, "after DisposeAsync");
    }

    [Test]
    public async Task ACallBehindSlotsWithAnInfiniteTimeoutWaitsForItsResult()
    {
        // Timeout.InfiniteTimeSpan is -1 ms: it must not be clamped to zero like what is left of a finite timeout.
        using var slots = new SemaphoreSlim(1, 1);
        int result = await NativeCall.RunAsync(slots, () =>
        {
            Thread.Sleep(50);
            return 42;
        }, Timeout.InfiniteTimeSpan, CancellationToken.None);
        Assert.That(result, Is.EqualTo(42));
        Assert.That(slots.CurrentCount, Is.EqualTo(1), "the slot is back");
    }

    [Test]
    public async Task AnAbandonedCallEndsTheWaitAtTheTimeoutAndItsExceptionIsObserved()
    {
        using var release = new ManualResetEventSlim();
        int callEnded = 0;
        var call = NativeCall.RunAsync<int>(() =>
        {
            release.Wait(TimeSpan.FromSeconds(60));
            Volatile.Write(ref callEnded, 1);
            throw new InvalidOperationException("late failure of an abandoned call");
        }, TimeSpan.FromMilliseconds(100), CancellationToken.None);
        Assert.ThrowsAsync<TimeoutException>(async () => await call);
        Assert.That(Volatile.Read(ref callEnded), Is.Zero, "the wait ended while the call was still running");
        release.Set();
        await Task.Delay(50);
    }

    [Test]
    public void ACancelledTokenEndsTheWait()
    {
        using var release = new ManualResetEventSlim();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var call = NativeCall.RunAsync(() => release.Wait(TimeSpan.FromSeconds(10)), Timeout.InfiniteTimeSpan, cts.Token);
        Assert.ThrowsAsync<TaskCanceledException>(async () => await call);
        release.Set();
    }

    [Test]
    public async Task AtMostFourCallsReachOneRouterAndAHungOneHoldsNoMoreThreads()
    {
        using var igd = new FakeRouter();
        var gateway = await UpnpGateway.OpenAsync(igd.RootUrl, new GatewayDiscoveryOptions { OperationTimeout = TimeSpan.FromMilliseconds(300) });
        int before = igd.Requests;
        using (igd.Hang())
        {
            // Every caller gets its timeout while the router still hangs, slot or not.
            var calls = Enumerable.Range(0, 10).Select(_ => gateway.GetStatusAsync()).ToArray();
            foreach (var call in calls)
            {
                Assert.ThrowsAsync<TimeoutException>(async () => await call);
            }
            // The four requests holding a slot reach the router (however slowly this machine runs); then a moment for
            // any others to arrive, which they must not.
            var watch = Stopwatch.StartNew();
            while (igd.Requests - before < RouterSlots.PerRouter && watch.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(20);
            }
            await Task.Delay(200);
            Assert.That(igd.Requests - before, Is.EqualTo(RouterSlots.PerRouter), "the hung router got four requests, not ten");
        }
        // The hang is over: the abandoned calls end, their slots come free, and the gateway works again.
        var status = await gateway.GetStatusAsync();
        Assert.That(status, Is.Not.Null);
    }
}
