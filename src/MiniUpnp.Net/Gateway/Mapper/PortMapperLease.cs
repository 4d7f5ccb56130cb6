using System;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace MiniUpnp.Net;

/// <summary>
/// A port mapping kept through a <see cref="PortMapper"/>, by PCP, NAT-PMP or UPnP, until disposed: "keep port 6881
/// open, tell me my public endpoint, clean up when I stop".
/// </summary>
/// <remarks>
/// <para>PCP and NAT-PMP: the mapping is renewed at half its lifetime, and at least every
/// <see cref="GatewayLeaseOptions.CheckInterval"/>; each renewal is also the read-back (a router that lost the mapping
/// creates it again and says so with its epoch: <see cref="Lost"/> then <see cref="Restored"/>), and brings the external
/// address (<see cref="Changed"/> when the endpoint differs). A refusal or a router that stops answering until the
/// lifetime ends raises <see cref="Lost"/>, and the lease asks again (with a doubling delay) until it is back.
/// UPnP: a <see cref="PortMappingLease"/> does the same, and its events are this lease's.</para>
/// <para>When the protocol in use keeps failing for <see cref="PortMapperOptions.FailoverAfter"/>, the lease races the
/// protocols again and moves to the one that answers (<see cref="Moved"/>; the old mapping is removed if the router
/// still takes requests). Events are raised one at a time, on thread-pool threads; an exception thrown by a handler is
/// caught and logged; none is raised once <see cref="DisposeAsync"/> has begun. A handler may start
/// <see cref="DisposeAsync"/> but must not wait for it synchronously: the lease's loop waits for the handler.
/// <see cref="DisposeAsync"/> removes the mapping, within <see cref="GatewayLeaseOptions.DisposeTimeout"/>.</para>
/// </remarks>
public sealed class PortMapperLease : IPortMappingLease
{
    private readonly object _gate = new();
    private readonly object _raising = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly PortMappingLeaseOptions _options;
    private PortMapper _mapper;
    private MappingBackend _backend = null!;
    private Task _loop = Task.CompletedTask;
    private Task? _disposal;
    private volatile bool _disposing;
    private volatile GatewayLeaseStatus _status = GatewayLeaseStatus.Active;
    private volatile IPEndPoint? _endPoint;
    private volatile Exception? _lastError;
    private TimeSpan _granted;
    private long _grantedUntil = long.MaxValue;
    private int _consecutiveFailures, _renewals, _restorations, _moves;

    private PortMapperLease(PortMapper mapper, PortMappingLeaseOptions options)
    {
        _mapper = mapper;
        _options = options;
    }

    /// <summary>Raised when the external endpoint changes: another port after a loss or a move, or a new external address.</summary>
    public event EventHandler<GatewayLeaseEventArgs>? Changed;

    /// <summary>Raised when the mapping is found gone (the router restarted, refused the renewal) or the router stops
    /// answering; the lease then restores it.</summary>
    public event EventHandler<GatewayLeaseEventArgs>? Lost;

    /// <summary>Raised when a lost mapping is back.</summary>
    public event EventHandler<GatewayLeaseEventArgs>? Restored;

    /// <summary>Raised when the lease moved to another protocol (the reason names both).</summary>
    public event EventHandler<GatewayLeaseEventArgs>? Moved;

    /// <summary>The protocol the mapping is held by now.</summary>
    public PortMappingMethod Method => Volatile.Read(ref _backend).Method;

    /// <summary>Where the lease stands.</summary>
    public GatewayLeaseStatus Status => _status;

    /// <summary>TCP or UDP.</summary>
    public PortMappingProtocol Protocol => _options.Protocol;

    /// <summary>The local port made reachable.</summary>
    public int InternalPort => _options.InternalPort;

    /// <summary>The external port the router gave.</summary>
    public int ExternalPort => _endPoint?.Port ?? 0;

    /// <summary>Where peers on the Internet reach the service (address 0.0.0.0 when the router would not say it).</summary>
    public IPEndPoint? ExternalEndPoint => _endPoint;

    /// <summary>The lease asked for (<see cref="GatewayLeaseOptions.LeaseDuration"/>).</summary>
    internal TimeSpan RequestedLease => _options.LeaseDuration;

    /// <summary>The lifetime the router granted (for UPnP, the lease; <see cref="TimeSpan.Zero"/> for a permanent one).</summary>
    public TimeSpan GrantedLease
    {
        get
        {
            lock (_gate)
            {
                return _granted;
            }
        }
    }

    /// <summary>The last failure (a renewal, restore, move or the final removal), or null.</summary>
    public Exception? LastError => _lastError;

