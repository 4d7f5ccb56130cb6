using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Lab.Faults;

/// <summary>
/// The lab's faults, driven through tests/lab/lab.sh: miniupnpd frozen, killed in the middle of a request, restarted;
/// the lan link down and up at either end. Every verb is bounded; a failed verb fails the test.
/// </summary>
internal static class Router
{
    /// <summary>SIGSTOP miniupnpd: the kernel still accepts connections, nothing answers them.</summary>
    internal static void Freeze() => Lab("freeze-igd");

    internal static void Thaw() => Lab("thaw-igd");

    /// <summary>Waits (at most 10 s) until <paramref name="count"/> requests sit unread at the frozen router.</summary>
    internal static void WaitForRequests(int count) => Lab($"wait-requests {count} 10");

    /// <summary>SIGKILL miniupnpd (a crash): requests it holds are reset by the kernel; its nft rules stay.</summary>
    internal static void Kill() => Lab("kill-igd");

    /// <summary>Starts miniupnpd again and waits for its HTTP server.</summary>
    internal static void Start() => Lab("start-igd");

    internal static void Restart() => Lab("restart-igd");

    /// <summary>Takes the lan link down at our end (<c>lan</c>: no route) or the router's (<c>igd</c>: no carrier).</summary>
    internal static void LinkDown(string side) => Lab($"link-down {side}");

    internal static void LinkUp(string side) => Lab($"link-up {side}");

    private static void Lab(string verb)
    {
        var (code, output) = LabEnvironment.LabSh(verb, timeoutSeconds: 30);
        Assert.That(code, Is.EqualTo(0), $"lab.sh {verb}: {output}");
    }

    /// <summary>
    /// Connections the router's kernel dropped because miniupnpd's accept queue was full (TcpExtListenDrops of the igd
    /// namespace). miniupnpd listens with a backlog of 5: a seventh simultaneous connection has its SYN dropped and
    /// retried by our kernel after 1 s, then 3 s, and miniupnpc's 3 s connect timeout may end the call first.
    /// </summary>
    internal static long ListenDrops()
    {
        var (code, output) = LabEnvironment.InNamespace(LabEnvironment.IgdNamespace, "nstat", "-asz TcpExtListenDrops");
        Assert.That(code, Is.EqualTo(0), output);
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("TcpExtListenDrops", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    /// <summary>The action, and how long it took in milliseconds.</summary>
    internal static long Timed(Action action)
    {
        var watch = Stopwatch.StartNew();
        action();
        return watch.ElapsedMilliseconds;
    }
}

/// <summary>What one call ended with, and when.</summary>
internal sealed record Outcome(string Member, object? Value, Exception? Error, long StartMs, long EndMs)
{
    internal long Ms => EndMs - StartMs;

    public override string ToString() => Error is null
        ? $"{Member}: {Value ?? "null"} in {Ms} ms"
        : $"{Member}: {Error.GetType().Name}{(Error is UpnpException u ? $" {u.Code}" : "")} \"{Error.Message}\" in {Ms} ms";
}

/// <summary>Runs members at the same time, each on a thread of its own, and records how each ended.</summary>
internal static class Calls
{
    /// <summary>Starts every call on its own thread now; <see cref="Join"/> collects them.</summary>
    internal static (Thread Thread, Outcome?[] Slot)[] Start(Stopwatch clock, params (string Member, Func<object?> Call)[] calls) =>
        calls.Select(c =>
        {
            var slot = new Outcome?[1];
            var thread = new Thread(() =>
            {
                long start = clock.ElapsedMilliseconds;
                try
                {
                    object? value = c.Call();
                    slot[0] = new Outcome(c.Member, value, null, start, clock.ElapsedMilliseconds);
                }
                catch (Exception e)
                {
                    slot[0] = new Outcome(c.Member, null, e, start, clock.ElapsedMilliseconds);
                }
            }) { IsBackground = true, Name = "fault test " + c.Member };
            thread.Start();
            return (thread, slot);
        }).ToArray();

    /// <summary>Waits for the threads (bounded); a thread still running fails the test.</summary>
    internal static Outcome[] Join((Thread Thread, Outcome?[] Slot)[] running, TimeSpan bound)
    {
        var watch = Stopwatch.StartNew();
        foreach (var (thread, _) in running)
        {
            var left = bound - watch.Elapsed;
            Assert.That(thread.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero), Is.True,
                $"{thread.Name} still running after {bound.TotalSeconds} s");
        }
        return running.Select(r => r.Slot[0]!).ToArray();
    }

    internal static Outcome[] Run(Stopwatch clock, TimeSpan bound, params (string Member, Func<object?> Call)[] calls) =>
        Join(Start(clock, calls), bound);

    /// <summary>Every outcome, one per line, for the test's output.</summary>
    internal static void Print(string heading, IEnumerable<Outcome> outcomes)
    {
        TestContext.Out.WriteLine(heading);
        foreach (var o in outcomes)
        {
            TestContext.Out.WriteLine("    " + o);
        }
    }
}

/// <summary>
/// What the process holds that a leak would grow: open descriptors (with what they point at), the C heap (glibc's
/// mallinfo2: bytes in use in every arena, plus mmapped blocks), handles finalized instead of disposed, and native
/// calls the async layer still has queued or running.
/// </summary>
internal sealed partial record ProcessResources(string[] Descriptors, long NativeHeap, int FinalizedUndisposed, int NativeCallsInFlight)
{
    internal long Mmapped { get; init; }

