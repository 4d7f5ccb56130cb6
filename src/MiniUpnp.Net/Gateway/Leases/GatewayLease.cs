using System;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;
using System.Runtime.CompilerServices;

using MiniUpnp.Net.Native;

namespace MiniUpnp.Net;

/// <summary>Where a lease stands.</summary>
public enum GatewayLeaseStatus
{
    /// <summary>The entry is on the router, as last renewed or checked.</summary>
    Active = 0,

    /// <summary>The entry was found missing, taken, or the router unreachable; the lease is restoring it.</summary>
    Lost = 1,

    /// <summary>The lease was disposed: its entry was removed (or the removal failed, see <see cref="GatewayLease.LastError"/>).</summary>
    Disposed = 2,
}

/// <summary>Data of a lease event.</summary>
public sealed class GatewayLeaseEventArgs : EventArgs
{
    internal GatewayLeaseEventArgs(string reason, IPEndPoint? endPoint, IPEndPoint? previousEndPoint, Exception? error)
    {
        Reason = reason;
        EndPoint = endPoint;
        PreviousEndPoint = previousEndPoint;
        Error = error;
    }

    /// <summary>What happened, in one line.</summary>
    public string Reason { get; }

    /// <summary>The lease's external endpoint after the event (null when unknown).</summary>
    public IPEndPoint? EndPoint { get; }

    /// <summary>The external endpoint before the event (null when unknown).</summary>
    public IPEndPoint? PreviousEndPoint { get; }

    /// <summary>The failure that revealed a loss, if there was one.</summary>
    public Exception? Error { get; }
}

