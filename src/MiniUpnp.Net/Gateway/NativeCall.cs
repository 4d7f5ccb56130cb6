using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net;

/// <summary>
/// Runs a blocking miniupnpc call on a thread of <see cref="NativeThreads"/> and lets the caller stop waiting for it.
/// </summary>
/// <remarks>
/// A native call cannot be interrupted: once started it runs to its own end. The caller's await honours the timeout
/// and the token (<see cref="Task.WaitAsync(TimeSpan, CancellationToken)"/>); the call it abandons finishes within
/// miniupnpc's own bounds (connect 3 s, then each receive up to 5 s, restarted by every byte the router sends), frees
/// its native results itself (every handle is created and disposed inside the call's delegate), and its outcome,
/// including an exception, is dropped.
/// </remarks>
internal static class NativeCall
{
    /// <summary>Starts <paramref name="call"/> and waits for it at most <paramref name="timeout"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="TimeoutException">The call took longer than <paramref name="timeout"/>.</exception>
    internal static Task<T> RunAsync<T>(Func<T> call, TimeSpan timeout, CancellationToken cancellationToken, InFlightCalls? tracker = null)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }
        return Start(call, tracker).WaitAsync(timeout, cancellationToken);
    }

    /// <summary>
    /// As <see cref="RunAsync{T}(Func{T}, TimeSpan, CancellationToken, InFlightCalls)"/>, once one of <paramref name="slots"/> is free: the slot is held until the native call
    /// itself ends (an abandoned call keeps it), so that no more than the slots' count of calls ever reach one router.
    /// The wait for a slot counts in <paramref name="timeout"/>.
    /// </summary>
    /// <exception cref="TimeoutException">No slot came free, or the call took longer, within <paramref name="timeout"/>.</exception>
    internal static async Task<T> RunAsync<T>(SemaphoreSlim slots, Func<T> call, TimeSpan timeout, CancellationToken cancellationToken,
        InFlightCalls? tracker = null)
    {
        long start = Stopwatch.GetTimestamp();
        if (!await slots.WaitAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            throw new TimeoutException($"The router was busy with other calls of this process for {timeout.TotalMilliseconds:0} ms.");
        }
        Task<T> running;
        try
        {
            running = Start(() =>
            {
                try
                {
                    return call();
                }
                finally
                {
                    slots.Release();
                }
            }, tracker);
        }
        catch
        {
            slots.Release();
            throw;
        }
        // What is left of a finite timeout, at least zero; an infinite one stays infinite (it is -1 ms: clamped, it
        // would become zero and fail every call that is not already done).
        var left = timeout;
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            left -= Stopwatch.GetElapsedTime(start);
            left = left < TimeSpan.Zero ? TimeSpan.Zero : left;
        }
        return await running.WaitAsync(left, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queues <paramref name="call"/> on a native-call thread; the task ends when the call does.</summary>
    private static Task<T> Start<T>(Func<T> call, InFlightCalls? tracker)
    {
        // The awaiting code resumes on the native-call thread itself (no RunContinuationsAsynchronously): handing it to
        // the thread pool would cost a second thread wake-up per call, which on a busy machine is the largest cost
        // after the router's own. That thread only runs it up to the caller's next await (or posts it to the caller's
        // SynchronizationContext). A call started from there is kept for this same thread (see NativeThreads); a caller that
        // blocks there has it handed to another thread after NativeThreads.DeferredFallback.
        var completion = new TaskCompletionSource<T>();
        NativeThreads.Run(() =>
        {
            try
            {
                completion.SetResult(call());
            }
            catch (Exception e)
            {
                completion.SetException(e);
            }
        });
        Task<T> running = completion.Task;
        tracker?.Add(running);
        // Nobody may be left to observe an abandoned call's exception: observe it here.
        running.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return running;
    }
}

/// <summary>
/// The threads native calls run on: kept and reused, one per call in progress. Not the thread pool: a native call
/// blocks for as long as the router takes, and blocked pool threads starve everything else (the pool then grows by
/// about one thread per half second, so a cancellation could wait that long). Not a new thread per call either: on a
/// busy machine a new thread waits to be scheduled (Linux gives new threads a start debit), measured at about 3 ms
/// per call against 0.1 ms for a thread that is reused.
/// </summary>
/// <remarks>
/// A call never waits for another: each queued call takes an idle thread (claimed atomically) or starts one, up to
/// <see cref="MaxThreads"/> (calls beyond wait for a thread; their callers' timeouts still hold). A thread idle for
/// <see cref="IdleLifetime"/> ends.
/// <para>A call started from a native-call thread itself (the usual case: the caller's code after an awaited call runs
/// there, up to its next await) is kept for that thread, which runs it as soon as the caller's code returns to it: a
/// sequence of calls then costs no hand-over to another thread (measured: 20–50 µs each on this 2-core machine, the
/// largest cost of a call after the router's own). If the caller's code does not return within
/// <see cref="DeferredFallback"/> (it blocks on the call's result, or keeps computing), the call goes to another thread
/// as usual: never a deadlock. One watch thread keeps those deadlines (see <c>FallbackWatch</c>).</para>
/// </remarks>
internal static class NativeThreads
{
    internal const int MaxThreads = 64;
    internal static readonly TimeSpan IdleLifetime = TimeSpan.FromSeconds(30);