    /// <summary>After the async layer's native calls have all ended (bounded), a collection, and the finalizers.</summary>
    internal static async Task<ProcessResources> SettledAsync(TimeSpan bound)
    {
        var watch = Stopwatch.StartNew();
        while (NativeThreads.InFlight != 0 && watch.Elapsed < bound)
        {
            await Task.Delay(20);
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return new ProcessResources(OpenDescriptors(), NativeHeapInUse(), MiniupnpcSafeHandle.FinalizedUndisposedCount, NativeThreads.InFlight)
        {
            Mmapped = HasMallinfo2 ? (long)mallinfo2().hblkhd : 0,
        };
    }

    /// <summary>
    /// Asserts that no descriptor, handle or native call was left behind since <paramref name="before"/>; prints the
    /// figures. The C heap is printed, not judged: over a whole test the runtime's own allocations (tiered JIT, new
    /// threads) move it by a megabyte either way. <see cref="AssertHeapQuietAsync"/> judges it.
    /// </summary>
    internal void AssertNothingLeakedSince(ProcessResources before, string what)
    {
        var opened = Descriptors.Except(before.Descriptors).ToArray();
        var closed = before.Descriptors.Except(Descriptors).ToArray();
        long heap = NativeHeap - before.NativeHeap;
        TestContext.Out.WriteLine(
            $"resources {what}: descriptors {before.Descriptors.Length} -> {Descriptors.Length}" +
            (opened.Length + closed.Length > 0 ? $" (opened: {string.Join(", ", opened)}; closed: {string.Join(", ", closed)})" : "") +
            $"; {HeapMeasure} {before.NativeHeap / 1024} -> {NativeHeap / 1024} KiB ({(heap >= 0 ? "+" : "")}{heap / 1024} KiB" +
            $", mmapped {before.Mmapped / 1024} -> {Mmapped / 1024} KiB)" +
            $"; finalized undisposed {before.FinalizedUndisposed} -> {FinalizedUndisposed}" +
            $"; native calls in flight {NativeCallsInFlight} (native-call threads {NativeThreads.ThreadCount})");
        Assert.Multiple(() =>
        {
            Assert.That(opened, Is.Empty, $"descriptors opened {what} and still open");
            Assert.That(Descriptors, Has.Length.EqualTo(before.Descriptors.Length), $"descriptor count {what}");
            Assert.That(FinalizedUndisposed, Is.EqualTo(before.FinalizedUndisposed), $"handles finalized instead of disposed {what}");
            Assert.That(NativeCallsInFlight, Is.Zero, $"native calls still queued or running {what}");
        });
    }

    /// <summary>
    /// The C heap over repeated rounds of the same calls, the way Handles/LeakTests judges it: after a warm-up, several
    /// windows of <paramref name="rounds"/> rounds each; a leak grows every window alike, the runtime's noise fades,
    /// so the quietest window is the verdict.
    /// </summary>
    internal static async Task AssertHeapQuietAsync(string what, int callsPerRound, Func<Task> round, int warmUp = 60, int rounds = 100,
        int windows = 4, long threshold = 64 * 1024)
    {
        for (int i = 0; i < warmUp; i++)
        {
            await round();
        }
        var growth = new long[windows];
        for (int w = 0; w < windows; w++)
        {
            long before = (await SettledAsync(TimeSpan.FromSeconds(10))).NativeHeap;
            for (int i = 0; i < rounds; i++)
            {
                await round();
            }
            growth[w] = (await SettledAsync(TimeSpan.FromSeconds(10))).NativeHeap - before;
        }
        TestContext.Out.WriteLine($"{HeapMeasure} over {what}, per window of {rounds} rounds ({rounds * callsPerRound} calls): " +
                                  string.Join(", ", growth.Select(g => $"{(g >= 0 ? "+" : "")}{g / 1024} KiB")));
        Assert.That(growth.Min(), Is.LessThan(threshold),
            $"{HeapMeasure} grew in every window over {what}: {growth.Min() / (rounds * callsPerRound)} bytes per call at least");
    }

    /// <summary>"fd->target" of every open descriptor (Linux: /proc/self/fd); sockets and pipes by kind, without
    /// their inode number (a socket closed and another opened under the same number is no leak).</summary>
    private static string[] OpenDescriptors()
    {
        string ownDirectory = $"/proc/{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}/fd";
        var list = new List<string>();
        foreach (var path in Directory.EnumerateFiles("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(path).LinkTarget;
            }
            catch (IOException)
            {
                continue; // closed while we looked
            }
            if (target is null || target == ownDirectory || target.EndsWith(".pdb", StringComparison.Ordinal))
            {
                // The enumeration's own descriptor; a symbol file the runtime opened to put line numbers in an
                // exception's stack trace (it keeps it open, once per assembly)
                continue;
            }
            int bracket = target.IndexOf(":[", StringComparison.Ordinal);
            list.Add($"{Path.GetFileName(path)}->{(bracket > 0 ? target[..bracket] : target)}");
        }
        return list.OrderBy(d => d, StringComparer.Ordinal).ToArray();
    }

    private static bool HasMallinfo2 { get; } = OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libc.so.6", out var libc)
                                                && NativeLibrary.TryGetExport(libc, "mallinfo2", out _);

    internal static string HeapMeasure => HasMallinfo2 ? "malloc in use" : "process RSS";

    private static long NativeHeapInUse()
    {
        if (HasMallinfo2)
        {
            var info = mallinfo2();
            return (long)(info.uordblks + info.hblkhd);
        }
        using var self = Process.GetCurrentProcess();
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

/// <summary>Counts the task exceptions nobody observed while it is in use (TaskScheduler.UnobservedTaskException).</summary>
internal sealed class UnobservedTaskExceptions : IDisposable
{
    private readonly List<Exception> _seen = new();

    internal UnobservedTaskExceptions() => TaskScheduler.UnobservedTaskException += OnUnobserved;

    /// <summary>Collects (so that unreachable faulted tasks are finalized and reported), then lists what was seen.</summary>
    internal IReadOnlyList<Exception> Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        lock (_seen)
        {
            return _seen.ToArray();
        }
    }

    public void Dispose() => TaskScheduler.UnobservedTaskException -= OnUnobserved;

    private void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
    {
        lock (_seen)
        {
            _seen.Add(e.Exception);
        }
    }
}
