using System;
using System.Net;
using System.Threading.Tasks;
using MiniUpnp.Net.Tests.Lab.Gateway;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Lab.Natpmp;

/// <summary>
/// <see cref="NatpmpClient"/> (the .NET layer's NAT-PMP, through libnatpmp) against the lab's miniupnpd: the public
/// address, a mapping seen through UPnP, its renewal and delete, and a refusal with libnatpmp's code and text.
/// </summary>
public class NatpmpClientLabTests
{
    private NatpmpClient _natpmp = null!;
    private UpnpGateway _gateway = null!;

    [SetUp]
    public async Task OpenTheLabRouter()
    {
        LabEnvironment.Require();
        _natpmp = new NatpmpClient(IPAddress.Parse(LabEnvironment.IgdLanAddr)) { OperationTimeout = TimeSpan.FromSeconds(10) };
        _gateway = await GatewayLab.OpenAsync();
    }

    [Test]
    public async Task ThePublicAddressIsTheRoutersWanAddress()
    {
        var answer = await _natpmp.GetPublicAddressAsync();
        GatewayLab.Record($"public address: {answer}");
        Assert.That(answer.Address, Is.EqualTo(IPAddress.Parse(LabEnvironment.IgdWanAddr)));
        Assert.That(answer.Address, Is.EqualTo(await _gateway.GetExternalAddressAsync()), "NAT-PMP and UPnP agree");
        Assert.That(answer.ServerStateLost, Is.False);
        Assert.That(_natpmp.LastEpoch, Is.EqualTo(answer.Epoch));
    }

    [TestCase(PortMappingProtocol.Tcp, 4721, 47021)]
    [TestCase(PortMappingProtocol.Udp, 4722, 47022)]
    public async Task MapRenewAndDelete(PortMappingProtocol protocol, int internalPort, int externalPort)
    {
        var mapping = await _natpmp.MapAsync(new NatpmpMapRequest(protocol, internalPort)
        {
            ExternalPort = externalPort,
            Lifetime = TimeSpan.FromSeconds(600),
        });
        try
        {
            GatewayLab.Record($"mapped: {mapping}");
            Assert.That(mapping.ExternalPort, Is.EqualTo(externalPort));
            Assert.That(mapping.InternalPort, Is.EqualTo(internalPort));
            Assert.That(mapping.Lifetime, Is.EqualTo(TimeSpan.FromSeconds(600)));
            var entry = await _gateway.GetMappingAsync(protocol, externalPort);
            Assert.That(entry, Is.Not.Null, "UPnP sees the NAT-PMP mapping");
            Assert.That(entry!.InternalClient, Is.EqualTo(GatewayLab.Lan));
            Assert.That(entry.InternalPort, Is.EqualTo(internalPort));

            var renewed = await _natpmp.RenewAsync(mapping);
            Assert.That(renewed.ExternalPort, Is.EqualTo(externalPort));
            Assert.That(renewed.ServerStateLost, Is.False);
        }
        finally
        {
            Assert.That(await _natpmp.DeleteAsync(mapping), Is.False);
        }
        Assert.That(await _gateway.GetMappingAsync(protocol, externalPort), Is.Null, "deleted");
    }

    [Test]
    public async Task APortTakenByAnotherHostGetsAnotherExternalPort()
    {
        const int externalPort = 47023;
        await _gateway.AddMappingAsync(new PortMappingRequest(PortMappingProtocol.Tcp, 4723)
        {
            ExternalPort = externalPort,
            InternalClient = GatewayLab.OtherLanHost,
            LeaseDuration = TimeSpan.FromSeconds(600),
        });
        NatpmpMapping? mapping = null;
        try
        {
            mapping = await _natpmp.MapAsync(new NatpmpMapRequest(PortMappingProtocol.Tcp, 4723) { ExternalPort = externalPort });
            GatewayLab.Record($"asked for {externalPort}, taken: {mapping}");
            Assert.That(mapping.ExternalPort, Is.Not.EqualTo(externalPort), "the gateway assigns another port");
            var entry = await _gateway.GetMappingAsync(PortMappingProtocol.Tcp, externalPort);
            Assert.That(entry!.InternalClient, Is.EqualTo(GatewayLab.OtherLanHost), "the other host keeps its port");
        }
        finally
        {
            if (mapping is not null)
            {
                await _natpmp.DeleteAsync(mapping);
            }
            await GatewayLab.TryDeleteAsync(_gateway, PortMappingProtocol.Tcp, externalPort);
        }
    }
}
