using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Hostile;

/// <summary>
/// Issue #18, the hostile NAT-PMP / PCP server: every layer that speaks to UDP 5351 (<see cref="PcpClient"/>,
/// <see cref="NatpmpClient"/>, the NATPMP port, the C names) against every relevant case of <see cref="PmpCorpus"/>.
/// Each cell must end within its member's bound (docs/reliability.md) with exactly the outcome the case expects for it
/// (a value read from the valid answer, a hostile datagram ignored, a clear error, a timeout), and nothing may escape
/// to another thread. The table goes to the test output and to artifacts/hostile/pmp-table.txt. Loopback only
/// (127.86.0.0/16, an address per cell); no lab needed.
/// </summary>
[TestFixture]
[NonParallelizable]
[Platform("Linux", Reason = "a server on 127.86.x.y needs Linux's whole 127/8 on lo")]
public sealed class PmpHostileTests
{
    private sealed record Outcome(string Case, string Member, string Result, string Expected, TimeSpan Elapsed, TimeSpan Bound,
        int Requests, string? Failure);

    [OneTimeSetUp]
    public void WarmUp()
    {
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), Math.Max(io, 32));
    }

    /// <summary>The gateway of cell (case <paramref name="x"/>, member <paramref name="y"/>), and its "other" sender.</summary>
    private static (IPAddress Gateway, IPAddress Other) Addresses(int x, int y) =>
        (IPAddress.Parse($"127.86.{x}.{y}"), IPAddress.Parse($"127.86.{x}.{y + 100}"));

    [Test]
    public async Task EveryMemberAgainstEveryCase()
    {
        var unobserved = new ConcurrentQueue<string>();
        EventHandler<UnobservedTaskExceptionEventArgs> onUnobserved = (_, e) => unobserved.Enqueue("unobserved task exception: " + e.Exception.InnerException);
        UnhandledExceptionEventHandler onUnhandled = (_, e) => unobserved.Enqueue("unhandled exception: " + e.ExceptionObject);
        TaskScheduler.UnobservedTaskException += onUnobserved;
        AppDomain.CurrentDomain.UnhandledException += onUnhandled;
        var outcomes = new ConcurrentBag<Outcome>();
        var total = Stopwatch.StartNew();
        try
        {
            Assert.That(PmpCorpus.All.Select(c => c.Name), Is.Unique);
            var cells = (from c in PmpCorpus.All.Select((c, i) => (Case: c, X: i + 1))
                         from m in PmpMembers.All.Select((m, i) => (Member: m, Y: i + 1))
                         where m.Member.IsRelevant(c.Case)
                         select (c.Case, m.Member, Addresses(c.X, m.Y))).ToList();
            using var gate = new SemaphoreSlim(16);
            await Task.WhenAll(cells.Select(async x =>
            {
                await gate.WaitAsync();
                try
                {
                    outcomes.Add(await RunCellAsync(x.Case, x.Member, x.Item3.Gateway, x.Item3.Other));
                }
                finally
                {
                    gate.Release();
                }
            }));
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= onUnobserved;
            AppDomain.CurrentDomain.UnhandledException -= onUnhandled;
        }

        string table = Table(outcomes.ToList(), total.Elapsed);
        TestContext.Out.WriteLine(table);
        string dir = Path.Combine(TestPaths.RepoRoot, "artifacts", "hostile");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "pmp-table.txt"), table);

        var failures = outcomes.Where(o => o.Failure is not null).Select(o => $"{o.Case} × {o.Member}: {o.Failure}").Concat(unobserved).ToList();
        Assert.That(failures, Is.Empty, "cells outside their bound or expectation:\n" + string.Join("\n", failures));
    }

    /// <summary>
    /// The async members against a silent server with a token cancelled after 300 ms: each ends with
    /// <see cref="OperationCanceledException"/> within 300 ms + the slack. The NATPMP port has no token (Python's has
    /// none): disposing it from another thread after 300 ms ends its call with <see cref="ObjectDisposedException"/>.
    /// </summary>
    [Test]
    public async Task EveryAsyncMemberHonoursItsTokenAndThePortItsDispose()
    {
        var silent = PmpCorpus.All.Single(c => c.Name == "silent");
        var members = PmpMembers.All.Where(m => m.Family is 'P' or 'N' or 'F').ToList();
        var delay = TimeSpan.FromMilliseconds(300);
        var outcomes = await Task.WhenAll(members.Select((m, i) =>
        {
            var (gateway, other) = Addresses(250, i + 1);
            return RunCellAsync(silent, m, gateway, other, cancelAfter: delay);
        }));
        var sb = new StringBuilder("Cancellation (async) or Dispose (port) after 300 ms, silent server:\n");
        foreach (var o in outcomes.OrderBy(o => o.Member, StringComparer.Ordinal))
        {
            sb.AppendLine($"{o.Member,-28} {o.Result,-10} {o.Elapsed.TotalMilliseconds,6:0} ms (bound {o.Bound.TotalMilliseconds:0})"
                          + (o.Failure is null ? "" : "  FAIL: " + o.Failure));
        }
        TestContext.Out.WriteLine(sb);
        Assert.That(outcomes, Has.Length.EqualTo(6));
        Assert.That(outcomes.Where(o => o.Failure is not null).Select(o => $"{o.Member}: {o.Failure}"), Is.Empty, sb.ToString());
    }

    private static async Task<Outcome> RunCellAsync(PmpCase c, PmpMember m, IPAddress gateway, IPAddress other, TimeSpan? cancelAfter = null)
    {
        using var server = new PmpServer(c, gateway, other);
        using var cancel = new CancellationTokenSource();
        var cell = new PmpCell(gateway, c) { Token = cancel.Token };
        string expected = cancelAfter is null ? c.Expect(m) : m.Async ? "canceled" : "disposed";
        var bound = cancelAfter is { } after ? after + PmpMembers.Slack : m.Bound(c);
        var watch = Stopwatch.StartNew();
        Task<object?> run;
        try
        {
            run = m.Run(cell);
        }
        catch (Exception e)
        {
            run = Task.FromException<object?>(e);
        }
        Task? disposer = null;
        if (cancelAfter is { } delay)
        {
            if (m.Async)
            {
                cancel.CancelAfter(delay);
            }
            else
            {
                disposer = Task.Run(async () =>
                {
                    await Task.Delay(delay);
                    for (int i = 0; i < 100 && cell.Port is null; i++)
                    {
                        await Task.Delay(10);
                    }
                    cell.Port?.Dispose();
                });
            }
        }
        string result;
        string? failure = null;
        try
        {
            // The watchdog only keeps a hang from stopping the table: anything past the bound fails anyway.
            result = PmpMembers.Describe(await run.WaitAsync(bound + TimeSpan.FromSeconds(20)));
        }
        catch (TimeoutException) when (!run.IsCompleted)
        {
            result = "HANG";
            failure = $"still running {watch.Elapsed.TotalSeconds:0.0} s after the start";
            _ = run.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        }
        catch (Exception e)
        {
            result = PmpMembers.Describe(e);
        }
        var elapsed = watch.Elapsed;
        if (disposer is not null)
        {
            await disposer;
        }
        if (failure is null && elapsed > bound)
        {
            failure = $"took {elapsed.TotalSeconds:0.00} s, bound {bound.TotalSeconds:0.00} s";
        }
        if (failure is null && result != expected)
        {
            failure = $"ended with \"{result}\", expected \"{expected}\"";
        }
        if (failure is null && !server.Errors.IsEmpty)
        {
            failure = "the server failed: " + string.Join("; ", server.Errors);
        }
        return new Outcome(c.Name, m.Name, result, expected, elapsed, bound, server.Received, failure);
    }

    private static string Table(List<Outcome> outcomes, TimeSpan total)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Hostile NAT-PMP / PCP server: {PmpCorpus.All.Count} cases, {PmpMembers.All.Count} members, {outcomes.Count} cells, {total.TotalSeconds:0.0} s");
        sb.AppendLine($"{"case",-22} {"member",-28} {"outcome",-28} {"requests",8} {"ms",7} {"bound",7}");
        foreach (var o in outcomes.OrderBy(o => o.Case, StringComparer.Ordinal).ThenBy(o => o.Member, StringComparer.Ordinal))
        {
            sb.AppendLine($"{o.Case,-22} {o.Member,-28} {o.Result,-28} {o.Requests,8} {o.Elapsed.TotalMilliseconds,7:0} {o.Bound.TotalMilliseconds,7:0}"
                          + (o.Failure is null ? "" : "  FAIL: " + o.Failure));
        }
        sb.AppendLine();
        sb.AppendLine("Per member: cells, outcomes, max time vs bound");
        foreach (var g in outcomes.GroupBy(o => o.Member).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var worst = g.MaxBy(o => o.Elapsed)!;
            string kinds = string.Join(", ", g.GroupBy(o => o.Result.Split(' ')[0]).Select(k => $"{k.Key} {k.Count()}"));
            sb.AppendLine($"{g.Key,-28} {g.Count(),4} cells  max {worst.Elapsed.TotalMilliseconds,7:0} ms ({worst.Case}) of {worst.Bound.TotalMilliseconds,7:0} ms  [{kinds}]");
        }
        sb.AppendLine($"failures: {outcomes.Count(o => o.Failure is not null)}");
        return sb.ToString();
    }
}
