using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading.Tasks;
using MiniUpnp.Net.Tests.Lab.Gateway;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Lab.Reachability;

/// <summary>
/// Each verdict produced by the topology that causes it. In the lab (the router's WAN address in 100.64/10, the wan
/// namespace being the Internet): reachable, verified by a connection from the wan namespace; carrier-grade NAT by
/// class when nothing verifies; a mapping deleted behind the application's back. Behind a carrier (labs of their own,
/// <c>lab.sh up --carrier cgnat|double</c>, a masquerading namespace between the router and the Internet's STUN
/// responder): <c>upnpc-net probe --json</c> run in that lab's lan namespace says carrier-grade NAT, and double NAT.
/// </summary>
[NonParallelizable]
public class ReachabilityLabTests
{
    private static readonly Dictionary<string, string> s_carrierLabs = new();

    [SetUp]
    public void RequireTheLab() => LabEnvironment.Require();

    [OneTimeTearDown]
    public void TakeTheCarrierLabsDown()
    {
        foreach (var id in s_carrierLabs.Keys)
        {
            LabEnvironment.Run(LabEnvironment.LabScript, $"down --id {id}", TimeSpan.FromSeconds(60));
        }
        s_carrierLabs.Clear();
    }

    private static ReachabilityOptions Options(Func<IPEndPoint, System.Threading.CancellationToken, Task<bool>>? verify = null) => new()
    {
        StunServers = new[] { new IPEndPoint(IPAddress.Parse(LabEnvironment.WanAddr), StunClient.DefaultPort) },
        Verify = verify,
        Timeout = TimeSpan.FromSeconds(5),
    };