/// <summary>
/// Something a lease keeps on the router (a port mapping, an IPv6 pinhole) until it is disposed: it renews the
/// entry at half its lease, reads it back every <see cref="GatewayLeaseOptions.CheckInterval"/>, notices a loss
/// (the entry gone or taken, the router unreachable or restarted, the external address changed), restores the
/// entry, and removes it on <see cref="DisposeAsync"/>.
/// </summary>
/// <remarks>
/// <para>One background loop per lease, asynchronous (no thread is blocked while it waits), started when the lease
/// is created. Nothing it does escapes to the thread pool: failures are recorded in <see cref="LastError"/> and
/// <see cref="ConsecutiveFailures"/>, and retried with a doubling delay (<see cref="GatewayLeaseOptions.RetryDelay"/>
/// up to <see cref="GatewayLeaseOptions.MaxRetryDelay"/>).</para>
/// <para>Events are raised on a thread-pool thread, one at a time, in order; an exception thrown by a
/// handler is caught and dropped (it would otherwise end the process). Keep handlers short.</para>
/// <para>To restore, the lease re-reads the router's description from <see cref="UpnpGateway.RootDescriptionUrl"/>
/// (the control URL may have changed with a restart) and asks again; <see cref="Gateway"/> is then the fresh one.</para>
/// </remarks>
public abstract class GatewayLease : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly InFlightCalls _calls = new();
    private readonly GatewayLeaseOptions _options;
    private UpnpGateway _gateway;
    private Task _loop = Task.CompletedTask;
    private Task? _disposal;
    private volatile GatewayLeaseStatus _status = GatewayLeaseStatus.Active;
    private volatile Exception? _lastError;
    private volatile IPEndPoint? _endPoint;
    private int _consecutiveFailures;
    private int _renewals;
    private int _restorations;
    private long _grantedUntil = long.MaxValue;
    private TimeSpan _granted;

    private protected GatewayLease(UpnpGateway gateway, GatewayLeaseOptions options)
    {
        _options = options;
        _gateway = gateway.WithCallTracking(_calls);
    }

    /// <summary>Raised when the external endpoint changes: another external port after a conflict or a restore, or a
    /// new external address.</summary>
    public event EventHandler<GatewayLeaseEventArgs>? Changed;

    /// <summary>Raised when the entry is found gone or taken, or the router unreachable (a restart); the lease then
    /// restores it.</summary>
    public event EventHandler<GatewayLeaseEventArgs>? Lost;

    /// <summary>Raised when a lost entry is back on the router.</summary>
    public event EventHandler<GatewayLeaseEventArgs>? Restored;

    /// <summary>The gateway the lease talks to (a fresh snapshot after a restore).</summary>
    public UpnpGateway Gateway => Volatile.Read(ref _gateway);

    /// <summary>Where the lease stands.</summary>
    public GatewayLeaseStatus Status => _status;

    /// <summary>Where peers on the Internet reach the service: the external address and port of a port mapping
    /// (address 0.0.0.0 when the router would not say it), the internal IPv6 address and port of a pinhole.</summary>
    public IPEndPoint? ExternalEndPoint => _endPoint;

    /// <summary>The lease the router granted (renewal runs at half of it); <see cref="TimeSpan.Zero"/> for a permanent entry.</summary>
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

    /// <summary>The last failure (a renewal, check, restore or the final removal), or null.</summary>
    public Exception? LastError => _lastError;

    /// <summary>How many renewals, checks or restores have failed in a row (0 after a success).</summary>
    public int ConsecutiveFailures => Volatile.Read(ref _consecutiveFailures);

    /// <summary>How many renewals have succeeded.</summary>
    public int RenewalCount => Volatile.Read(ref _renewals);

    /// <summary>How many times a lost entry was restored.</summary>
    public int RestoreCount => Volatile.Read(ref _restorations);

    // ------------------------------------------------------------------ what each kind of lease does

    /// <summary>Puts the entry on the router and reads it back; returns the external endpoint (null when unknown)
    /// and the lease granted. <paramref name="restoring"/>: after a loss (keep the previous port if possible).</summary>
    private protected abstract Task<(IPEndPoint? EndPoint, TimeSpan Granted)> AcquireAsync(UpnpGateway gateway, bool restoring,
        CancellationToken cancellationToken);

    /// <summary>Extends the entry's lease; returns the lease granted.</summary>
    private protected abstract Task<TimeSpan> RenewAsync(UpnpGateway gateway, CancellationToken cancellationToken);

    /// <summary>Reads the entry back: null when it is there and ours, else why not. May update the endpoint.</summary>
    private protected abstract Task<string?> VerifyAsync(UpnpGateway gateway, CancellationToken cancellationToken);

    /// <summary>Removes the entry, if it is still ours.</summary>
    private protected abstract Task ReleaseAsync(UpnpGateway gateway, CancellationToken cancellationToken);

    /// <summary>True when a renewal failure means the entry is no longer ours (gone or taken).</summary>
    private protected abstract bool MeansGone(UpnpException error);

    /// <summary>Records the external endpoint (a check that finds it changed raises <see cref="Changed"/>).</summary>
    private protected void SetEndPoint(IPEndPoint? endPoint) => _endPoint = endPoint;

    /// <summary>Work before the first acquire (the opt-in sweep); nothing by default.</summary>
    private protected virtual Task BeforeFirstAcquireAsync(UpnpGateway gateway, CancellationToken cancellationToken) => Task.CompletedTask;

    // ------------------------------------------------------------------ start

    /// <summary>Acquires the entry and starts the loop. On failure, whatever a cancelled or failed start may have left on
    /// the router is removed in the background, and the exception propagates.</summary>
    private protected async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await BeforeFirstAcquireAsync(Gateway, cancellationToken).ConfigureAwait(false);
            var (endPoint, granted) = await AcquireAsync(Gateway, restoring: false, cancellationToken).ConfigureAwait(false);
            _endPoint = endPoint;
            SetGranted(granted);
        }
        catch (Exception)
        {
            _status = GatewayLeaseStatus.Disposed;
            _ = CleanUpAfterFailedStartAsync();
            throw;
        }
        _loop = RunAsync(_stop.Token);
    }

    private async Task CleanUpAfterFailedStartAsync()
    {
        try
        {
            using var bound = new CancellationTokenSource(_options.DisposeTimeout);
            _stop.Cancel();
            await _calls.WhenIdleAsync(_options.DisposeTimeout / 2).ConfigureAwait(false);
            await ReleaseAsync(Gateway, bound.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _lastError = e;
        }
    }

    // ------------------------------------------------------------------ the loop

    private static long Now => Environment.TickCount64;

    private static long Ms(TimeSpan span) => (long)Math.Ceiling(span.TotalMilliseconds);

    /// <summary>Renew, check, restore, until disposed. Never throws.</summary>
    private async Task RunAsync(CancellationToken stop)
    {
        // Start off the caller's thread: the creator's await returns at once.
        await Task.Yield();
        long nextRenewal = RenewalDue();
        long nextCheck = Now + Ms(_options.CheckInterval);
        try
        {
            while (true)
            {
                long wait = Math.Min(nextRenewal, nextCheck) - Now;
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(wait), stop).ConfigureAwait(false);
                }
                stop.ThrowIfCancellationRequested();

                if (_status == GatewayLeaseStatus.Lost)
                {
                    bool restored = await TryRestoreAsync(stop).ConfigureAwait(false);
                    nextRenewal = restored ? RenewalDue() : Now + RetryDelayMs();
                    nextCheck = restored ? Now + Ms(_options.CheckInterval) : nextRenewal;
                    continue;
                }
                if (Now >= nextRenewal)
                {
                    bool renewed = await TryRenewAsync(stop).ConfigureAwait(false);
                    nextRenewal = renewed ? RenewalDue() : Now + RetryDelayMs();
                }
                if (_status == GatewayLeaseStatus.Active && Now >= nextCheck)
                {
                    await CheckAsync(stop).ConfigureAwait(false);
                    nextCheck = Now + Ms(_options.CheckInterval);
                }
                if (_status == GatewayLeaseStatus.Lost)
                {
                    nextRenewal = nextCheck = Now; // restore at once
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Disposed.
        }
        catch (Exception e)
        {
            // A bug, not a router failure: record it; the loop ends and DisposeAsync still removes the entry.
            _lastError = e;
        }
    }

    private long RenewalDue()
    {
        var granted = GrantedLease;
        return granted == TimeSpan.Zero ? long.MaxValue : Now + Ms(granted / 2);
    }

    private long RetryDelayMs()
    {
        int failures = Math.Clamp(ConsecutiveFailures, 1, 30);
        double ms = _options.RetryDelay.TotalMilliseconds * Math.Pow(2, failures - 1);
        return (long)Math.Min(ms, _options.MaxRetryDelay.TotalMilliseconds);
    }

    private void SetGranted(TimeSpan granted)
    {
        lock (_gate)
        {
            _granted = granted;
            _grantedUntil = granted == TimeSpan.Zero ? long.MaxValue : Now + Ms(granted);
        }
    }

    private void Failed(Exception error)
    {
        _lastError = error;
        Interlocked.Increment(ref _consecutiveFailures);
    }

    private void Succeeded() => Volatile.Write(ref _consecutiveFailures, 0);

    private static bool IsRouterFailure(Exception e) => e is UpnpException or TimeoutException;

    private async Task<bool> TryRenewAsync(CancellationToken stop)
    {
        try
        {
            var granted = await RenewAsync(Gateway, stop).ConfigureAwait(false);
            SetGranted(granted);
            Interlocked.Increment(ref _renewals);
            Succeeded();
            Log.LogDebug("UPnP lease {EndPoint}: renewed, {Granted} s granted", _endPoint, (long)granted.TotalSeconds);
            return true;
        }
        catch (UpnpException e) when (MeansGone(e))
        {
            Failed(e);
            MarkLost($"renewal refused: {e.Message} ({e.Code})", e);
            return false;
        }
        catch (Exception e) when (IsRouterFailure(e))
        {
            Failed(e);
            long until;
            lock (_gate)
            {
                until = _grantedUntil;
            }
            if (Now >= until)
            {
                MarkLost($"the lease ran out while renewals failed: {e.Message}", e);
            }
            return false;
        }
    }

    private async Task CheckAsync(CancellationToken stop)
    {
        try
        {
            var previous = _endPoint;
            string? problem = await VerifyAsync(Gateway, stop).ConfigureAwait(false);
            if (problem is not null)
            {
                MarkLost(problem, null);
                return;
            }
            Succeeded();
            var current = _endPoint;
            if (!Equals(previous, current))
            {
                Raise(Changed, new GatewayLeaseEventArgs($"the external endpoint changed from {previous} to {current}", current, previous, null));
            }
        }
        catch (UpnpException e) when (e.Code > 0)
        {
            // The router answered, with an error: not a sign of loss by itself.
            Failed(e);
        }
        catch (Exception e) when (IsRouterFailure(e))
        {
            // No answer (or nonsense): the router is down or restarting.
            Failed(e);
            MarkLost($"the router did not answer the check: {e.Message}", e);
        }
    }

    private void MarkLost(string reason, Exception? error)
    {
        if (_status != GatewayLeaseStatus.Active)
        {
            return;
        }
        _status = GatewayLeaseStatus.Lost;
        Raise(Lost, new GatewayLeaseEventArgs(reason, _endPoint, _endPoint, error));
    }

    private async Task<bool> TryRestoreAsync(CancellationToken stop)
    {
        try
        {
            // The router may have come back with other URLs: read its description again (one fetch).
            var current = Gateway;
            var options = current.DiscoveryOptions?.Clone() ?? new GatewayDiscoveryOptions();
            options.OperationTimeout = current.OperationTimeout;
            options.AllowForeignAddresses = current.AllowForeignAddresses;
            var fresh = (await ReopenAsync(current, options, stop).ConfigureAwait(false)).WithCallTracking(_calls);
            var previous = _endPoint;
            var (endPoint, granted) = await AcquireAsync(fresh, restoring: true, stop).ConfigureAwait(false);
            Volatile.Write(ref _gateway, fresh);
            _endPoint = endPoint;
            SetGranted(granted);
            Succeeded();
            Interlocked.Increment(ref _restorations);
            _status = GatewayLeaseStatus.Active;
            Raise(Restored, new GatewayLeaseEventArgs($"restored at {endPoint}", endPoint, previous, null));
            if (!Equals(previous, endPoint))
            {
                Raise(Changed, new GatewayLeaseEventArgs($"the external endpoint changed from {previous} to {endPoint}", endPoint, previous, null));
            }
            return true;
        }
        catch (Exception e) when (IsRouterFailure(e))
        {
            Failed(e);
            return false;
        }
    }

    /// <summary>
    /// The router's description read again from its URL; when that fails after an earlier failure (the check or renewal
    /// that found the router unreachable, or a previous restore) and <see cref="GatewayLeaseOptions.RediscoverWhenUnreachable"/>
    /// is on, an SSDP search for the same device, which may be back on another port or address.
    /// </summary>
    private async Task<UpnpGateway> ReopenAsync(UpnpGateway current, GatewayDiscoveryOptions options, CancellationToken stop)
    {
        try
        {
            return await UpnpGateway.OpenAsync(current.RootDescriptionUrl, options, stop).ConfigureAwait(false);
        }
        catch (Exception e) when (IsRouterFailure(e) && _options.RediscoverWhenUnreachable && ConsecutiveFailures >= 1)
        {
            // The search the gateway was found with (its interfaces, targets, families), bounded.
            var search = options.Clone();
            search.Timeout = search.Timeout < RediscoveryTimeout ? search.Timeout : RediscoveryTimeout;
            if (current.RootDescriptionUrl.HostNameType == UriHostNameType.IPv6)
            {
                // The gateway was reached over IPv6 (pinholes need that): search there only.
                search.SearchMulticast = false;
                search.SearchDefaultGateways = false;
                search.SearchIPv6Multicast = true;
            }
            var found = await GatewayDiscovery.DiscoverWithReportAsync(search, stop).ConfigureAwait(false);
            if (found.Gateway is not { } gateway)
            {
                throw new UpnpException(Miniupnpc.UPNP_NO_IGD,
                    $"unreachable at {current.RootDescriptionUrl} ({e.Message}), and not found again: {found.Reason}");
            }
            if (!IsSameDevice(current, gateway))
            {
                throw new UpnpException(Miniupnpc.UPNP_NO_IGD,
                    $"unreachable at {current.RootDescriptionUrl} ({e.Message}); the search found {gateway.RootDescriptionUrl}, "
                    + "which is not the same device");
            }
            return gateway;
        }
    }

    private static readonly TimeSpan RediscoveryTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The same router: the same host (another port), or, at another address, a uuid in common with the SSDP
    /// answers it gave before (known only for a gateway that was discovered).</summary>
    private static bool IsSameDevice(UpnpGateway before, UpnpGateway now) =>
        IgdProbe.SameHost(before.RootDescriptionUrl, now.RootDescriptionUrl)
        || before.DeviceUuids.Intersect(now.DeviceUuids, StringComparer.OrdinalIgnoreCase).Any();

    /// <summary>Where the lease logs: the logger of the options its gateway was found with (<see cref="GatewayDiscoveryOptions.Logger"/>).</summary>
    private ILogger Log => Gateway.DiscoveryOptions?.LoggerOrNull ?? NullLogger.Instance;

    private void Raise(EventHandler<GatewayLeaseEventArgs>? handlers, GatewayLeaseEventArgs args, [CallerArgumentExpression(nameof(handlers))] string name = "")
    {
        if (name == nameof(Lost))
        {
            Log.LogWarning(args.Error, "UPnP lease {EndPoint}: {Event}: {Reason}", args.PreviousEndPoint, name, args.Reason);
        }
        else
        {
            Log.LogInformation("UPnP lease {EndPoint}: {Event}: {Reason}", args.EndPoint, name, args.Reason);
        }
        if (handlers is null)
        {
            return;
        }
        foreach (EventHandler<GatewayLeaseEventArgs> handler in handlers.GetInvocationList())
        {
            try
            {
                handler(this, args);
            }
            catch (Exception e)
            {
                // A handler's exception must not end the loop, nor reach the thread pool.
                Log.LogWarning(e, "UPnP lease: a handler of {Event} threw", name);
            }
        }
    }

    // ------------------------------------------------------------------ dispose

    /// <summary>
    /// Stops the loop and removes the entry from the router: waits for a native call the loop abandoned (so that a late
    /// add cannot follow the delete), then reads the entry back and deletes it if it is still ours, even after failed
    /// renewals; all within <see cref="GatewayLeaseOptions.DisposeTimeout"/> (plus the time an event handler running at
    /// that moment takes to return). Never throws: a failure is recorded in <see cref="LastError"/>. Calling it again
    /// returns the same task.
    /// </summary>
    /// <returns>A task that completes when the entry is removed or the removal has failed.</returns>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposal ??= DisposeCoreAsync();
        }
        GC.SuppressFinalize(this);
        return new ValueTask(_disposal);
    }

    private async Task DisposeCoreAsync()
    {
        try
        {
            // One bound for the whole disposal: at most half of it waiting for a late call, the rest for the removal.
            using var bound = new CancellationTokenSource(_options.DisposeTimeout);
            _stop.Cancel();
            await _loop.ConfigureAwait(false);
            await _calls.WhenIdleAsync(_options.DisposeTimeout / 2).ConfigureAwait(false);
            await ReleaseAsync(Gateway, bound.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _lastError = e;
        }
        finally
        {
            _status = GatewayLeaseStatus.Disposed;
            _stop.Dispose(); // the loop has ended: nothing waits on the token any more
        }
    }
}