    /// <summary>How many renewals (PCP, NAT-PMP) have failed in a row (0 after a success).</summary>
    public int ConsecutiveFailures => Volatile.Read(ref _consecutiveFailures);

    /// <summary>How many renewals (PCP, NAT-PMP) have succeeded.</summary>
    public int RenewalCount => Volatile.Read(ref _renewals);

    /// <summary>How many times a lost mapping was restored (PCP, NAT-PMP, or after a move).</summary>
    public int RestoreCount => Volatile.Read(ref _restorations);

    /// <summary>How many times the lease moved to another protocol.</summary>
    public int MoveCount => Volatile.Read(ref _moves);

    /// <summary>The mapper in use (a fresh one after a move).</summary>
    public PortMapper Mapper => Volatile.Read(ref _mapper);

    private ILogger Log => Mapper.Options.Log;

    private int WantedPort => _endPoint?.Port is int port and > 0 ? port : _options.ExternalPort == 0 ? _options.InternalPort : _options.ExternalPort;

    internal static async Task<PortMapperLease> StartAsync(PortMapper mapper, PortMappingLeaseOptions options, CancellationToken cancellationToken)
    {
        var lease = new PortMapperLease(mapper, options);
        await lease.StartAsync(cancellationToken).ConfigureAwait(false);
        return lease;
    }

    /// <summary>Whether the mapping is for another LAN host: PCP and NAT-PMP map the sender's own ports only.</summary>
    private bool ForAnotherHost => _options.InternalClient is { } client && !IsThisHost(client);

