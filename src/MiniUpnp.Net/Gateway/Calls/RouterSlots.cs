using System;
using System.Collections.Concurrent;
using System.Threading;

namespace MiniUpnp.Net;

/// <summary>
/// How many calls of this process may be at one router at a time, across every <see cref="UpnpGateway"/> and lease.
/// Home routers queue few connections (the lab's miniupnpd: 6; the kernel then drops a connection attempt and retries it
/// only after 1 s, then 3 s), and many serve one request at a time anyway: more parallel calls only make some of them
/// seconds slower or fail. Calls beyond the limit wait for a slot within their own timeout. A slot is held until the
/// native call ends, even one its caller abandoned, so a router that hangs holds at most this many threads.
/// </summary>
internal static class RouterSlots
{
    /// <summary>The most calls at one router (host and port) at a time.</summary>
    internal const int PerRouter = 4;

    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Slots = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The slots of the router that serves <paramref name="controlUrl"/>.</summary>
    internal static SemaphoreSlim For(Uri controlUrl) =>
        Slots.GetOrAdd(controlUrl.Authority, static _ => new SemaphoreSlim(PerRouter, PerRouter));
}
