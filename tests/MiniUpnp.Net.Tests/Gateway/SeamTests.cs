using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Gateway;

/// <summary>IUpnpGateway and IPortMappingLease are a seam an application can fake in its own tests: the same
/// application code runs against a hand-written fake and against the real gateway.</summary>
public class SeamTests
{
    /// <summary>What an application writes: it sees only the interfaces.</summary>
    private static async Task<(int ExternalPort, int Listed)> ApplicationOpensAPort(IUpnpGateway gateway)
    {
        await using var lease = await gateway.LeaseMappingAsync(new PortMappingLeaseOptions(PortMappingProtocol.Tcp, 8060)
        {
            DisposeTimeout = TimeSpan.FromSeconds(5),
        });
        var listed = await gateway.ListMappingsAsync();
        return (lease.ExternalPort, listed.Count(m => m.ExternalPort == lease.ExternalPort));
    }

    [Test]
    public async Task AnApplicationRunsAgainstAHandWrittenFake()
    {
        var fake = new HandWrittenGateway();
        var (port, listed) = await ApplicationOpensAPort(fake);
        Assert.Multiple(() =>
        {
            Assert.That(port, Is.EqualTo(8060));
            Assert.That(listed, Is.EqualTo(1));
            Assert.That(fake.Mappings, Is.Empty, "the lease removed its mapping on dispose");
        });
    }

    [Test]
    public async Task TheSameApplicationRunsAgainstTheRealGateway()
    {
        using var igd = new FakeRouter();
        var options = FakeIgdDiscoveryTests.LoopbackOnly(TimeSpan.FromMilliseconds(500), igd);
        var gateway = await UpnpGateway.OpenAsync(igd.RootUrl, options);
        var (port, listed) = await ApplicationOpensAPort(gateway);
        Assert.Multiple(() =>
        {
            Assert.That(port, Is.EqualTo(8060));
            Assert.That(listed, Is.EqualTo(1));
            Assert.That(igd.Mappings, Is.Empty, "the lease removed its mapping on dispose");
        });
    }

    /// <summary>The kind of fake an application writes: a dictionary of mappings.</summary>
    private sealed class HandWrittenGateway : IUpnpGateway
    {
        internal Dictionary<(PortMappingProtocol, int), PortMappingEntry> Mappings { get; } = new();

        public Uri RootDescriptionUrl { get; } = new("http://192.0.2.1:5000/rootDesc.xml");

        public IPAddress LocalAddress { get; } = IPAddress.Parse("192.0.2.10");

        public Task<IPAddress> GetExternalAddressAsync(CancellationToken cancellationToken = default) =>
            Task.FromResult(IPAddress.Parse("198.51.100.7"));

        public Task<GatewayStatus> GetStatusAsync(CancellationToken cancellationToken = default) =>
            Task.FromResult(new GatewayStatus("Connected", TimeSpan.FromHours(1), "ERROR_NONE"));

        public Task AddMappingAsync(PortMappingRequest request, CancellationToken cancellationToken = default)
        {
            int external = request.ExternalPort == 0 ? request.InternalPort : request.ExternalPort;
            Mappings[(request.Protocol, external)] = new PortMappingEntry(request.Protocol, external, request.InternalClient ?? LocalAddress,
                request.InternalPort, request.Description ?? "", true, request.RemoteHost, request.LeaseDuration);
            return Task.CompletedTask;
        }

        public async Task<int> AddAnyMappingAsync(PortMappingRequest request, CancellationToken cancellationToken = default)
        {
            await AddMappingAsync(request, cancellationToken);
            return request.ExternalPort == 0 ? request.InternalPort : request.ExternalPort;
        }

        public Task DeleteMappingAsync(PortMappingProtocol protocol, int externalPort, IPAddress? remoteHost = null,
            CancellationToken cancellationToken = default)
        {
            Mappings.Remove((protocol, externalPort));
            return Task.CompletedTask;
        }

        public Task<PortMappingEntry?> GetMappingAsync(PortMappingProtocol protocol, int externalPort, IPAddress? remoteHost = null,
            CancellationToken cancellationToken = default) =>
            Task.FromResult(Mappings.TryGetValue((protocol, externalPort), out var entry) ? entry : null);

        public Task<IReadOnlyList<PortMappingEntry>> ListMappingsAsync(CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<PortMappingEntry>>(Mappings.Values.ToList());

        public async Task<IPortMappingLease> LeaseMappingAsync(PortMappingLeaseOptions options, CancellationToken cancellationToken = default)
        {
            var request = new PortMappingRequest(options.Protocol, options.InternalPort) { ExternalPort = options.ExternalPort };
            int port = await AddAnyMappingAsync(request, cancellationToken);
            return new HandWrittenLease(this, options.Protocol, options.InternalPort, port);
        }
    }

    private sealed class HandWrittenLease(HandWrittenGateway gateway, PortMappingProtocol protocol, int internalPort, int externalPort)
        : IPortMappingLease
    {
        public event EventHandler<GatewayLeaseEventArgs>? Changed { add { } remove { } }

        public event EventHandler<GatewayLeaseEventArgs>? Lost { add { } remove { } }

        public event EventHandler<GatewayLeaseEventArgs>? Restored { add { } remove { } }

        public GatewayLeaseStatus Status { get; private set; } = GatewayLeaseStatus.Active;

        public PortMappingProtocol Protocol => protocol;

        public int InternalPort => internalPort;

        public int ExternalPort => externalPort;

        public IPEndPoint? ExternalEndPoint => new(IPAddress.Parse("198.51.100.7"), externalPort);

        public TimeSpan GrantedLease => TimeSpan.FromHours(1);

        public Exception? LastError => null;

        public async ValueTask DisposeAsync()
        {
            await gateway.DeleteMappingAsync(protocol, externalPort);
            Status = GatewayLeaseStatus.Disposed;
        }
    }
}