    private static readonly ConcurrentQueue<Action> Queue = new();
    private static readonly SemaphoreSlim Queued = new(0);
    private static int s_idleOffers; // idle threads not yet claimed by a queued call
    private static int s_threads;
    private static int s_running;

    internal static readonly TimeSpan DeferredFallback = TimeSpan.FromMilliseconds(2);

    /// <summary>How long the fallback watch goes on looking after the last deferred call (see <c>FallbackWatch</c>).</summary>
    internal static readonly TimeSpan WatchLinger = TimeSpan.FromMilliseconds(50);

    [ThreadStatic]
    private static bool t_isNativeThread;

    [ThreadStatic]
    private static Deferred? t_deferred;

    /// <summary>Runs <paramref name="work"/> (which must not throw) on a native-call thread.</summary>
    internal static void Run(Action work)
    {
        if (t_isNativeThread && t_deferred is null)
        {
            t_deferred = new Deferred(work);
            return;
        }
        Enqueue(work);
    }

    private static void Enqueue(Action work)
    {
        Queue.Enqueue(work);
        Queued.Release();
        if (!TryClaimIdleThread())
        {
            StartThread();
        }
    }

    internal static int ThreadCount => Volatile.Read(ref s_threads);

    /// <summary>Threads running a call (or about to take one): started threads not offering themselves as idle.
    /// A snapshot, for measurements (an abandoned call keeps its thread until miniupnpc gives up).</summary>
    internal static int BusyThreads => Math.Max(0, Volatile.Read(ref s_threads) - Volatile.Read(ref s_idleOffers));

    /// <summary>Calls queued or running, abandoned ones included (tests: the pool is idle when it is 0). A call kept for
    /// the thread that started it counts as running: that thread is still busy.</summary>
    internal static int InFlight => Volatile.Read(ref s_running) + Queue.Count;

    /// <summary>Runs the calls the caller's code started on this thread while it ran here (each may start the next).</summary>
    private static void RunDeferred()
    {
        while (t_deferred is { } deferred)
        {
            t_deferred = null;
            if (deferred.TryClaim())
            {
                deferred.Work();
            }
        }
    }

    /// <summary>A call kept for the thread that started it; handed to another thread if that one does not come back in time.</summary>
    private sealed class Deferred
    {
        private int _claimed;

        internal Deferred(Action work)
        {
            Work = work;
            Due = Stopwatch.GetTimestamp() + (long)(DeferredFallback.TotalSeconds * Stopwatch.Frequency);
            FallbackWatch.Watch(this);
        }

        internal Action Work { get; }

        /// <summary>When the call goes to another thread if this one has not taken it (a Stopwatch timestamp).</summary>
        internal long Due { get; }

        internal bool IsClaimed => Volatile.Read(ref _claimed) != 0;

        /// <summary>Takes the call; false when it has gone to another thread already.</summary>
        internal bool TryClaim() => Interlocked.Exchange(ref _claimed, 1) == 0;

        internal void Fallback()
        {
            if (TryClaim())
            {
                Enqueue(Work);
            }
        }
    }

    /// <summary>
    /// Hands each deferred call still unclaimed at its due time to another thread: one thread for the process, which
    /// looks every <see cref="DeferredFallback"/> while calls are being made and sleeps on an event once none has been
    /// for <see cref="WatchLinger"/>. Not a <see cref="Timer"/> per call: a timer that comes due, even one disposed long
    /// before, wakes the thread pool, whose workers then spin looking for work (strace in the lab: 2 ms into every SOAP
    /// call). Not a signal per call either: a wake-up per call, and the lock it needs, cost more than the call's own
    /// machinery (measured: 50 µs of CPU per call). Watching costs one wake-up per period while calls go on.
    /// </summary>
    private static class FallbackWatch
    {
        private const int NotStarted = 0, Idle = 1, Watching = 2;

        // Nearly in due order (each is due the same time after it starts; a thread preempted between the two may enqueue
        // a little late, and its entry is then looked at up to a period late).
        private static readonly ConcurrentQueue<Deferred> Watched = new();
        private static readonly AutoResetEvent Wake = new(false);
        private static int s_state;

