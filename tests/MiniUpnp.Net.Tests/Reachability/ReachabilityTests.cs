using System;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Tests.Mapper;
using MiniUpnp.Net.Tests.Stun;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Reachability;

/// <summary>
/// The verdicts of <see cref="ReachabilityCheck"/> that need a router address the lab cannot give (a public one, a
/// private one reported over PCP, a shortened lease, a refusal), against a loopback router (<see cref="PmpPcpRouter"/>)
/// and a loopback STUN server that reports the address it is told to (<see cref="StunResponder"/>). No traffic goes to
/// the addresses the fake router reports: the end-to-end check here is the test's own callback.
/// </summary>
[NonParallelizable]
public class ReachabilityTests
{
    private static readonly IPAddress PublicAddress = IPAddress.Parse("192.0.43.10"); // public-looking, never contacted

    private static PortMapperOptions MapperOptions(IPAddress router) => new()
    {
        Gateway = router,
        Methods = new[] { PortMappingMethod.Pcp, PortMappingMethod.Natpmp },
        Timeout = TimeSpan.FromSeconds(2),
        OperationTimeout = TimeSpan.FromSeconds(2),
    };

    private static PortMappingLeaseOptions Probe(int port) => new(PortMappingProtocol.Udp, port)
    {
        ExternalPort = port,
        LeaseDuration = TimeSpan.FromSeconds(3600),
        DisposeTimeout = TimeSpan.FromSeconds(3),
    };

    /// <summary>A STUN server on <paramref name="at"/> that says it saw <paramref name="sees"/>.</summary>
    private static StunResponder Stun(string at, IPAddress sees) =>
        new(primary: at, alternate: at.Replace(".1", ".101", StringComparison.Ordinal), rfc5780: false)
        {
            MappedAs = (_, client) => new IPEndPoint(sees, client.Port),
        };

    private static ReachabilityOptions Options(StunResponder? stun = null, Func<IPEndPoint, CancellationToken, Task<bool>>? verify = null) => new()
    {
        StunServers = stun is null ? Array.Empty<IPEndPoint>() : new[] { stun.Primary },
        Verify = verify,
        Timeout = TimeSpan.FromSeconds(2),
    };

    [TestCase("8.8.8.8", NetworkAddressClass.Public)]
    [TestCase("192.0.43.10", NetworkAddressClass.Public)]
    [TestCase("100.64.0.1", NetworkAddressClass.CarrierGradeNat)]
    [TestCase("100.127.255.254", NetworkAddressClass.CarrierGradeNat)]
    [TestCase("100.128.0.1", NetworkAddressClass.Public)]
    [TestCase("100.63.255.255", NetworkAddressClass.Public)]
    [TestCase("10.1.2.3", NetworkAddressClass.Private)]
    [TestCase("172.16.0.1", NetworkAddressClass.Private)]
    [TestCase("172.31.255.255", NetworkAddressClass.Private)]
    [TestCase("172.32.0.1", NetworkAddressClass.Public)]
    [TestCase("192.168.1.1", NetworkAddressClass.Private)]
    [TestCase("0.0.0.0", NetworkAddressClass.Reserved)]
    [TestCase("127.0.0.1", NetworkAddressClass.Reserved)]
    [TestCase("169.254.1.1", NetworkAddressClass.Reserved)]
    [TestCase("192.0.2.1", NetworkAddressClass.Reserved)]
    [TestCase("198.18.5.1", NetworkAddressClass.Reserved)]
    [TestCase("198.19.255.1", NetworkAddressClass.Reserved)]
    [TestCase("198.20.0.1", NetworkAddressClass.Public)]
    [TestCase("203.0.113.9", NetworkAddressClass.Reserved)]
    [TestCase("224.0.0.1", NetworkAddressClass.Reserved)]
    [TestCase("255.255.255.255", NetworkAddressClass.Reserved)]
    [TestCase("2a00:1450:4001::1", NetworkAddressClass.Public)]
    [TestCase("2001:db8::1", NetworkAddressClass.Reserved)]
    [TestCase("fd00::1", NetworkAddressClass.Private)]
    [TestCase("fe80::1", NetworkAddressClass.Reserved)]
    [TestCase("::1", NetworkAddressClass.Reserved)]
    [TestCase("::ffff:100.64.1.1", NetworkAddressClass.CarrierGradeNat)]
    [TestCase("3fff::1", NetworkAddressClass.Reserved)]
    [TestCase("2001:2::1", NetworkAddressClass.Reserved)]
    [TestCase("2001:3::1", NetworkAddressClass.Public)]
    [TestCase("64:ff9b::1.2.3.4", NetworkAddressClass.Public)]
    public void AddressesAreClassifiedByTheSpecialPurposeRegistries(string address, NetworkAddressClass expected) =>
        Assert.That(NetworkAddressClassifier.Classify(IPAddress.Parse(address)), Is.EqualTo(expected));

