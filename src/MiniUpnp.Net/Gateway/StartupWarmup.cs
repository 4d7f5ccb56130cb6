using System;
using System.Net;
using System.Text;
using System.Threading;

namespace MiniUpnp.Net;

/// <summary>
/// The first discovery of a process waits some 50 ms for the router's first SSDP answer with nothing to do; then, in a
/// fresh process, everything after that answer runs for the first time: the native library is loaded and checked, a
/// native-call thread started, the answer parser, URL checks and handle types compiled. This does that work on a
/// native-call thread while the search waits, once per process, so that the answer is acted on at once. Best effort:
/// it touches no network and its failures are ignored (the real path reports them).
/// </summary>
internal static class StartupWarmup
{
    private static int s_started;

    private static readonly byte[] SampleAnswer = Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\nLOCATION: http://192.0.2.1:5000/rootDesc.xml\r\nST: urn:x\r\nUSN: uuid:0::urn:x\r\nSERVER: x\r\n\r\n");

    /// <summary>Starts the warm-up on a native-call thread, the first time only.</summary>
    internal static void Start()
    {
        if (Interlocked.Exchange(ref s_started, 1) == 0)
        {
            NativeThreads.Run(Warm);
        }
    }

    private static void Warm()
    {
        try
        {
            _ = Miniupnpc.strupnperror(Miniupnpc.UPNPCOMMAND_SUCCESS); // loads the native library, runs the ABI check
            var answer = Ssdp.Parse(SampleAnswer);
            _ = Ssdp.DeviceUuid(answer?.UniqueServiceName);
            if (IgdProbe.IsHttpUrl(answer?.Location ?? string.Empty, out var location))
            {
                _ = IgdProbe.SameHost(location, location);
                _ = IPAddress.TryParse(location.IdnHost, out _);
            }
            using (new SafeUrlsHandle())
            {
            }
            _ = new IGDdatas();
            // The awaiting machinery of a native call (the probe's result is a reference type, as most are).
            _ = NativeCall.RunAsync<object?>(static () => null, Timeout.InfiniteTimeSpan, CancellationToken.None);
        }
        catch (Exception)
        {
            // Warming up is an optimisation only.
        }
    }
}