        internal static void Watch(Deferred call)
        {
            Watched.Enqueue(call);
            if (Volatile.Read(ref s_state) == Watching)
            {
                return; // it will see the call within a period
            }
            if (Interlocked.CompareExchange(ref s_state, Watching, NotStarted) == NotStarted)
            {
                try
                {
                    new Thread(Run) { IsBackground = true, Name = "MiniUpnp.Net deferred-call watch" }.UnsafeStart();
                }
                catch
                {
                    Volatile.Write(ref s_state, NotStarted); // the next call tries again
                    throw;
                }
            }
            else if (Interlocked.CompareExchange(ref s_state, Watching, Idle) == Idle)
            {
                Wake.Set();
            }
        }

        private static void Run()
        {
            while (true)
            {
                long lastWatched = Stopwatch.GetTimestamp(); // when the queue last held a call
                while (Stopwatch.GetElapsedTime(lastWatched) < WatchLinger)
                {
                    Thread.Sleep(DeferredFallback);
                    while (Watched.TryPeek(out var next))
                    {
                        lastWatched = Stopwatch.GetTimestamp();
                        if (!next.IsClaimed && next.Due > lastWatched)
                        {
                            break; // not due yet: look again next period
                        }
                        Watched.TryDequeue(out _);
                        try
                        {
                            next.Fallback(); // nothing when its own thread took it (the usual case)
                        }
                        catch (Exception)
                        {
                            // No thread could be started for it: it stays queued for the next thread that comes free.
                        }
                    }
                }
                // Nothing for a while: sleep until the next call, unless one came just now. Exchange, a full fence: the
                // state must be visible before the queue is read, as Watch enqueues (a full fence) before it reads the
                // state; else both could miss the other and a call would go unwatched.
                Interlocked.Exchange(ref s_state, Idle);
                if (!Watched.IsEmpty && Interlocked.CompareExchange(ref s_state, Watching, Idle) == Idle)
                {
                    continue;
                }
                Wake.WaitOne();
            }
        }
    }

    private static bool TryClaimIdleThread()
    {
        int idle = Volatile.Read(ref s_idleOffers);
        while (idle > 0)
        {
            int seen = Interlocked.CompareExchange(ref s_idleOffers, idle - 1, idle);
            if (seen == idle)
            {
                return true;
            }
            idle = seen;
        }
        return false;
    }

    private static void StartThread()
    {
        if (Interlocked.Increment(ref s_threads) > MaxThreads)
        {
            Interlocked.Decrement(ref s_threads);
            return; // at the cap: the call waits for a thread to come free
        }
        try
        {
            new Thread(Work) { IsBackground = true, Name = "MiniUpnp.Net native call" }.UnsafeStart();
        }
        catch
        {
            Interlocked.Decrement(ref s_threads); // not started: the call stays queued for a thread that comes free
            throw;
        }
    }

    private static void Work()
    {
        t_isNativeThread = true;
        bool offered = false; // a new thread was started for a call already queued: it takes one without offering
        while (true)
        {
            if (Queued.Wait(IdleLifetime))
            {
                Interlocked.Increment(ref s_running); // before the dequeue: InFlight never misses a call
                if (Queue.TryDequeue(out var work))
                {
                    work();
                    RunDeferred();
                }
                Interlocked.Decrement(ref s_running);
                Interlocked.Increment(ref s_idleOffers);
                offered = true;
                continue;
            }
            // Idle too long: withdraw our offer and end, unless a queued call has just claimed an idle thread.
            if (!offered || TryClaimIdleThread())
            {
                Interlocked.Decrement(ref s_threads);
                return;
            }
            offered = false;
        }
    }
}

/// <summary>
/// The native calls a lease started and that may still be running (abandoned by a cancelled await). A lease waits
/// for them before its final delete, so that an abandoned add cannot land after the delete and leave a mapping behind.
/// </summary>
internal sealed class InFlightCalls
{
    private readonly object _gate = new();
    private readonly List<Task> _running = new();

    internal void Add(Task call)
    {
        lock (_gate)
        {
            _running.RemoveAll(static t => t.IsCompleted);
            _running.Add(call);
        }
    }

    /// <summary>Completes when every tracked call has ended, or after <paramref name="bound"/>; never throws.</summary>
    internal async Task WhenIdleAsync(TimeSpan bound)
    {
        Task[] running;
        lock (_gate)
        {
            running = _running.ToArray();
        }
        if (running.Length == 0)
        {
            return;
        }
        try
        {
            await Task.WhenAll(running).WaitAsync(bound).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A call that failed or is still running after the bound: the caller goes on regardless.
        }
    }
}
