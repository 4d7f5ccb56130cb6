using System;

namespace MiniUpnp.Net;

/// <summary>
/// The client's check of a PCP server's epoch (RFC 6887 §8.5): an epoch that goes back by more than one second, or that
/// advances more slowly or faster than the client's own clock allows (the RFC's slack: 2 s plus 1/16 of the interval),
/// means the server restarted or lost its state, and every mapping must be created again. Thread-safe.
/// </summary>
internal sealed class PcpEpoch
{
    private readonly object _gate = new();
    private bool _seen;
    private uint _previousServer;
    private TimeSpan _previousClient;

    /// <summary>The last epoch seen, or null before the first response.</summary>
    internal uint? Last
    {
        get
        {
            lock (_gate)
            {
                return _seen ? _previousServer : null;
            }
        }
    }

    /// <summary>Records a response's epoch, received at <paramref name="clientTime"/> (a monotonic clock); returns true
    /// when it shows that the server lost its state since the previous response.</summary>
    internal bool Observe(uint serverEpoch, TimeSpan clientTime)
    {
        lock (_gate)
        {
            bool lost = _seen && IsInvalid(_previousServer, _previousClient, serverEpoch, clientTime);
            _seen = true;
            _previousServer = serverEpoch;
            _previousClient = clientTime;
            return lost;
        }
    }

    /// <summary>RFC 6887 §8.5's validation, as written there (seconds; integer division by 16 for the server's delta).</summary>
    internal static bool IsInvalid(uint previousServer, TimeSpan previousClient, uint currentServer, TimeSpan currentClient)
    {
        long serverDelta = (long)currentServer - previousServer;
        if (serverDelta < -1)
        {
            return true;
        }
        double clientDelta = Math.Max(0, (currentClient - previousClient).TotalSeconds);
        return clientDelta + 2 < serverDelta - serverDelta / 16 || serverDelta + 2 < clientDelta - clientDelta / 16;
    }
}