    [Test]
    public async Task APublicRouterWithoutEvidenceIsMappedButNotVerified()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.84.0.1")) { PublicAddress = PublicAddress, MaxLifetime = 600 };
        var mapper = await PortMapper.DiscoverAsync(MapperOptions(router.Address));
        var report = await ReachabilityCheck.ProbeAsync(mapper, Probe(5001), Options());
        TestContext.Out.WriteLine(report);
        Assert.Multiple(() =>
        {
            Assert.That(report.Verdict, Is.EqualTo(ReachabilityVerdict.MappedNotVerified));
            Assert.That(report.RouterExternalAddress, Is.EqualTo(PublicAddress));
            Assert.That(report.RouterAddressClass, Is.EqualTo(NetworkAddressClass.Public));
            Assert.That(report.ExternalEndPoint, Is.EqualTo(new IPEndPoint(PublicAddress, 5001)));
            Assert.That((report.LeaseRequested, report.LeaseGranted), Is.EqualTo((TimeSpan.FromSeconds(3600), (TimeSpan?)TimeSpan.FromSeconds(600))));
            Assert.That(report.Evidence, Has.Some.Contains("lease granted 600 s of 3600 s requested (shortened by the router)"));
            Assert.That(report.Verified, Is.Null);
            Assert.That(report.StunObserved, Is.Null);
            Assert.That(report.Hint, Does.Contain("not verified end to end").And.Contain("ReachabilityOptions.Verify"));
        });
        Assert.That(router.Mappings, Is.Empty, "the probe's mapping is removed");
    }

    [Test]
    public async Task StunAgreeingAndAConnectionArrivingMakeItReachable()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.84.0.2")) { PublicAddress = PublicAddress };
        using var stun = Stun("127.84.1.1", PublicAddress);
        var mapper = await PortMapper.DiscoverAsync(MapperOptions(router.Address));
        IPEndPoint? asked = null;
        var report = await ReachabilityCheck.ProbeAsync(mapper, Probe(5002), Options(stun, (endPoint, _) =>
        {
            asked = endPoint;
            return Task.FromResult(true);
        }));
        TestContext.Out.WriteLine(report);
        Assert.Multiple(() =>
        {
            Assert.That(report.Verdict, Is.EqualTo(ReachabilityVerdict.Reachable));
            Assert.That(asked, Is.EqualTo(new IPEndPoint(PublicAddress, 5002)), "the application was asked to connect to the mapping");
            Assert.That(report.StunAgrees, Is.True);
            Assert.That(report.StunObserved!.Address, Is.EqualTo(PublicAddress));
            Assert.That(report.Verified, Is.True);
            Assert.That(report.Hint, Does.StartWith("Verified"));
        });
    }

    [Test]
    public async Task AConnectionThatDoesNotArriveIsNotReachable()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.84.0.3")) { PublicAddress = PublicAddress };
        using var stun = Stun("127.84.1.2", PublicAddress);
        var mapper = await PortMapper.DiscoverAsync(MapperOptions(router.Address));
        var report = await ReachabilityCheck.ProbeAsync(mapper, Probe(5003), Options(stun, (_, _) => Task.FromResult(false)));
        TestContext.Out.WriteLine(report);
        Assert.That(report.Verdict, Is.EqualTo(ReachabilityVerdict.NotReachable));
        Assert.That(report.Verified, Is.False);
        Assert.That(report.Hint, Does.Contain("did not arrive"));
    }

    [Test]
    public async Task AVerificationThatHangsIsBoundedAndCountsAsFailed()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.84.0.4")) { PublicAddress = PublicAddress };
        var mapper = await PortMapper.DiscoverAsync(MapperOptions(router.Address));
        var options = Options(verify: async (_, token) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, token);
            return true;
        }) with { Timeout = TimeSpan.FromMilliseconds(300) };
        var report = await ReachabilityCheck.ProbeAsync(mapper, Probe(5004), options);
        TestContext.Out.WriteLine(report);
        Assert.That(report.Verified, Is.False);
        Assert.That(report.Verdict, Is.EqualTo(ReachabilityVerdict.NotReachable));
        Assert.That(report.Evidence, Has.Some.Contains("the end-to-end check: no answer within 0.3 s"));
    }

    [Test]
    public async Task AVerificationThatThrowsIsNoEvidenceEitherWay()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.84.0.11")) { PublicAddress = PublicAddress };
        var mapper = await PortMapper.DiscoverAsync(MapperOptions(router.Address));
        var report = await ReachabilityCheck.ProbeAsync(mapper, Probe(5011),
            Options(verify: (_, _) => throw new InvalidOperationException("my server is down")));
        TestContext.Out.WriteLine(report);
        Assert.That(report.Verified, Is.Null);
        Assert.That(report.Verdict, Is.EqualTo(ReachabilityVerdict.MappedNotVerified));
        Assert.That(report.Evidence, Has.Some.EqualTo("the end-to-end check could not run: InvalidOperationException: my server is down"));
    }

    [Test]
    public async Task AVerificationThatIgnoresItsTokenIsBoundedAllTheSame()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.84.0.12")) { PublicAddress = PublicAddress };
        var mapper = await PortMapper.DiscoverAsync(MapperOptions(router.Address));
        var never = new TaskCompletionSource<bool>();
        var options = Options(verify: (_, _) => never.Task) with { Timeout = TimeSpan.FromMilliseconds(300) };
        var report = await ReachabilityCheck.ProbeAsync(mapper, Probe(5012), options).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.That(report.Verified, Is.False);
        Assert.That(report.Evidence, Has.Some.Contains("the end-to-end check: no answer within 0.3 s"));
    }

    [Test]
    public async Task TheCallersCancellationIsNeverAVerdict()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.84.0.13")) { PublicAddress = PublicAddress };
        var mapper = await PortMapper.DiscoverAsync(MapperOptions(router.Address));
        using var cancel = new CancellationTokenSource();
        var options = Options(verify: async (_, token) =>
        {
            cancel.Cancel(); // the caller gives up while the application's check runs
            await Task.Yield();
            return !token.IsCancellationRequested; // a check that answers "no" when cancelled
        });
        Assert.CatchAsync<OperationCanceledException>(() => ReachabilityCheck.ProbeAsync(mapper, Probe(5013), options, cancel.Token));
        await Task.Delay(300);
        Assert.That(router.Mappings, Is.Empty, "the probe's mapping is removed all the same");
    }

    [Test]
    public async Task AStunAddressThatDiffersFromThePublicRouterAddressIsDoubleNat()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.84.0.5")) { PublicAddress = PublicAddress };
        using var stun = Stun("127.84.1.3", IPAddress.Parse("192.0.43.99"));
        var mapper = await PortMapper.DiscoverAsync(MapperOptions(router.Address));
        var report = await ReachabilityCheck.CheckAsync(mapper, null, Options(stun));
        TestContext.Out.WriteLine(report);
        Assert.That(report.Verdict, Is.EqualTo(ReachabilityVerdict.DoubleNat));
        Assert.That(report.StunAgrees, Is.False);
        Assert.That(report.Hint, Does.Contain("192.0.43.10").And.Contain("192.0.43.99"));
    }

    [TestCase("100.64.7.1", ReachabilityVerdict.CarrierGradeNat, "100.64.0.0/10")]
    [TestCase("192.168.0.10", ReachabilityVerdict.DoubleNat, "private")]
    [TestCase("203.0.113.5", ReachabilityVerdict.MappedNotVerified, "reserved")]
    public async Task TheRouterAddressClassExplainsTheVerdict(string routerAddress, ReachabilityVerdict expected, string hint)
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.84.0.6")) { PublicAddress = IPAddress.Parse(routerAddress) };
        var mapper = await PortMapper.DiscoverAsync(MapperOptions(router.Address));
        var gateway = await ReachabilityCheck.CheckAsync(mapper, null, Options());
        var mapping = await ReachabilityCheck.ProbeAsync(mapper, Probe(5006), Options(verify: (_, _) => Task.FromResult(false)));
        TestContext.Out.WriteLine(gateway + "\n" + mapping);
        Assert.That(gateway.Verdict, Is.EqualTo(expected));
        Assert.That(gateway.Hint, Does.Contain(hint));
        Assert.That(mapping.Verdict, Is.EqualTo(expected == ReachabilityVerdict.MappedNotVerified ? ReachabilityVerdict.NotReachable : expected),
            "a failed connection is explained by the address when the address explains it");
    }

    [Test]
    public async Task ARefusedMappingIsRefusedWithTheProtocolsCode()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.84.0.7")) { PublicAddress = PublicAddress, RefuseMapsWith = 2 };
        var mapper = await PortMapper.DiscoverAsync(MapperOptions(router.Address));
        var report = await ReachabilityCheck.ProbeAsync(mapper, Probe(5007), Options());
        TestContext.Out.WriteLine(report);
        Assert.That(report.Verdict, Is.EqualTo(ReachabilityVerdict.Refused));
        Assert.That(report.RefusalCode, Is.EqualTo(2));
        Assert.That(report.RefusalText, Is.Not.Empty);
        Assert.That(report.Hint, Does.StartWith("The router refused the mapping (2: "));
    }

    [Test]
    public async Task NoRouterIsNoGateway()
    {
        // Nothing listens on 127.84.0.8:5351: ICMP port unreachable, at once.
        var report = await ReachabilityCheck.CheckGatewayAsync(Options(), MapperOptions(IPAddress.Parse("127.84.0.8")));
        TestContext.Out.WriteLine(report);
        Assert.That(report.Verdict, Is.EqualTo(ReachabilityVerdict.NoGateway));
        Assert.That(report.Method, Is.Null);
        Assert.That(report.Evidence.Single(), Does.StartWith("No protocol answered"));
        Assert.That(report.Hint, Does.Contain("forward the port by hand"));
    }

    [Test]
    public async Task AStunServerThatDoesNotAnswerIsEvidenceNotAFailure()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.84.0.9")) { PublicAddress = PublicAddress };
        using var stun = Stun("127.84.1.4", PublicAddress);
        var mapper = await PortMapper.DiscoverAsync(MapperOptions(router.Address));
        // The first server is silent (nothing bound: ICMP, or silence), the second answers.
        var options = Options() with { StunServers = new[] { new IPEndPoint(IPAddress.Parse("127.84.1.99"), 3478), stun.Primary }, Timeout = TimeSpan.FromMilliseconds(500) };
        var report = await ReachabilityCheck.CheckAsync(mapper, null, options);
        TestContext.Out.WriteLine(report);
        Assert.That(report.StunServer, Is.EqualTo(stun.Primary));
        Assert.That(report.Evidence, Has.Some.StartsWith("STUN 127.84.1.99:3478: "));
        Assert.That(report.StunAgrees, Is.True);
    }

    [Test]
    public async Task BadOptionsThrowBeforeAnyIo()
    {
        using var router = new PmpPcpRouter(IPAddress.Parse("127.84.0.10"));
        var mapper = await PortMapper.DiscoverAsync(MapperOptions(router.Address));
        await Task.Delay(300); // the race's stopped NAT-PMP probe may have a request in flight
        int before = router.Requests;
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ReachabilityCheck.CheckAsync(mapper, null, new ReachabilityOptions { Timeout = TimeSpan.Zero }));
        Assert.ThrowsAsync<ArgumentException>(() => ReachabilityCheck.CheckAsync(mapper, null, new ReachabilityOptions { StunServers = new IPEndPoint[] { null! } }));
        Assert.ThrowsAsync<ArgumentException>(() => ReachabilityCheck.CheckAsync(mapper, null,
            new ReachabilityOptions { StunServers = new[] { new IPEndPoint(IPAddress.Loopback, 0) } }));
        Assert.ThrowsAsync<ArgumentException>(() => ReachabilityCheck.CheckAsync(mapper, null,
            new ReachabilityOptions { StunServers = new[] { new IPEndPoint(IPAddress.Parse("224.0.0.1"), 3478) } }));
        Assert.ThrowsAsync<ArgumentException>(() => ReachabilityCheck.CheckGatewayAsync(null,
            new PortMapperOptions { Gateway = IPAddress.Broadcast }));
        Assert.ThrowsAsync<ArgumentNullException>(() => ReachabilityCheck.CheckAsync(null!, null));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ReachabilityCheck.ProbeAsync(mapper, new PortMappingLeaseOptions(PortMappingProtocol.Tcp, 0)));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ReachabilityCheck.CheckGatewayAsync(new ReachabilityOptions { Timeout = TimeSpan.FromHours(1) }));
        Assert.That(router.Requests, Is.EqualTo(before));

        var lease = await mapper.LeaseAsync(Probe(5010));
        await lease.DisposeAsync();
        Assert.ThrowsAsync<ObjectDisposedException>(() => ReachabilityCheck.CheckAsync(mapper, lease));
    }
}