    /// <summary>An address is this host's when a socket can be bound to it.</summary>
    private static bool IsThisHost(IPAddress address)
    {
        try
        {
            using var probe = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            probe.Bind(new IPEndPoint(address, 0));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The protocol chosen first, then the others that answered the race: the first to map the port wins.</summary>
    private async Task StartAsync(CancellationToken cancellationToken)
    {
        var mapper = Mapper;
        var methods = new[] { mapper.Method }.Concat(mapper.Report.Answered).Distinct().ToList();
        if (ForAnotherHost)
        {
            var client = _options.InternalClient!;
            // PCP and NAT-PMP map the sender's own ports; another LAN host is UPnP's alone.
            methods.RemoveAll(m => m != PortMappingMethod.Upnp);
            if (methods.Count == 0)
            {
                throw new ArgumentException(
                    $"A mapping for another host ({client}) needs UPnP, and the router answered {PortMapperReport.Name(mapper.Method)} only.",
                    nameof(PortMappingLeaseOptions.InternalClient));
            }
        }
        Exception? first = null;
        foreach (var method in methods)
        {
            var backend = MappingBackend.Create(mapper, method, _options, this);
            try
            {
                var held = await backend.MapAsync(WantedPort, cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _backend, backend);
                Hold(held);
                Log.LogInformation("Port mapper lease {EndPoint}: mapped through {Method}, {Lifetime} s", held.EndPoint,
                    PortMapperReport.Name(method), (long)held.Lifetime.TotalSeconds);
                _loop = RunAsync(_stop.Token);
                return;
            }
            catch (Exception e) when (PortMapperRace.IsRouterFailure(e) && !cancellationToken.IsCancellationRequested)
            {
                first ??= e;
                Log.LogInformation("Port mapper lease: {Method} did not map the port: {Error}", PortMapperReport.Name(method), e.Message);
                _ = ReleaseQuietlyAsync(backend); // a late answer may have created it
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                _ = ReleaseQuietlyAsync(backend); // the caller gave up: an answer on its way may still create it
                _status = GatewayLeaseStatus.Disposed;
                throw;
            }
        }
        _status = GatewayLeaseStatus.Disposed;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first!);
    }

    // ------------------------------------------------------------------ the loop

    private static long Now => Environment.TickCount64;

    /// <summary>Renew and read back, restore, move; until disposed. Never throws.</summary>
    private async Task RunAsync(CancellationToken stop)
    {
        await Task.Yield(); // off the creator's thread
        long? failingSince = null;
        var wait = _backend.RefreshInterval(GrantedLease);
        try
        {
            while (true)
            {
                await Task.Delay(wait, stop).ConfigureAwait(false);
                var backend = _backend;
                bool wasLost = _status == GatewayLeaseStatus.Lost;
                try
                {
                    var previous = _endPoint;
                    // After a refusal the mapping is not ours to renew: ask anew (PCP: a new nonce).
                    var held = wasLost && backend.Method != PortMappingMethod.Upnp
                        ? await backend.MapAsync(WantedPort, stop).ConfigureAwait(false)
                        : await backend.RefreshAsync(stop).ConfigureAwait(false);
                    failingSince = null;
                    Volatile.Write(ref _consecutiveFailures, 0);
                    Hold(held);
                    if (backend.Method != PortMappingMethod.Upnp)
                    {
                        Interlocked.Increment(ref _renewals);
                        if (held.StateLost && !wasLost)
                        {
                            Raise(Lost, nameof(Lost), new($"the router lost its mappings (its epoch went back): the renewal created it again",
                                held.EndPoint, previous, null));
                        }
                        if (wasLost || held.StateLost)
                        {
                            Restore(held.EndPoint, previous, $"restored through {PortMapperReport.Name(backend.Method)} at {held.EndPoint}");
                        }
                    }
                    if (!Equals(previous, held.EndPoint) && previous is not null)
                    {
                        Raise(Changed, nameof(Changed), new($"the external endpoint changed from {previous} to {held.EndPoint}", held.EndPoint, previous, null));
                    }
                    wait = backend.RefreshInterval(GrantedLease);
                }
                catch (Exception e) when (PortMapperRace.IsRouterFailure(e) && !stop.IsCancellationRequested)
                {
                    _lastError = e;
                    int failures = Interlocked.Increment(ref _consecutiveFailures);
                    failingSince ??= Now;
                    if (backend.Method != PortMappingMethod.Upnp && (e is PcpException or NatpmpException || Now >= GrantedUntil))
                    {
                        MarkLost(e is PcpException or NatpmpException ? $"the renewal was refused: {e.Message}"
                            : $"the lifetime ran out while the router did not answer: {e.Message}", e);
                    }
                    if (Now - failingSince >= (long)Mapper.Options.FailoverAfter.TotalMilliseconds && await TryMoveAsync(e, stop).ConfigureAwait(false))
                    {
                        failingSince = null;
                        wait = _backend.RefreshInterval(GrantedLease);
                        continue;
                    }
                    wait = RetryDelay(failures);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Disposed.
        }
        catch (Exception e)
        {
            // A bug, not a router failure: record it; DisposeAsync still removes the mapping.
            _lastError = e;
            Log.LogError(e, "Port mapper lease: the loop ended");
        }
    }

    /// <summary>The protocol in use kept failing: race again, and take the mapping to a protocol that answers.</summary>
    private async Task<bool> TryMoveAsync(Exception why, CancellationToken stop)
    {
        var old = _backend;
        try
        {
            var fresh = await Mapper.RediscoverAsync(stop).ConfigureAwait(false);
            if (fresh.Method == old.Method && fresh.Gateway.Equals(Mapper.Gateway))
            {
                return false; // it answers the race: keep asking it
            }
            if (ForAnotherHost && fresh.Method != PortMappingMethod.Upnp)
            {
                return false; // PCP or NAT-PMP would map this host's port, not the other host's
            }
            var backend = MappingBackend.Create(fresh, fresh.Method, _options, this);
            var previous = _endPoint;
            HeldMapping held;
            try
            {
                held = await backend.MapAsync(WantedPort, stop).ConfigureAwait(false);
            }
            catch
            {
                _ = ReleaseQuietlyAsync(backend); // a late answer may have created it
                throw;
            }
            Volatile.Write(ref _mapper, fresh);
            Volatile.Write(ref _backend, backend);
            Volatile.Write(ref _consecutiveFailures, 0);
            Hold(held);
            Interlocked.Increment(ref _moves);
            _ = ReleaseQuietlyAsync(old);
            MarkLost($"{PortMapperReport.Name(old.Method)} stopped answering: {why.Message}", why);
            Raise(Moved, nameof(Moved), new($"moved from {PortMapperReport.Name(old.Method)} to {PortMapperReport.Name(backend.Method)} "
                + $"({fresh.Report.Reason})", held.EndPoint, previous, why));
            Restore(held.EndPoint, previous, $"restored through {PortMapperReport.Name(backend.Method)} at {held.EndPoint}");
            if (!Equals(previous, held.EndPoint))
            {
                Raise(Changed, nameof(Changed), new($"the external endpoint changed from {previous} to {held.EndPoint}", held.EndPoint, previous, null));
            }
            return true;
        }
        catch (Exception e) when ((PortMapperRace.IsRouterFailure(e) || e is PortMapperException) && !stop.IsCancellationRequested)
        {
            Log.LogInformation("Port mapper lease: no other protocol took the mapping: {Error}", e.Message);
            return false;
        }
    }

    private long GrantedUntil
    {
        get
        {
            lock (_gate)
            {
                return _grantedUntil;
            }
        }
    }

    private TimeSpan RetryDelay(int failures)
    {
        double ms = _options.RetryDelay.TotalMilliseconds * Math.Pow(2, Math.Clamp(failures, 1, 30) - 1);
        return TimeSpan.FromMilliseconds(Math.Min(ms, _options.MaxRetryDelay.TotalMilliseconds));
    }

    private void Hold(HeldMapping held)
    {
        _endPoint = held.EndPoint;
        lock (_gate)
        {
            _granted = held.Lifetime;
            _grantedUntil = held.Lifetime == TimeSpan.Zero ? long.MaxValue : Now + (long)held.Lifetime.TotalMilliseconds;
        }
    }

    private void MarkLost(string reason, Exception? error)
    {
        if (_status != GatewayLeaseStatus.Active)
        {
            return;
        }
        _status = GatewayLeaseStatus.Lost;
        Raise(Lost, nameof(Lost), new(reason, _endPoint, _endPoint, error));
    }

    private void Restore(IPEndPoint endPoint, IPEndPoint? previous, string reason)
    {
        _status = GatewayLeaseStatus.Active;
        Interlocked.Increment(ref _restorations);
        Raise(Restored, nameof(Restored), new(reason, endPoint, previous, null));
    }

    /// <summary>An event of the UPnP lease in use, raised as this lease's own (and its state followed).</summary>
    internal void Forward(MappingBackend from, string name, GatewayLeaseEventArgs args)
    {
        if (!ReferenceEquals(from, Volatile.Read(ref _backend)) || _status == GatewayLeaseStatus.Disposed)
        {
            return; // a backend left behind by a move, or a start that is not over
        }
        switch (name)
        {
            case nameof(Lost):
                _status = GatewayLeaseStatus.Lost;
                Raise(Lost, name, args);
                break;
            case nameof(Restored):
                _status = GatewayLeaseStatus.Active;
                Interlocked.Increment(ref _restorations);
                _endPoint = args.EndPoint ?? _endPoint;
                Raise(Restored, name, args);
                break;
            default:
                _endPoint = args.EndPoint ?? _endPoint;
                Raise(Changed, name, args);
                break;
        }
    }

    private void Raise(EventHandler<GatewayLeaseEventArgs>? handlers, string name, GatewayLeaseEventArgs args)
    {
        if (name is nameof(Lost))
        {
            Log.LogWarning(args.Error, "Port mapper lease {EndPoint}: {Event}: {Reason}", args.PreviousEndPoint, name, args.Reason);
        }
        else
        {
            Log.LogInformation("Port mapper lease {EndPoint}: {Event}: {Reason}", args.EndPoint, name, args.Reason);
        }
        if (handlers is null)
        {
            return;
        }
        // One at a time: this lease's loop and a UPnP lease's loop may both have something to say.
        lock (_raising)
        {
            if (_disposing)
            {
                return; // nothing is raised once DisposeAsync has begun
            }
            foreach (EventHandler<GatewayLeaseEventArgs> handler in handlers.GetInvocationList())
            {
                try
                {
                    handler(this, args);
                }
                catch (Exception e)
                {
                    Log.LogWarning(e, "Port mapper lease: a handler of {Event} threw", name);
                }
            }
        }
    }

    private async Task ReleaseQuietlyAsync(MappingBackend backend)
    {
        try
        {
            using var bound = new CancellationTokenSource(_options.DisposeTimeout);
            await backend.ReleaseAsync(bound.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.LogDebug("Port mapper lease: removing the {Method} mapping failed: {Error}", PortMapperReport.Name(backend.Method), e.Message);
        }
    }

    // ------------------------------------------------------------------ dispose

    /// <summary>Stops the loop and removes the mapping from the router, within
    /// <see cref="GatewayLeaseOptions.DisposeTimeout"/>. Never throws: a failure is recorded in <see cref="LastError"/>.
    /// Calling it again returns the same task.</summary>
    /// <returns>A task that completes when the mapping is removed or the removal has failed.</returns>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposing = true;
            _disposal ??= DisposeCoreAsync();
        }
        return new ValueTask(_disposal);
    }

    private async Task DisposeCoreAsync()
    {
        try
        {
            _stop.Cancel();
            await _loop.ConfigureAwait(false);
            lock (_raising)
            {
                // A handler running now (a UPnP lease's event, forwarded) has finished; later ones are dropped.
            }
            using var bound = new CancellationTokenSource(_options.DisposeTimeout);
            await _backend.ReleaseAsync(bound.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _lastError = e;
        }
        finally
        {
            _status = GatewayLeaseStatus.Disposed;
            _stop.Dispose();
        }
    }
}
