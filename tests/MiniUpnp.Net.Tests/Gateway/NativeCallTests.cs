using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Gateway;

/// <summary>How the async layer runs blocking native calls: on its own threads, abandoned on timeout, and without a
/// thread wake-up when one call follows another.</summary>
public class NativeCallTests
{
    private static Task<int> ThreadOf() =>
        NativeCall.RunAsync(() => Environment.CurrentManagedThreadId, Timeout.InfiniteTimeSpan, CancellationToken.None);

    /// <summary>A call slow enough that the await really waits: the code after it then runs on the call's thread.</summary>
    private static async Task MoveToANativeCallThread()
    {
        int thread = await NativeCall.RunAsync(() =>
        {
            Thread.Sleep(20);
            return Environment.CurrentManagedThreadId;
        }, Timeout.InfiniteTimeSpan, CancellationToken.None);
        Assert.That(Environment.CurrentManagedThreadId, Is.EqualTo(thread), "no SynchronizationContext: the continuation runs where the call ended");
    }

    [Test]
    public async Task ACallStartedAfterAnAwaitedCallRunsOnTheSameThreadWithoutAWakeUp()
    {
        await MoveToANativeCallThread();
        int here = Environment.CurrentManagedThreadId;
        int second = await ThreadOf();
        int third = await ThreadOf();
        Assert.Multiple(() =>
        {
            Assert.That(second, Is.EqualTo(here), "the next call was kept for this thread");
            Assert.That(third, Is.EqualTo(here));
        });
    }

    [Test]
    public async Task ACallerThatBlocksOnTheNextCallIsNotADeadlock()
    {
        await MoveToANativeCallThread();
        var watch = Stopwatch.StartNew();
        // Sync-over-async on the very thread the call would be kept for: it must go to another thread instead.
        int other = ThreadOf().GetAwaiter().GetResult();
        watch.Stop();
        TestContext.Out.WriteLine($"blocked caller served by another thread after {watch.Elapsed.TotalMilliseconds:0.0} ms");
        Assert.Multiple(() =>
        {
            Assert.That(other, Is.Not.EqualTo(Environment.CurrentManagedThreadId));
            Assert.That(watch.Elapsed, Is.GreaterThanOrEqualTo(NativeThreads.DeferredFallback * 0.9), "kept for this thread first");
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2)), "then handed over, not never");
        });
    }

    [Test]
    public async Task ACallerBlockedAfterAQuietSpellIsStillHandedOver()
    {
        // Over and over, let the watch thread go idle (no deferred call for longer than it lingers), then block.
        for (int i = 0; i < 5; i++)
        {
            await Task.Delay(NativeThreads.WatchLinger * 2);
            int other = await NativeCall.RunAsync(() =>
                NativeCall.RunAsync(() => Environment.CurrentManagedThreadId, Timeout.InfiniteTimeSpan, CancellationToken.None)
                    .GetAwaiter().GetResult() == Environment.CurrentManagedThreadId ? -1 : 1,
                TimeSpan.FromSeconds(5), CancellationToken.None);
            Assert.That(other, Is.EqualTo(1), "the blocked call was served by another thread");
        }
    }

    [Test]
    public async Task SeveralCallersBlockedAtOnceAreAllHandedOver()
    {
        // Eight native-call threads, each blocking on a call kept for itself: the one watch thread hands each over.
        var outer = Enumerable.Range(0, 8).Select(_ => NativeCall.RunAsync(() =>
        {
            int me = Environment.CurrentManagedThreadId;
            var watch = Stopwatch.StartNew();
            int inner = NativeCall.RunAsync(() => Environment.CurrentManagedThreadId, Timeout.InfiniteTimeSpan, CancellationToken.None)
                .GetAwaiter().GetResult();
            return (Me: me, Inner: inner, Waited: watch.Elapsed);
        }, TimeSpan.FromSeconds(10), CancellationToken.None)).ToArray();
        var results = await Task.WhenAll(outer);
        TestContext.Out.WriteLine($"handed over after {string.Join(", ", results.Select(r => $"{r.Waited.TotalMilliseconds:0.0}"))} ms");
        Assert.Multiple(() =>
        {
            foreach (var r in results)
            {
                Assert.That(r.Inner, Is.Not.EqualTo(r.Me), "served by another thread");
                Assert.That(r.Waited, Is.LessThan(TimeSpan.FromSeconds(2)));
            }
        });
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
        var call = NativeCall.RunAsync<int>(() =>
        {
            release.Wait(TimeSpan.FromSeconds(10));
            throw new InvalidOperationException("late failure of an abandoned call");
        }, TimeSpan.FromMilliseconds(100), CancellationToken.None);
        var watch = Stopwatch.StartNew();
        Assert.ThrowsAsync<TimeoutException>(async () => await call);
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
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
        using var igd = new FakeIgd();
        var gateway = await UpnpGateway.OpenAsync(igd.RootUrl, new GatewayDiscoveryOptions { OperationTimeout = TimeSpan.FromMilliseconds(300) });
        int before = igd.Requests;
        using (igd.Hang())
        {
            var watch = Stopwatch.StartNew();
            var calls = Enumerable.Range(0, 10).Select(_ => gateway.GetStatusAsync()).ToArray();
            foreach (var call in calls)
            {
                Assert.ThrowsAsync<TimeoutException>(async () => await call);
            }
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)), "every caller got its timeout, slot or not");
            await Task.Delay(200);
            Assert.That(igd.Requests - before, Is.EqualTo(RouterSlots.PerRouter), "the hung router got four requests, not ten");
        }
        // The hang is over: the abandoned calls end, their slots come free, and the gateway works again.
        var status = await gateway.GetStatusAsync();
        Assert.That(status, Is.Not.Null);
    }
}
