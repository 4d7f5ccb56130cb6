using System;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Tests.Lab.Gateway;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Lab.Pcp;

/// <summary>
/// <see cref="PcpClient"/> against the lab's miniupnpd 2.3.1 (PCP on UDP 5351 of its LAN address, enabled by
/// <c>enable_natpmp=yes</c>): ANNOUNCE, MAP add / renew / delete with one nonce, the mapping seen through UPnP, a delete
/// with another nonce refused, the lifetimes it grants, and its epoch across a restart.
/// </summary>
public class PcpLabTests
{
    private const PortMappingProtocol Tcp = PortMappingProtocol.Tcp;
    private PcpClient _pcp = null!;
    private UpnpGateway _gateway = null!;

    [SetUp]
    public async Task OpenTheLabRouter()
    {
        LabEnvironment.Require();
        _pcp = Client();
        _gateway = await GatewayLab.OpenAsync();
    }

    private static PcpClient Client() => new(IPAddress.Parse(LabEnvironment.IgdLanAddr))
    {
        OperationTimeout = TimeSpan.FromSeconds(10),
        InitialRetransmissionInterval = TimeSpan.FromMilliseconds(250),
    };

    private static bool InSharedAddressSpace(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return b.Length == 4 && b[0] == 100 && (b[1] & 0xC0) == 64; // 100.64.0.0/10
    }

    [Test]
    public async Task AnnounceAnswersWithTheEpochAndOurLanAddress()
    {
        var announcement = await _pcp.AnnounceAsync();
        GatewayLab.Record($"ANNOUNCE: epoch {announcement.Epoch}, local {announcement.LocalAddress}");
        Assert.That(announcement.LocalAddress, Is.EqualTo(GatewayLab.Lan));
        Assert.That(announcement.ServerStateLost, Is.False);
        var again = await _pcp.AnnounceAsync();
        Assert.That(again.ServerStateLost, Is.False, $"epoch {announcement.Epoch} then {again.Epoch}");
    }

    [Test]
    public async Task MapRenewAndDeleteATcpPortWithOneNonce()
    {
        const int internalPort = 4711, externalPort = 47011;
        var mapping = await _pcp.MapAsync(new PcpMapRequest(Tcp, internalPort) { ExternalPort = externalPort, Lifetime = TimeSpan.FromSeconds(600) });
        try
        {
            GatewayLab.Record($"MAP: {mapping}");
            Assert.Multiple(() =>
            {
                Assert.That(mapping.ExternalEndPoint.Address, Is.EqualTo(IPAddress.Parse(LabEnvironment.IgdWanAddr)));
                Assert.That(InSharedAddressSpace(mapping.ExternalEndPoint.Address), Is.True, "the lab's external address is in 100.64/10");
                Assert.That(mapping.ExternalEndPoint.Port, Is.EqualTo(externalPort), "the suggested port was free");
                Assert.That(mapping.Lifetime, Is.EqualTo(TimeSpan.FromSeconds(600)));
                Assert.That(mapping.InternalAddress, Is.EqualTo(GatewayLab.Lan));
            });

            var entry = await _gateway.GetMappingAsync(Tcp, externalPort);
            GatewayLab.Record($"seen through UPnP: {entry}");
            Assert.That(entry, Is.Not.Null, "the PCP mapping is one of the router's port mappings");
            Assert.That((entry!.InternalClient, entry.InternalPort), Is.EqualTo((GatewayLab.Lan, internalPort)));
            Assert.That(entry.LeaseDuration, Is.InRange(TimeSpan.FromSeconds(590), TimeSpan.FromSeconds(600)));

            var renewed = await _pcp.RenewAsync(mapping);
            GatewayLab.Record($"renewed: {renewed}");
            Assert.That(renewed.ExternalEndPoint, Is.EqualTo(mapping.ExternalEndPoint));
            Assert.That(renewed.Nonce, Is.EqualTo(mapping.Nonce));

            Assert.That(await _pcp.DeleteAsync(renewed), Is.False);
            Assert.That(await _gateway.GetMappingAsync(Tcp, externalPort), Is.Null, "deleted");
        }
        finally
        {
            await GatewayLab.TryDeleteAsync(_gateway, Tcp, externalPort);
        }
    }

