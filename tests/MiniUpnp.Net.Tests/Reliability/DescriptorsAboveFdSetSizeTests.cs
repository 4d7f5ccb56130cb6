using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using System.Threading;
using Microsoft.Win32.SafeHandles;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Reliability;

/// <summary>
/// A .NET server process easily holds more than 1024 descriptors. miniupnpc 2.3.3 waits for a connect() that did
/// not complete at once (a signal interrupted it, or the router did not answer the SYN within 3 s) with
/// <c>select()</c> and <c>FD_SET(s, ...)</c>: with the socket numbered 1024 or more that writes past the fd_set on
/// the native stack. The shipped library carries upstream's c157807 (native/patches/), which waits with
/// <c>poll()</c> instead. This test puts miniwget exactly there, through the binding, on loopback only: it fills
/// the descriptor table past 1100, makes miniwget's connect() block (the listener's accept queue, backlog 0, is
/// full, so the kernel drops the SYN), checks in /proc that the thread is in connect() on a descriptor above 1024,
/// interrupts it with SIGWINCH (connect returns EINTR: the wait loop), checks the thread now waits in poll/select,
/// then lets the connection through and expects the document. About a second.
/// Without the patch the outcome is undefined (memory corruption: a crash, a failure or, silently, a success);
/// tests/native/fd_setsize.c is the deterministic reproducer, under AddressSanitizer.
/// </summary>
[NonParallelizable]
public partial class DescriptorsAboveFdSetSizeTests
{
    private const int FdSetSize = 1024;
    private const int TargetDescriptor = 1100;
    private const int RlimitNofile = 7;   // Linux, every architecture
    private const int Sigwinch = 28;      // Linux, every architecture
    private const string Document = "<?xml version=\"1.0\"?><root><device>descriptors above FD_SETSIZE</device></root>";

    // Linux only: descriptor numbers, /proc/self/task/<tid>/syscall and tgkill. Elsewhere NUnit reports it as skipped
    // with this reason, never as passed.
    [Test]
    [Platform("Linux", Reason = "descriptor numbers, /proc/self/task/<tid>/syscall and tgkill are Linux's")]
    [SupportedOSPlatform("linux")]
    public void MiniwgetWorksWithItsSocketNumberedAboveFdSetSize()
    {
        Run();
    }