    private static PortMapperOptions MapperOptions(params PortMappingMethod[] methods) => new()
    {
        Methods = methods.Length == 0 ? new[] { PortMappingMethod.Pcp, PortMappingMethod.Natpmp, PortMappingMethod.Upnp } : methods,
        Timeout = TimeSpan.FromSeconds(3),
        OperationTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>The end-to-end check a real application would make with its server: connect from the Internet (the
    /// wan namespace) to the mapping, and see the service's greeting.</summary>
    private static Task<bool> FromTheInternet(IPEndPoint endPoint, System.Threading.CancellationToken _) =>
        Task.Run(() => Wan.Fetch(endPoint.Address.ToString(), endPoint.Port) == "reachable");

    private static async Task ServeAsync(TcpListener listener)
    {
        try
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync();
                await client.GetStream().WriteAsync("reachable\n"u8.ToArray());
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    [Test]
    public async Task AConnectionFromTheInternetNamespaceMakesItReachable()
    {
        var listener = new TcpListener(GatewayLab.Lan, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serving = ServeAsync(listener);
        try
        {
            var mapper = await PortMapper.DiscoverAsync(MapperOptions());
            await using var lease = await mapper.LeaseAsync(new PortMappingLeaseOptions(PortMappingProtocol.Tcp, port) { ExternalPort = 44801 });
            var report = await ReachabilityCheck.CheckAsync(mapper, lease, Options(FromTheInternet));
            GatewayLab.Record(report.ToString());
            Assert.Multiple(() =>
            {
                Assert.That(report.Verdict, Is.EqualTo(ReachabilityVerdict.Reachable));
                Assert.That(report.Verified, Is.True);
                Assert.That(report.Method, Is.EqualTo(PortMappingMethod.Pcp));
                Assert.That(report.RouterExternalAddress, Is.EqualTo(IPAddress.Parse(LabEnvironment.IgdWanAddr)));
                Assert.That(report.RouterAddressClass, Is.EqualTo(NetworkAddressClass.CarrierGradeNat), "the lab's router has a 100.64 address");
                Assert.That(report.StunObserved!.Address, Is.EqualTo(IPAddress.Parse(LabEnvironment.IgdWanAddr)), "the router masquerades");
                Assert.That(report.StunAgrees, Is.True);
                Assert.That(report.ExternalEndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Parse(LabEnvironment.IgdWanAddr), 44801)));
                Assert.That(report.Hint, Does.Contain("came from the network in front of the router"), "a 100.64 address is not the Internet's");
            });

            // The same mapping without a way to verify: the 100.64 address is all there is to go by.
            var unverified = await ReachabilityCheck.CheckAsync(mapper, lease, Options());
            GatewayLab.Record(unverified.ToString());
            Assert.That(unverified.Verdict, Is.EqualTo(ReachabilityVerdict.CarrierGradeNat));
            Assert.That(unverified.Verified, Is.Null);
        }
        finally
        {
            listener.Stop();
            await serving;
        }
    }

    [Test]
    public async Task AMappingDeletedBehindTheApplicationsBackIsNotReachable()
    {
        var mapper = await PortMapper.DiscoverAsync(MapperOptions(PortMappingMethod.Upnp));
        // A lease that checks rarely: the deletion stays unnoticed by it, as between two checks of any lease.
        await using var lease = await mapper.LeaseAsync(new PortMappingLeaseOptions(PortMappingProtocol.Tcp, 4802)
        {
            ExternalPort = 44802,
            CheckInterval = TimeSpan.FromMinutes(10),
        });
        Assert.That(lease.Method, Is.EqualTo(PortMappingMethod.Upnp));
        var other = await GatewayLab.OpenAsync();
        await other.DeleteMappingAsync(PortMappingProtocol.Tcp, 44802); // another program, or the router's web page

        var report = await ReachabilityCheck.CheckAsync(mapper, lease, Options(FromTheInternet));
        GatewayLab.Record(report.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(report.Verdict, Is.EqualTo(ReachabilityVerdict.NotReachable));
            Assert.That(report.MappingPresent, Is.False);
            Assert.That(report.Verified, Is.False, "nothing answers from outside either");
            Assert.That(report.Hint, Does.StartWith("The router no longer has the mapping"));
            Assert.That(report.Evidence, Has.Some.Contains("the router has no mapping of TCP 44802"));
        });
    }

    [Test]
    public async Task TheRoutersMasqueradeMapsEndpointIndependentlyAndFiltersByAddressAndPort()
    {
        // RFC 5780 against the lab's second STUN server (two addresses, two ports, in the wan namespace): Linux's
        // masquerade keeps one public port for every destination, and conntrack lets in only the exact peer.
        var behaviour = await new StunClient { OperationTimeout = TimeSpan.FromSeconds(3) }.DetectBehaviourAsync(LabEnvironment.BehaviourStun);
        GatewayLab.Record(behaviour.ToString() ?? "");
        Assert.Multiple(() =>
        {
            Assert.That(behaviour.ServerSupportsBehaviourDiscovery, Is.True);
            Assert.That(behaviour.IsTranslated, Is.True);
            Assert.That(behaviour.MappedEndPoint.Address, Is.EqualTo(IPAddress.Parse(LabEnvironment.IgdWanAddr)));
            Assert.That(behaviour.Mapping, Is.EqualTo(StunMappingBehaviour.EndpointIndependent));
            Assert.That(behaviour.Filtering, Is.EqualTo(StunFilteringBehaviour.AddressAndPortDependent));
        });
    }

    [TestCase("cgnat", "CarrierGradeNat", "CarrierGradeNat", "100.64.")]
    [TestCase("double", "DoubleNat", "Private", "192.168.")]
    public void BehindACarrierTheProbeSaysSo(string carrier, string verdict, string addressClass, string routerPrefix)
    {
        var env = CarrierLab(carrier);
        var output = ToolProcess.Run(ToolProcess.UpnpcNetIn(env["LAN_NS"]),
            ["probe", "--json", "--stun", env["BEHAVIOUR_STUN"], "--port", "4803", "--protocol", "udp"]);
        GatewayLab.Record($"upnpc-net probe in a lab with --carrier {carrier} (exit {output.Code}):\n{output.Stdout}{output.Stderr}");
        Assert.That(output.Code, Is.Zero, output.Stderr);
        using var json = JsonDocument.Parse(output.Stdout);
        var root = json.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("verdict").GetString(), Is.EqualTo(verdict));
            Assert.That(root.GetProperty("addressClass").GetString(), Is.EqualTo(addressClass));
            Assert.That(root.GetProperty("externalAddress").GetString(), Does.StartWith(routerPrefix));
            Assert.That(root.GetProperty("stunObserved").GetString(), Does.StartWith(env["CARRIER_ADDR"] + ":"), "STUN sees the carrier's address");
            Assert.That(root.GetProperty("stunAgrees").GetBoolean(), Is.False);
            Assert.That(root.GetProperty("natMapping").GetString(), Is.EqualTo("EndpointIndependent"), "two masquerades, each endpoint-independent");
            Assert.That(root.GetProperty("natFiltering").GetString(), Is.EqualTo("AddressAndPortDependent"));
            Assert.That(root.GetProperty("mapping").GetString(), Is.EqualTo(root.GetProperty("externalAddress").GetString() + ":4803"),
                "the router mapped the port all the same");
            foreach (string protocol in new[] { "upnp", "natpmp", "pcp" })
            {
                Assert.That(root.GetProperty("protocols").GetProperty(protocol).GetProperty("answered").GetBoolean(), Is.True, protocol);
            }
        });
    }

    [Test]
    public void TheProbeInTheLabSaysWhatTheGatewaySpeaksInText()
    {
        var output = ToolProcess.Run(ToolProcess.UpnpcNet, ["probe", "--stun", LabEnvironment.WanAddr]);
        GatewayLab.Record(output.Stdout + output.Stderr);
        Assert.That(output.Code, Is.Zero, output.Stderr);
        Assert.That(output.Stdout, Does.Contain($"Gateway: {LabEnvironment.IgdLanAddr}"));
        Assert.That(output.Stdout, Does.Match(@"UPnP:\s+yes .* IGD:2 at " + System.Text.RegularExpressions.Regex.Escape(LabEnvironment.RootDescUrl)));
        Assert.That(output.Stdout, Does.Match(@"NAT-PMP:\s+yes .* public address " + System.Text.RegularExpressions.Regex.Escape(LabEnvironment.IgdWanAddr)));
        Assert.That(output.Stdout, Does.Match(@"PCP:\s+yes .* ANNOUNCE answered"));
        Assert.That(output.Stdout, Does.Contain($"External address: {LabEnvironment.IgdWanAddr} (carrier-grade NAT, 100.64.0.0/10)"));
        Assert.That(output.Stdout, Does.Contain($"STUN: {LabEnvironment.WanAddr}:3478 sees {LabEnvironment.IgdWanAddr}:"));
        Assert.That(output.Stdout, Does.Contain($"NAT behaviour: not known: {LabEnvironment.WanAddr}:3478 does not support RFC 5780"),
            "the lab's first STUN server is miniupnpd's plain one");
        Assert.That(output.Stdout, Does.Contain("Verdict: CarrierGradeNat"));

        var bad = ToolProcess.Run(ToolProcess.UpnpcNet, ["probe", "--stun", "not-an-address"]);
        Assert.That(bad.Code, Is.EqualTo(2));
        Assert.That(bad.Stderr, Does.Contain("--stun needs a unicast IP address"));
    }

    /// <summary>A lab of its own behind a carrier (started once per carrier kind, taken down after the fixture).</summary>
    private static Dictionary<string, string> CarrierLab(string carrier)
    {
        string lab = LabEnvironment.LabId;
        string id = (lab.Length > 11 ? lab[..11] : lab) + (carrier == "cgnat" ? "c" : "d");
        if (!s_carrierLabs.ContainsKey(id))
        {
            var (code, output) = LabEnvironment.Run(LabEnvironment.LabScript, $"up --id {id} --carrier {carrier}", TimeSpan.FromSeconds(60));
            Assert.That(code, Is.EqualTo(0), output);
            s_carrierLabs[id] = Path.Combine(TestPaths.RepoRoot, "artifacts", "lab", id, "lab.env");
        }
        var env = new Dictionary<string, string>();
        foreach (string line in File.ReadAllLines(s_carrierLabs[id]))
        {
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && !line.StartsWith('#'))
            {
                env[line[..eq]] = line[(eq + 1)..];
            }
        }
        return env;
    }
}