    [Test]
    public async Task ADeleteWithAnotherNonceIsNotAuthorized()
    {
        const int internalPort = 4712, externalPort = 47012;
        var mapping = await _pcp.MapAsync(new PcpMapRequest(Tcp, internalPort) { ExternalPort = externalPort, Lifetime = TimeSpan.FromSeconds(600) });
        try
        {
            var e = Assert.ThrowsAsync<PcpException>(() =>
                _pcp.MapWithNonceAsync(mapping, RandomNumberGenerator.GetBytes(12), 0, default));
            GatewayLab.Record($"delete with another nonce: {e!.ResultCode}, lifetime {e.Lifetime}: {e.Message}");
            Assert.That(e.ResultCode, Is.EqualTo(PcpResultCode.NotAuthorized));
            Assert.That(await _gateway.GetMappingAsync(Tcp, externalPort), Is.Not.Null, "still there");

            Assert.That(await _pcp.DeleteAsync(mapping), Is.False);
            Assert.That(await _gateway.GetMappingAsync(Tcp, externalPort), Is.Null, "deleted with the right nonce");
        }
        finally
        {
            await GatewayLab.TryDeleteAsync(_gateway, Tcp, externalPort);
        }
    }

    /// <summary>
    /// miniupnpd keeps the nonce in the mapping's description ("PCP MAP &lt;nonce in hex&gt;") and checks it on a delete
    /// only: a MAP for the same internal host and port with another nonce is granted and takes the mapping over, and
    /// from then on the first nonce's delete is refused. A client keeps one nonce per mapping, and two clients on one
    /// host must not map the same internal port.
    /// </summary>
    /// <summary>The description miniupnpd gives a PCP mapping: "PCP MAP " and the nonce as three 32-bit words printed
    /// with %08x in the router's byte order (pcpserver.c copies the bytes into uint32_t[3]): little-endian here.</summary>
    private static string Description(PcpMapping mapping)
    {
        var words = mapping.Nonce.Chunk(4).Select(w => Convert.ToHexStringLower(BitConverter.IsLittleEndian ? w.Reverse().ToArray() : w));
        return "PCP MAP " + string.Concat(words);
    }

    [Test]
    public async Task AMapWithAnotherNonceTakesTheMappingOver()
    {
        const int internalPort = 4715, externalPort = 47015;
        var first = await _pcp.MapAsync(new PcpMapRequest(Tcp, internalPort) { ExternalPort = externalPort, Lifetime = TimeSpan.FromSeconds(600) });
        try
        {
            Assert.That((await _gateway.GetMappingAsync(Tcp, externalPort))?.Description,
                Is.EqualTo(Description(first)));
            var other = await _pcp.MapWithNonceAsync(first, RandomNumberGenerator.GetBytes(12), 600, default);
            GatewayLab.Record($"MAP with another nonce: {other}");
            Assert.That(other.ExternalEndPoint, Is.EqualTo(first.ExternalEndPoint), "granted, same external port");
            Assert.That((await _gateway.GetMappingAsync(Tcp, externalPort))?.Description,
                Is.EqualTo(Description(other)));

            var e = Assert.ThrowsAsync<PcpException>(() => _pcp.DeleteAsync(first));
            Assert.That(e!.ResultCode, Is.EqualTo(PcpResultCode.NotAuthorized), "the first nonce no longer owns it");
            Assert.That(await _pcp.DeleteAsync(other), Is.False);
            Assert.That(await _gateway.GetMappingAsync(Tcp, externalPort), Is.Null);
        }
        finally
        {
            await GatewayLab.TryDeleteAsync(_gateway, Tcp, externalPort);
        }
    }

