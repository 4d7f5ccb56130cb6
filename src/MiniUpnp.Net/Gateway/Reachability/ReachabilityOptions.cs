using System;
using System.Collections.Generic;
using System.Net;
using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net;

/// <summary>How <see cref="ReachabilityCheck"/> gathers its evidence.</summary>
public sealed record ReachabilityOptions
{
    /// <summary>STUN servers (RFC 8489) to ask what address the Internet sees, in order until one answers. Empty (the
    /// default): STUN is not asked. The library never picks a server: applications name their own (their own
    /// server, or a public one they choose).</summary>
    public IReadOnlyList<IPEndPoint> StunServers { get; init; } = Array.Empty<IPEndPoint>();

    /// <summary>The end-to-end check, when the application has one: given the mapping's external endpoint, make
    /// something outside connect to it (the application's server, a peer) and return whether the connection arrived.
    /// Without it no verdict is <see cref="ReachabilityVerdict.Reachable"/>: reachability is never claimed without
    /// evidence.</summary>
    public Func<IPEndPoint, CancellationToken, Task<bool>>? Verify { get; init; }

    /// <summary>The bound of each step (the external address, each STUN server, the read-back, the verification).
    /// Default 5 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    internal void Validate()
    {
        if (StunServers is null)
        {
            throw new ArgumentNullException(nameof(StunServers));
        }
        foreach (var server in StunServers)
        {
            if (server is null || server.Port == 0 || !StunClient.IsUnicast(server.Address))
            {
                throw new ArgumentException("Every STUN server needs a unicast address and a port.", nameof(StunServers));
            }
        }
        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "Timeout must be positive and at most 5 minutes.");
        }
    }
}