    // The system call numbers of the blocking calls the test watches for, per architecture.
    private static (long Connect, long[] Waits)? Syscalls => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => (42, new long[] { 7, 271, 23, 270 }),   // poll, ppoll, select, pselect6
        Architecture.Arm64 => (203, new long[] { 73, 72 }),         // ppoll, pselect6
        _ => null,
    };

    [SupportedOSPlatform("linux")]
    private static void Run()
    {
        if (Syscalls is not { } sys)
        {
            Assert.Fail($"no system call table for {RuntimeInformation.ProcessArchitecture}: add it to Syscalls");
            return;
        }
        EnsureDescriptorLimit();
        // A handler, so that the signal interrupts connect() instead of being ignored (SIGWINCH's default action).
        using var winch = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, context => context.Cancel = true);
        var handles = new List<SafeFileHandle>();
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Thread? client = null;
        try
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(0);
            int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
            filler.Connect(IPAddress.Loopback, port);   // the accept queue's one place: the next SYN is dropped

            // Every descriptor below TargetDescriptor in use (finalizers first, so none is freed meanwhile).
            GC.Collect();
            GC.WaitForPendingFinalizers();
            int last = -1;
            for (int i = 0; i < TargetDescriptor + 200 && last < TargetDescriptor; i++)
            {
                var h = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read);
                handles.Add(h);
                last = (int)h.DangerousGetHandle();
            }
            Assert.That(last, Is.GreaterThanOrEqualTo(TargetDescriptor), "could not fill the descriptor table");

            int tid = 0, status = 0, size = 0;
            byte[]? body = null;
            Exception? failure = null;
            string url = $"http://127.0.0.1:{port}/rootDesc.xml";
            client = new Thread(() =>
            {
                try
                {
                    Volatile.Write(ref tid, gettid());
                    using var b = Miniupnpc.miniwget(url, out size, 0, out status);
                    body = b.IsInvalid ? null : b.ToArray();
                }
                catch (Exception e)
                {
                    failure = e;
                }
            }) { IsBackground = true, Name = "miniwget above FD_SETSIZE" };
            client.Start();

            // miniwget blocked in connect(), on a descriptor above FD_SETSIZE
            long socket = WaitForSyscall(() => Volatile.Read(ref tid), nr => nr == sys.Connect, TimeSpan.FromSeconds(5), out string seen);
            Assert.That(socket, Is.GreaterThanOrEqualTo(0), $"miniwget never blocked in connect() (last seen: {seen})");
            Assert.That(socket, Is.GreaterThanOrEqualTo(FdSetSize), "miniwget's socket is below FD_SETSIZE: the test would prove nothing");
            TestContext.Progress.WriteLine($"miniwget blocked in connect() on descriptor {socket}; interrupting it");

            // interrupted: it now waits for the connection in miniupnpc's loop (poll with c157807, select in 2.3.3)
            Assert.That(tgkill(Environment.ProcessId, tid, Sigwinch), Is.Zero, "tgkill");
            long waiting = WaitForSyscall(() => tid, nr => Array.IndexOf(sys.Waits, nr) >= 0, TimeSpan.FromSeconds(3), out seen);
            Assert.That(waiting, Is.GreaterThanOrEqualTo(0),
                $"miniwget did not wait for its connection in poll()/select() (last seen in /proc: {seen}; " +
                $"miniwget {(client.IsAlive ? "still running" : $"returned status {status}")})");

            // empty the accept queue (the SYN is retransmitted after a second), then serve the request
            if (listener.Poll(TimeSpan.FromSeconds(2), SelectMode.SelectRead))
            {
                listener.Accept().Dispose();
            }
            filler.Close();
            Serve(listener, TimeSpan.FromSeconds(10));

            Assert.That(client.Join(TimeSpan.FromSeconds(15)), Is.True, "miniwget did not return");
            Assert.That(failure, Is.Null);
            Assert.That((status, size), Is.EqualTo((200, Encoding.UTF8.GetByteCount(Document))));
            Assert.That(Encoding.UTF8.GetString(body!), Is.EqualTo(Document));
        }
        finally
        {
            listener.Close();   // a client still connecting gives up: miniwget returns
            client?.Join(TimeSpan.FromSeconds(10));
            foreach (var h in handles)
            {
                h.Dispose();
            }
        }
    }

    /// <summary>
    /// Polls /proc/self/task/TID/syscall until the thread is blocked in a matching call; its first argument, or -1
    /// (<paramref name="seen"/>: the last line read, for the failure message).
    /// </summary>
    [SupportedOSPlatform("linux")]
    private static long WaitForSyscall(Func<int> tid, Func<long, bool> match, TimeSpan timeout, out string seen)
    {
        seen = "nothing";
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            int t = tid();
            if (t != 0)
            {
                string line;
                try
                {
                    line = File.ReadAllText($"/proc/self/task/{t}/syscall");
                }
                catch (IOException)
                {
                    seen = "the thread had ended";
                    return -1;
                }
                seen = line.Trim();
                string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length >= 2 && long.TryParse(fields[0], out long nr) && match(nr))
                {
                    return Convert.ToInt64(fields[1], 16);
                }
            }
            Thread.Sleep(10);
        }
        return -1;
    }

    /// <summary>Accepts one connection, reads the request head (bounded), answers with <see cref="Document"/>.</summary>
    private static void Serve(Socket listener, TimeSpan timeout)
    {
        Assert.That(listener.Poll(timeout, SelectMode.SelectRead), Is.True, "miniwget did not connect");
        using var connection = listener.Accept();
        connection.ReceiveTimeout = (int)timeout.TotalMilliseconds;
        var request = new byte[4096];
        int used = 0;
        while (used < request.Length)
        {
            int n = connection.Receive(request, used, request.Length - used, SocketFlags.None);
            if (n <= 0)
            {
                break;
            }
            used += n;
            if (Encoding.ASCII.GetString(request, 0, used).Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                break;
            }
        }
        byte[] content = Encoding.UTF8.GetBytes(Document);
        connection.Send(Encoding.ASCII.GetBytes(
            $"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {content.Length}\r\nConnection: close\r\n\r\n"));
        connection.Send(content);
        connection.Shutdown(SocketShutdown.Both);
    }

    /// <summary>The runtime raises the soft limit to the hard one at start-up; if it is still too low, try once more.</summary>
    private static void EnsureDescriptorLimit()
    {
        if (getrlimit(RlimitNofile, out var limit) != 0)
        {
            Assert.Fail("getrlimit(RLIMIT_NOFILE) failed");
        }
        if (limit.Current >= TargetDescriptor + 300)
        {
            return;
        }
        var raised = new RLimit { Current = Math.Min(limit.Maximum, 4096UL), Maximum = limit.Maximum };
        if (raised.Current < TargetDescriptor + 300 || setrlimit(RlimitNofile, in raised) != 0)
        {
            Assert.Fail($"RLIMIT_NOFILE cannot be raised above {TargetDescriptor + 300} (hard limit {limit.Maximum})");
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc.so.6")]
    private static partial int gettid();

    [LibraryImport("libc.so.6")]
    private static partial int tgkill(int tgid, int tid, int sig);

    [LibraryImport("libc.so.6")]
    private static partial int getrlimit(int resource, out RLimit limit);

    [LibraryImport("libc.so.6")]
    private static partial int setrlimit(int resource, in RLimit limit);
}
