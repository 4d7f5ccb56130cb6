using System;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;

namespace MiniUpnp.Net;

/// <summary>
/// A fresh process spends most of its first discovery or reopening compiling code and loading types, not waiting for
/// the router: the native library is loaded and checked, native-call threads started, and the answer parser, the
/// description fetch, URL checks, argument checks and the awaiting machinery of a native call run for the first time.
/// This does that work once per process on two native-call threads, started as soon as a discovery's first search is
/// out (or as an open begins), so that it is done while the router takes its time to answer (the lab's miniupnpd:
/// 50–80 ms) and the caller's own thread mostly waits. Best effort: it sends nothing and its failures are ignored (the
/// real path reports them).
/// </summary>
internal static class StartupWarmup
{
    private static int s_started;

    private static readonly byte[] SampleAnswer = Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\nLOCATION: http://192.0.2.1:5000/rootDesc.xml\r\nST: urn:x\r\nUSN: uuid:0::urn:x\r\nSERVER: x\r\n\r\n");

    private static readonly byte[] SampleHeader = Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=\"utf-8\"\r\nConnection: close\r\nContent-Length: 1");

    /// <summary>Starts the warm-up, the first time only: two halves, each on its own native-call thread (measured in the
    /// lab: one thread alone was still at it when the router's answer came).</summary>
    internal static void Start()
    {
        if (Interlocked.Exchange(ref s_started, 1) == 0)
        {
            NativeThreads.Run(static () => BestEffort(WarmAnswerPath));
            NativeThreads.Run(static () => BestEffort(WarmCallPath));
        }
    }

    private static void BestEffort(Action warm)
    {
        try
        {
            warm();
        }
        catch (Exception)
        {
            // Warming up is an optimisation only.
        }
    }

    /// <summary>What runs from an SSDP answer to a probe's first SOAP call.</summary>
    private static void WarmAnswerPath()
    {
        var answer = Ssdp.Parse(SampleAnswer);
        _ = Ssdp.DeviceUuid(answer?.UniqueServiceName);
        if (IgdProbe.IsHttpUrl(answer?.Location ?? string.Empty, out var location))
        {
            _ = IgdProbe.SameHost(location, location);
            _ = IPAddress.TryParse(location.IdnHost, out _);
            // What a probe checks in the parsed description.
            string url = location.AbsoluteUri;
            _ = IgdProbe.Validate(new IgdDescription(url, url, "x", url, "x", string.Empty, string.Empty, IPAddress.Loopback), false);
        }
        // The description fetch: its TCP socket (never connected here), the exception a non-blocking connect reports
        // "in progress" with (the first one thrown in a process costs milliseconds), and its header reader.
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            socket.Blocking = false;
            socket.Blocking = true;
            socket.SendTimeout = 1;
            socket.ReceiveTimeout = 1;
        }
        try
        {
            throw new SocketException((int)SocketError.WouldBlock);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
        }
        _ = DescriptionFetch.ReadHeader(SampleHeader, out _, out _);
        // The awaiting machinery of a SOAP call (an int, behind the router's slots); it runs right after this returns,
        // on this thread.
        _ = NativeCall.RunAsync(new SemaphoreSlim(1, 1), static () => 0, Timeout.InfiniteTimeSpan, CancellationToken.None);
    }

    /// <summary>What runs from a probe's parse to a port mapping's SOAP call.</summary>
    private static void WarmCallPath()
    {
        _ = Miniupnpc.strupnperror(Miniupnpc.UPNPCOMMAND_SUCCESS); // loads the native library, runs the ABI check
        using (new SafeUrlsHandle())
        {
        }
        _ = new IGDdatas();
        _ = ReservedAddresses.TryParseDottedQuad("192.0.2.1", out var external) && ReservedAddresses.IsReserved(external);
        // A port mapping's argument checks.
        Check.Protocol(PortMappingProtocol.Tcp, "protocol");
        Check.Port(1, "port");
        _ = Check.Lease(TimeSpan.FromHours(1), Check.MaxLease, allowZero: true, "lease");
        _ = Check.Description("MiniUpnp.Net", "description");
        Check.IPv4(IPAddress.Loopback, "client");
        _ = Check.Text(1) + Check.Text(IPAddress.Loopback) + PortMappingProtocol.Tcp.ToWire();
        // The awaiting machinery of a probe (a reference type); it runs right after this returns, on this thread.
        _ = NativeCall.RunAsync<object?>(static () => null, Timeout.InfiniteTimeSpan, CancellationToken.None);
    }
}
