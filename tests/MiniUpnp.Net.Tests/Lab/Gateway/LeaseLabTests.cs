using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Lab.Gateway;

/// <summary>PortMappingLease and PinholeLease against the lab's miniupnpd: renewal, loss, restore, conflict, clean-up.</summary>
public class LeaseLabTests
{
    private const PortMappingProtocol Tcp = PortMappingProtocol.Tcp;
    private static readonly TimeSpan ShortLease = TimeSpan.FromSeconds(5);
    private UpnpGateway _gateway = null!;

    [SetUp]
    public async Task OpenTheLabGateway()
    {
        LabEnvironment.Require();
        _gateway = await GatewayLab.OpenAsync(operationTimeout: TimeSpan.FromSeconds(3));
    }

    private static PortMappingLeaseOptions Short(int internalPort, int externalPort = 0) => new(Tcp, internalPort)
    {
        ExternalPort = externalPort,
        LeaseDuration = ShortLease,
        CheckInterval = TimeSpan.FromSeconds(1),
        RetryDelay = TimeSpan.FromMilliseconds(250),
        MaxRetryDelay = TimeSpan.FromSeconds(1),
        Description = "lease lab test",
    };

    [Test]
    public async Task AShortLeaseOutlivesThreeLeasePeriodsAndIsGoneAfterDispose()
    {
        var lease = await _gateway.LeaseMappingAsync(Short(4401, 43101));
        var events = new ConcurrentQueue<string>();
        lease.Lost += (_, e) => events.Enqueue("lost: " + e.Reason);
        try
        {
            Assert.Multiple(() =>
            {
                Assert.That(lease.ExternalPort, Is.EqualTo(43101));
                Assert.That(lease.ExternalEndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Parse(LabEnvironment.IgdWanAddr), 43101)));
                Assert.That(lease.GrantedLease, Is.EqualTo(ShortLease));
                Assert.That(lease.Status, Is.EqualTo(GatewayLeaseStatus.Active));
            });
            // Three lease periods; the mapping must be there at every look (the router drops a lapsed lease up to a second early).
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < 3 * ShortLease)
            {
                var entry = await _gateway.GetMappingAsync(Tcp, 43101);
                Assert.That(entry, Is.Not.Null, $"missing after {watch.ElapsedMilliseconds} ms (renewals {lease.RenewalCount})");
                Assert.That(entry!.LeaseDuration, Is.LessThanOrEqualTo(ShortLease));
                await Task.Delay(500);
            }
            GatewayLab.Record($"after {watch.ElapsedMilliseconds} ms: {lease.RenewalCount} renewals, {lease.ConsecutiveFailures} failures");
            Assert.Multiple(() =>
            {
                Assert.That(lease.RenewalCount, Is.GreaterThanOrEqualTo(4), "renewed at half the lease");
                Assert.That(events, Is.Empty);
                Assert.That(lease.Status, Is.EqualTo(GatewayLeaseStatus.Active));
            });
        }
        finally
        {
            await lease.DisposeAsync();
        }
        Assert.That(lease.Status, Is.EqualTo(GatewayLeaseStatus.Disposed));
        Assert.That(await GatewayLab.WaitUntilGoneAsync(_gateway, Tcp, 43101, ShortLease), Is.True, "gone within one period after dispose");
        Assert.That(await _gateway.GetMappingAsync(Tcp, 43101), Is.Null);
        await lease.DisposeAsync(); // twice: nothing happens, nothing thrown
    }

    [Test]
    public async Task DisposeRemovesTheMappingEvenAfterRenewalsFailed()
    {
        var options = Short(4402, 43102) with { CheckInterval = TimeSpan.FromMinutes(10) }; // only renewals talk to the router here
        var lease = await _gateway.LeaseMappingAsync(options);
        try
        {
            // The daemon stops; its nftables rules (the mapping) stay. Renewals now fail.
            Assert.That(LabEnvironment.LabSh("stop-igd").Code, Is.EqualTo(0));
            try
            {
                Assert.That(await GatewayLab.WaitUntilAsync(() => lease.ConsecutiveFailures > 0, 3 * ShortLease), Is.True,
                    "a renewal failed while the router was down");
                GatewayLab.Record($"renewal failed: {lease.LastError?.Message}; status {lease.Status}");
            }
            finally
            {
                // Back, with the rules it finds in nftables: our mapping, now without expiry.
                Assert.That(LabEnvironment.LabSh("start-igd").Code, Is.EqualTo(0));
            }
        }
        finally
        {
            await lease.DisposeAsync();
        }
        Assert.That(await _gateway.GetMappingAsync(Tcp, 43102), Is.Null, $"removed on dispose ({lease.LastError?.Message})");
    }

    [Test]
    public async Task AfterARouterRestartTheLeaseRestoresTheMappingAndTrafficFlowsAgain()
    {
        var listener = new TcpListener(GatewayLab.Lan, 0);
        listener.Start();
        int internalPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serving = ServeAsync(listener);
        var options = Short(internalPort, 43103) with { LeaseDuration = TimeSpan.FromSeconds(60) };
        var lease = await _gateway.LeaseMappingAsync(options);
        var events = new ConcurrentQueue<(string Kind, long Ms, GatewayLeaseEventArgs Args)>();
        var watch = new Stopwatch();
        lease.Lost += (_, e) => events.Enqueue(("lost", watch.ElapsedMilliseconds, e));
        lease.Restored += (_, e) => events.Enqueue(("restored", watch.ElapsedMilliseconds, e));
        lease.Changed += (_, e) => events.Enqueue(("changed", watch.ElapsedMilliseconds, e));
        try
        {
            Assert.That(Wan.Fetch(LabEnvironment.IgdWanAddr, lease.ExternalPort), Is.EqualTo("hello from the lan"), "before the restart");

            watch.Start();
            var (code, output) = LabEnvironment.LabSh("restart-igd --flush");
            Assert.That(code, Is.EqualTo(0), output);
            long restartedAt = watch.ElapsedMilliseconds;
            Assert.That(await GatewayLab.WaitUntilAsync(() => events.Any(e => e.Kind == "restored"), TimeSpan.FromSeconds(20)), Is.True,
                $"restored (events: {string.Join(", ", events.Select(e => e.Kind))}; last error {lease.LastError?.Message})");
            GatewayLab.Record($"restart-igd --flush returned after {restartedAt} ms; events: " +
                              string.Join("; ", events.Select(e => $"{e.Kind} at {e.Ms} ms ({e.Args.Reason})")));
            Assert.Multiple(() =>
            {
                Assert.That(events.First().Kind, Is.EqualTo("lost"));
                Assert.That(lease.Status, Is.EqualTo(GatewayLeaseStatus.Active));
                Assert.That(lease.RestoreCount, Is.EqualTo(1));
                Assert.That(lease.ExternalPort, Is.EqualTo(43103), "the same port, free again after the flush");
            });
            Assert.That(await _gateway.GetMappingAsync(Tcp, 43103), Is.Not.Null);
            Assert.That(Wan.Fetch(LabEnvironment.IgdWanAddr, lease.ExternalPort), Is.EqualTo("hello from the lan"), "after the restore");
        }
        finally
        {
            await lease.DisposeAsync();
            listener.Stop();
            await Task.WhenAny(serving, Task.Delay(5000));
        }
        Assert.That(Wan.CanConnect(LabEnvironment.IgdWanAddr, 43103), Is.False, "closed after dispose");
    }

    [Test]
    public async Task AfterARestartOnAnotherPortTheLeaseFindsTheRouterAgain([Values("discovered", "reopened")] string how)
    {
        // The router comes back on the same host, another port: the lease searches again and moves there, whether its
        // gateway was discovered (SSDP uuids known) or reopened from a URL.
        var gateway = how == "discovered" ? await UpnpGateway.DiscoverAsync(GatewayLab.Options()) : _gateway;
        int port = how == "discovered" ? 43106 : 43107;
        var options = Short(4406, port) with { LeaseDuration = TimeSpan.FromSeconds(60) };
        var lease = await gateway.LeaseMappingAsync(options);
        var events = new ConcurrentQueue<string>();
        lease.Lost += (_, e) => events.Enqueue($"lost ({e.Reason})");
        lease.Restored += (_, e) => events.Enqueue($"restored ({e.Reason})");
        var watch = Stopwatch.StartNew();
        try
        {
            var (code, output) = LabEnvironment.LabSh("restart-igd --flush --http-port 5001");
            Assert.That(code, Is.EqualTo(0), output);
            Assert.That(await GatewayLab.WaitUntilAsync(() => lease.RestoreCount == 1, TimeSpan.FromSeconds(20)), Is.True,
                $"restored (events: {string.Join(", ", events)}; last error {lease.LastError?.Message})");
            GatewayLab.Record($"{how}: restored on the new port after {watch.ElapsedMilliseconds} ms; events: {string.Join("; ", events)}");
            Assert.Multiple(async () =>
            {
                Assert.That(lease.Gateway.RootDescriptionUrl.Port, Is.EqualTo(5001), "the lease moved to the router's new URL");
                Assert.That(lease.Gateway.RootDescriptionUrl.Host, Is.EqualTo(LabEnvironment.IgdLanAddr));
                Assert.That(lease.Status, Is.EqualTo(GatewayLeaseStatus.Active));
                var mapping = await lease.Gateway.GetMappingAsync(Tcp, lease.ExternalPort);
                Assert.That(mapping?.InternalClient, Is.EqualTo(GatewayLab.Lan), "the mapping is back on the restarted router");
            });
        }
        finally
        {
            await lease.DisposeAsync();
            var moved = lease.Gateway;
            var (code, output) = LabEnvironment.LabSh("restart-igd --http-port 5000");
            Assert.That(code, Is.EqualTo(0), output);
            GatewayLab.Record($"device uuids before: {string.Join(", ", gateway.DeviceUuids)}; after: {string.Join(", ", moved.DeviceUuids)}");
        }
        Assert.That(await _gateway.GetMappingAsync(Tcp, port), Is.Null, "the lease removed its mapping from the moved router");
    }

    [Test]
    public async Task WhenAnotherHostHoldsThePortTheLeaseTakesAnotherAndReportsIt(
        [Values(true, false)] bool addAnyPortMapping)
    {
        int port = addAnyPortMapping ? 43104 : 43105;
        await _gateway.AddMappingAsync(new PortMappingRequest(Tcp, 4404) { ExternalPort = port, LeaseDuration = TimeSpan.FromSeconds(600), Description = "someone else", InternalClient = GatewayLab.OtherLanHost });
        try
        {
            var options = Short(4404, port) with { PreferAddAnyPortMapping = addAnyPortMapping };
            await using var lease = await _gateway.LeaseMappingAsync(options);
            GatewayLab.Record($"asked for {port}, got {lease.ExternalPort} ({(addAnyPortMapping ? "AddAnyPortMapping" : "AddPortMapping + retries")})");
            Assert.Multiple(async () =>
            {
                Assert.That(lease.ExternalPort, Is.Not.EqualTo(port));
                Assert.That(lease.ExternalEndPoint!.Port, Is.EqualTo(lease.ExternalPort));
                var ours = await _gateway.GetMappingAsync(Tcp, lease.ExternalPort);
                Assert.That(ours?.InternalClient, Is.EqualTo(GatewayLab.Lan));
                var theirs = await _gateway.GetMappingAsync(Tcp, port);
                Assert.That(theirs?.InternalClient, Is.EqualTo(GatewayLab.OtherLanHost), "the other host's mapping is untouched");
            });
        }
        finally
        {
            await _gateway.DeleteMappingAsync(Tcp, port);
        }
    }

    [Test]
    public async Task TheOptInSweepRemovesWhatAnEarlierRunLeftBehind()
    {
        await _gateway.AddMappingAsync(new PortMappingRequest(Tcp, 4406) { ExternalPort = 43106, LeaseDuration = TimeSpan.FromSeconds(600), Description = "sweep tag" });
        await _gateway.AddMappingAsync(new PortMappingRequest(PortMappingProtocol.Udp, 4407) { ExternalPort = 43107, LeaseDuration = TimeSpan.FromSeconds(600), Description = "sweep tag" });
        await _gateway.AddMappingAsync(new PortMappingRequest(Tcp, 4408) { ExternalPort = 43108, LeaseDuration = TimeSpan.FromSeconds(600), Description = "sweep tag", InternalClient = GatewayLab.OtherLanHost });
        try
        {
            var options = Short(4409, 43109) with { Description = "sweep tag", SweepStaleMappings = true };
            await using (var lease = await _gateway.LeaseMappingAsync(options))
            {
                Assert.Multiple(async () =>
                {
                    Assert.That(lease.SweptMappings, Is.EqualTo(2));
                    Assert.That(await _gateway.GetMappingAsync(Tcp, 43106), Is.Null);
                    Assert.That(await _gateway.GetMappingAsync(PortMappingProtocol.Udp, 43107), Is.Null);
                    Assert.That(await _gateway.GetMappingAsync(Tcp, 43108), Is.Not.Null, "another host's mapping is not ours to sweep");
                    Assert.That(await _gateway.GetMappingAsync(Tcp, 43109), Is.Not.Null);
                });
            }
        }
        finally
        {
            await GatewayLab.TryDeleteAsync(_gateway, Tcp, 43106);
            await GatewayLab.TryDeleteAsync(_gateway, PortMappingProtocol.Udp, 43107);
            await GatewayLab.TryDeleteAsync(_gateway, Tcp, 43108);
        }
    }

    [Test]
    public async Task APinholeLeaseRenewsWithUpdatePinholeAndClosesOnDispose()
    {
        var gateway6 = await GatewayLab.OpenIPv6Async();
        var lease = await gateway6.LeasePinholeAsync(new PinholeLeaseOptions(PortMappingProtocol.Tcp, 44110)
        {
            LeaseDuration = ShortLease,
            CheckInterval = TimeSpan.FromSeconds(1),
        });
        int id = lease.UniqueId;
        try
        {
            Assert.That(lease.ExternalEndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Parse(LabEnvironment.LanAddr6), 44110)));
            await Task.Delay(3 * ShortLease);
            Assert.Multiple(() =>
            {
                Assert.That(lease.RenewalCount, Is.GreaterThanOrEqualTo(4));
                Assert.That(lease.Status, Is.EqualTo(GatewayLeaseStatus.Active));
                Assert.That(lease.UniqueId, Is.EqualTo(id), "never lost, never reopened");
            });
            Assert.That(await gateway6.CheckPinholeWorkingAsync(id), Is.False, "still there (709)");
        }
        finally
        {
            await lease.DisposeAsync();
        }
        var gone = Assert.ThrowsAsync<UpnpException>(() => gateway6.CheckPinholeWorkingAsync(id));
        Assert.That((UpnpErrorCode)gone!.Code, Is.EqualTo(UpnpErrorCode.InvalidArgs), "closed on dispose");
    }

    private static async Task ServeAsync(TcpListener listener)
    {
        // Bounded: a few connections, each answered with one line.
        for (int i = 0; i < 8; i++)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            using (client)
            {
                await client.GetStream().WriteAsync("hello from the lan\n"u8.ToArray());
            }
        }
    }
}
