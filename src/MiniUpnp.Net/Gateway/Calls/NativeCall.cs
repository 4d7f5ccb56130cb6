using System;
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
/// and the token (<c>Task.WaitAsync(TimeSpan, CancellationToken)</c>); the call it abandons finishes within
/// miniupnpc's own bounds (connect 3 s, each receive up to 5 s, a whole HTTP reply 30 s with our patch
/// ours-miniwget-total-deadline), frees
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
        // RunContinuationsAsynchronously: whatever awaits this task (the caller's code, a lease's loop raising its
        // events) resumes on the thread pool, never on the native-call thread, which goes straight back to its queue.
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
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
/// The threads native calls run on: a queue served by dedicated threads, one per call in progress, kept while there is
/// work and ended after <see cref="IdleLifetime"/> without any. Not the thread pool: a native call blocks for as long as
/// the router takes, and blocked pool threads starve everything else (the pool then grows by about one thread per half
/// second, so a cancellation could wait that long). Only the library's own delegates run here; no user code.
/// </summary>
/// <remarks>
/// A call never waits for another: a queued call wakes an idle thread or starts one, up to <see cref="MaxThreads"/>;
/// calls beyond wait for a thread to come free (their callers' timeouts still hold). <see cref="RouterSlots"/> keeps
/// the threads one router can hold far below that cap.
/// </remarks>
internal static class NativeThreads
{
    internal const int MaxThreads = 64;
    internal static readonly TimeSpan IdleLifetime = TimeSpan.FromSeconds(30);

    private static readonly object Gate = new();
    private static readonly Queue<Action> Pending = new();
    private static int s_threads; // started and not ended
    private static int s_waiting; // waiting for work
    private static int s_running; // running a call

    /// <summary>Threads started and not ended.</summary>
    internal static int ThreadCount
    {
        get
        {
            lock (Gate)
            {
                return s_threads;
            }
        }
    }

    /// <summary>Threads running a call or about to take one (an abandoned call keeps its thread until miniupnpc gives
    /// up); a snapshot, for measurements.</summary>
    internal static int BusyThreads
    {
        get
        {
            lock (Gate)
            {
                return s_threads - s_waiting;
            }
        }
    }

    /// <summary>Calls queued or running, abandoned ones included (tests: the threads are idle when it is 0).</summary>
    internal static int InFlight
    {
        get
        {
            lock (Gate)
            {
                return s_running + Pending.Count;
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> (which must not throw) on a native-call thread.</summary>
    internal static void Run(Action work)
    {
        lock (Gate)
        {
            Pending.Enqueue(work);
            if (s_waiting >= Pending.Count)
            {
                Monitor.Pulse(Gate); // an idle thread takes it
                return;
            }
            if (s_threads >= MaxThreads)
            {
                return; // at the cap: the call waits for a thread to come free
            }
            s_threads++;
        }
        try
        {
            new Thread(Work) { IsBackground = true, Name = "MiniUpnp.Net native call" }.UnsafeStart();
        }
        catch
        {
            lock (Gate)
            {
                s_threads--; // not started: the call stays queued for a thread that comes free
            }
            throw;
        }
    }

    private static void Work()
    {
        while (true)
        {
            Action? work;
            lock (Gate)
            {
                while (Pending.Count == 0)
                {
                    s_waiting++;
                    bool woken = Monitor.Wait(Gate, IdleLifetime);
                    s_waiting--;
                    if (!woken && Pending.Count == 0)
                    {
                        s_threads--; // idle too long: end
                        return;
                    }
                }
                work = Pending.Dequeue();
                s_running++;
            }
            try
            {
                work();
            }
            finally
            {
                lock (Gate)
                {
                    s_running--;
                }
            }
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