    /// <summary>A request whose client address is not its source address (what a NAT between us and the server causes)
    /// is answered ADDRESS_MISMATCH; built by hand, since the client always writes its source address.</summary>
    [Test]
    public async Task AClientAddressThatIsNotTheSourceIsAddressMismatch()
    {
        using var udp = new UdpClient(AddressFamily.InterNetwork);
        udp.Connect(IPAddress.Parse(LabEnvironment.IgdLanAddr), PcpClient.ServerPort);
        var nonce = RandomNumberGenerator.GetBytes(12);
        await udp.SendAsync(PcpMessage.Map(GatewayLab.OtherLanHost, 600, nonce, Tcp, 4716, 0, null));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var reply = await udp.ReceiveAsync(timeout.Token);
        Assert.That(PcpMessage.TryParse(reply.Buffer, PcpMessage.OpcodeMap, nonce, Tcp, 4716, 600, out var response), Is.EqualTo(PcpReplyProblem.None));
        GatewayLab.Record($"client address {GatewayLab.OtherLanHost} from {GatewayLab.Lan}: {response}");
        Assert.That(response.ResultCode, Is.EqualTo(PcpResultCode.AddressMismatch));
    }

    [TestCase(30, 120, TestName = "Lifetime 30 s is raised to miniupnpd's minimum, 120 s")]
    [TestCase(7200, 7200, TestName = "Lifetime 7200 s is granted")]
    [TestCase(86400, 86400, TestName = "Lifetime 86400 s is granted")]
    public async Task GrantedLifetimes(int asked, int granted)
    {
        const int internalPort = 4713;
        var mapping = await _pcp.MapAsync(new PcpMapRequest(PortMappingProtocol.Udp, internalPort) { Lifetime = TimeSpan.FromSeconds(asked) });
        try
        {
            GatewayLab.Record($"asked {asked} s: {mapping}");
            Assert.That(mapping.Lifetime, Is.EqualTo(TimeSpan.FromSeconds(granted)));
        }
        finally
        {
            await _pcp.DeleteAsync(mapping);
        }
    }

    /// <summary>
    /// The lab's miniupnpd runs with <c>system_uptime=yes</c> (as OpenWrt's default configuration does): its epoch is the
    /// machine's uptime, not the daemon's, so a restart of the daemon that loses every mapping does not show in the
    /// epoch (RFC 6887 §8.5 cannot see it). A renewal creates the mapping again (same nonce, the port suggested), which is
    /// why a mapper renews on schedule whatever the epoch says.
    /// </summary>
    [Test]
    public async Task AfterARestartTheEpochGoesOnAndARenewalCreatesTheMappingAgain()
    {
        const int internalPort = 4714, externalPort = 47014;
        var mapping = await _pcp.MapAsync(new PcpMapRequest(Tcp, internalPort) { ExternalPort = externalPort, Lifetime = TimeSpan.FromSeconds(600) });
        var before = await _pcp.AnnounceAsync();
        var (code, output) = LabEnvironment.LabSh("restart-igd --flush");
        Assert.That(code, Is.EqualTo(0), output);
        _gateway = await GatewayLab.OpenAsync();
        try
        {
            var after = await _pcp.AnnounceAsync();
            GatewayLab.Record($"epoch before restart-igd --flush {before.Epoch}, after {after.Epoch}: state lost {after.ServerStateLost}");
            Assert.That(after.Epoch, Is.GreaterThanOrEqualTo(before.Epoch), "system_uptime=yes: the machine's uptime goes on");
            Assert.That(after.ServerStateLost, Is.False, "so the epoch does not show the loss");
            Assert.That(await _gateway.GetMappingAsync(Tcp, externalPort), Is.Null, "yet the mapping is gone");

            var renewed = await _pcp.RenewAsync(mapping);
            GatewayLab.Record($"renewal after the restart: {renewed}");
            Assert.That(renewed.ExternalEndPoint, Is.EqualTo(mapping.ExternalEndPoint), "the renewal creates it again");
            Assert.That(await _gateway.GetMappingAsync(Tcp, externalPort), Is.Not.Null);
            Assert.That(await _pcp.DeleteAsync(renewed), Is.False);
        }
        finally
        {
            await GatewayLab.TryDeleteAsync(_gateway, Tcp, externalPort);
        }
    }
}
