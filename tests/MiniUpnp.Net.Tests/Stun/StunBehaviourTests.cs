using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using NUnit.Framework;
using Kind = MiniUpnp.Net.StunBehaviourTestKind;
using Reply = MiniUpnp.Net.Tests.Stun.StunResponder.Reply;

namespace MiniUpnp.Net.Tests.Stun;

/// <summary>
/// RFC 5780 behaviour discovery against the loopback server with its four sockets: loopback itself (no NAT), then a NAT
/// the server plays (the mapped address it reports per socket, the answers it drops), a server without OTHER-ADDRESS,
/// one that ignores CHANGE-REQUEST, and errors: each verdict with the tests behind it, and nothing guessed.
/// </summary>
public class StunBehaviourTests
{
    private static readonly IPAddress Public = IPAddress.Parse("203.0.113.5");

    private static Task<T> Bounded<T>(Task<T> task) => StunClientTests.Bounded(task);

    [Test]
    public async Task LoopbackIsEndpointIndependentInMappingAndFiltering()
    {
        using var server = new StunResponder();
        var behaviour = await Bounded(StunResponder.Client().DetectBehaviourAsync(server.Primary));

        Assert.That((behaviour.Mapping, behaviour.Filtering), Is.EqualTo((StunMappingBehaviour.EndpointIndependent, StunFilteringBehaviour.EndpointIndependent)));
        Assert.That((behaviour.IsTranslated, behaviour.ServerSupportsBehaviourDiscovery), Is.EqualTo((false, true)));
        Assert.That(behaviour.Tests.Select(t => t.Kind), Is.EqualTo(new[] { Kind.Binding, Kind.FilteringChangeAddressAndPort }));
        var filtering = behaviour.Tests[1];
        Assert.That((filtering.Answered, filtering.Destination, filtering.Change, filtering.ExpectedOrigin),
            Is.EqualTo((true, server.Primary, StunChangeRequest.ChangeAddress | StunChangeRequest.ChangePort, server.Alternate)));
        Assert.That((filtering.Binding!.AnsweredFrom, filtering.Binding.ResponseOrigin), Is.EqualTo((server.Alternate, server.Alternate)));
        Assert.That(StunResponder.ChangeFlags(server.Requests.Last().Bytes), Is.EqualTo(6u), "change IP and port");
        Assert.That(behaviour.Explanation, Does.Contain("no NAT").And.Contain($"the answer from the alternate address and port {server.Alternate} arrived"));
        Assert.That(behaviour.ToString(), Does.StartWith("mapping EndpointIndependent, filtering EndpointIndependent"));
    }

    [Test]
    public async Task AnEndpointIndependentMappingIsFoundWithTestII()
    {
        using var server = new StunResponder { MappedAs = (_, _) => new IPEndPoint(Public, 50000) };
        var behaviour = await Bounded(StunResponder.Client().DetectBehaviourAsync(server.Primary));
        Assert.That(behaviour.Mapping, Is.EqualTo(StunMappingBehaviour.EndpointIndependent));
        Assert.That(behaviour.IsTranslated, Is.True);
        Assert.That(behaviour.Tests.Select(t => t.Kind), Is.EqualTo(new[] { Kind.Binding, Kind.FilteringChangeAddressAndPort, Kind.MappingAlternateAddress }));
        Assert.That(behaviour.Tests[2].Destination, Is.EqualTo(server.AlternateAddress));
        Assert.That(behaviour.Tests[2].Binding!.MappedEndPoint, Is.EqualTo(new IPEndPoint(Public, 50000)));
    }

    [Test]
    public async Task AnAddressDependentMappingIsFoundWithTestIII()
    {
        // The NAT's port depends on the destination's address only.
        using var server = new StunResponder { MappedAs = (at, _) => new IPEndPoint(Public, 50000 + at.Address.GetAddressBytes()[3]) };
        var behaviour = await Bounded(StunResponder.Client().DetectBehaviourAsync(server.Primary));
        Assert.That(behaviour.Mapping, Is.EqualTo(StunMappingBehaviour.AddressDependent));
        Assert.That(behaviour.Tests.Select(t => t.Kind), Is.EqualTo(new[]
            { Kind.Binding, Kind.FilteringChangeAddressAndPort, Kind.MappingAlternateAddress, Kind.MappingAlternateAddressAndPort }));
        Assert.That(behaviour.Tests[3].Destination, Is.EqualTo(server.Alternate));
        Assert.That(behaviour.Tests.Select(t => t.Binding!.MappedEndPoint.Port), Is.EqualTo(new[] { 50001, 50001, 50002, 50002 }));
    }

    [Test]
    public async Task AnAddressAndPortDependentMappingIsFoundWithTestIII()
    {
        using var server = new StunResponder { MappedAs = (at, _) => new IPEndPoint(Public, (at.Port % 20000) + at.Address.GetAddressBytes()[3]) };
        var behaviour = await Bounded(StunResponder.Client().DetectBehaviourAsync(server.Primary));
        Assert.That(behaviour.Mapping, Is.EqualTo(StunMappingBehaviour.AddressAndPortDependent));
        Assert.That(behaviour.Tests, Has.Count.EqualTo(4));
        Assert.That(behaviour.Tests.Select(t => t.Binding!.MappedEndPoint).Distinct().Count(), Is.EqualTo(3), "test I, II and III each see another mapping");
    }

    [Test]
    public async Task AddressDependentFilteringIsFoundWithTestIII()
    {
        // A NAT that lets answers through from the server's address only (any port).
        StunResponder? self = null;
        using var server = self = new StunResponder { Filter = from => from.Address.Equals(self!.Primary.Address) };
        var behaviour = await Bounded(StunResponder.Client(timeoutMs: 500).DetectBehaviourAsync(server.Primary));
        Assert.That(behaviour.Filtering, Is.EqualTo(StunFilteringBehaviour.AddressDependent));
        Assert.That(behaviour.Tests.Select(t => (t.Kind, t.Answered)), Is.EqualTo(new[]
            { (Kind.Binding, true), (Kind.FilteringChangeAddressAndPort, false), (Kind.FilteringChangePort, true) }));
        Assert.That(behaviour.Tests[1].Failure, Does.Contain("no valid answer").And.Contain("within 500 ms"));
        Assert.That(behaviour.Tests[2].Binding!.AnsweredFrom, Is.EqualTo(server.AlternatePort));
        Assert.That(StunResponder.ChangeFlags(server.Requests.Last().Bytes), Is.EqualTo(2u), "change port");
    }

    [Test]
    public async Task AddressAndPortDependentFilteringIsFoundWhenBothStaySilent()
    {
        StunResponder? self = null;
        using var server = self = new StunResponder { Filter = from => from.Equals(self!.Primary) };
        var behaviour = await Bounded(StunResponder.Client(timeoutMs: 500).DetectBehaviourAsync(server.Primary));
        Assert.That(behaviour.Filtering, Is.EqualTo(StunFilteringBehaviour.AddressAndPortDependent));
        Assert.That(behaviour.Mapping, Is.EqualTo(StunMappingBehaviour.EndpointIndependent));
        Assert.That(behaviour.Tests.Select(t => (t.Kind, t.Answered)), Is.EqualTo(new[]
            { (Kind.Binding, true), (Kind.FilteringChangeAddressAndPort, false), (Kind.FilteringChangePort, false) }));
    }

    [Test]
    public async Task AServerWithoutOtherAddressIsNotSupportedAndNothingMoreIsSent()
    {
        using var server = new StunResponder(rfc5780: false);
        var behaviour = await Bounded(StunResponder.Client().DetectBehaviourAsync(server.Primary));
        Assert.That((behaviour.Mapping, behaviour.Filtering), Is.EqualTo((StunMappingBehaviour.NotSupported, StunFilteringBehaviour.NotSupported)));
        Assert.That(behaviour.ServerSupportsBehaviourDiscovery, Is.False);
        Assert.That(behaviour.Explanation, Does.Contain("sent no OTHER-ADDRESS"));
        Assert.That(behaviour.Tests.Select(t => t.Kind), Is.EqualTo(new[] { Kind.Binding }));
        Assert.That(server.Requests, Has.Count.EqualTo(1));
        Assert.That(behaviour.MappedEndPoint, Is.EqualTo(server.Requests.Single().From), "test I's answer is kept");
    }

    [Test]
    public async Task ChangedAddressOfRfc3489IsTakenAsTheAlternate()
    {
        StunResponder? self = null;
        using var server = self = new StunResponder(answer: r =>
        {
            var standard = self!.Standard(r);
            return [standard with { Bytes = StunResponder.Success(r.Bytes, r.From, other: self.Alternate, otherType: 0x0005) }];
        });
        var behaviour = await Bounded(StunResponder.Client().DetectBehaviourAsync(server.Primary));
        Assert.That(behaviour.Binding.OtherAddress, Is.EqualTo(server.Alternate));
        Assert.That((behaviour.Mapping, behaviour.Filtering), Is.EqualTo((StunMappingBehaviour.EndpointIndependent, StunFilteringBehaviour.EndpointIndependent)));
    }

    [Test]
    public async Task AServerThatIgnoresChangeRequestLeavesFilteringUnknown()
    {
        // OTHER-ADDRESS, but every answer comes from the socket the request went to.
        StunResponder? self = null;
        using var server = self = new StunResponder(answer: r =>
            [new Reply(StunResponder.Success(r.Bytes, r.From, other: self!.Alternate, origin: r.At))]);
        var behaviour = await Bounded(StunResponder.Client().DetectBehaviourAsync(server.Primary));
        Assert.That(behaviour.Filtering, Is.EqualTo(StunFilteringBehaviour.Unknown));
        Assert.That(behaviour.Tests[1].Failure, Does.Contain($"answered from {server.Primary}, not {server.Alternate}: the server does not honour CHANGE-REQUEST"));
        Assert.That(behaviour.Tests[1].Binding, Is.Not.Null, "the answer is kept as evidence");
        Assert.That(behaviour.Tests, Has.Count.EqualTo(2), "no change-port test after a failed test II");
    }

    [Test]
    public async Task AnErrorToChangeRequestLeavesFilteringUnknown()
    {
        StunResponder? self = null;
        using var server = self = new StunResponder(answer: r => StunResponder.ChangeFlags(r.Bytes) != 0
            ? [new Reply(StunResponder.Error(r.Bytes, 420, "Unknown Attribute"))]
            : [self!.Standard(r)]);
        var behaviour = await Bounded(StunResponder.Client().DetectBehaviourAsync(server.Primary));
        Assert.That(behaviour.Filtering, Is.EqualTo(StunFilteringBehaviour.Unknown));
        Assert.That(behaviour.Tests[1].Failure, Is.EqualTo("error 420 Unknown Attribute"));
        Assert.That(behaviour.Explanation, Does.Contain("error 420"));
    }

    [Test]
    public async Task AnAlternateWithTheSameAddressLeavesBothUnknown()
    {
        StunResponder? self = null;
        using var server = self = new StunResponder(answer: r =>
            [new Reply(StunResponder.Success(r.Bytes, r.From, other: self!.AlternatePort))]);
        var behaviour = await Bounded(StunResponder.Client().DetectBehaviourAsync(server.Primary));
        Assert.That((behaviour.Mapping, behaviour.Filtering), Is.EqualTo((StunMappingBehaviour.Unknown, StunFilteringBehaviour.Unknown)));
        Assert.That(behaviour.Explanation, Does.Contain("does not differ"));
        Assert.That(server.Requests, Has.Count.EqualTo(1));
    }

    [TestCase("255.255.255.255")]
    [TestCase("239.1.2.3")]
    [TestCase("0.0.0.0")]
    [TestCase("::1")]
    public async Task AnAlternateThatIsNotAUnicastAddressOfTheFamilyIsNeverSentTo(string address)
    {
        var other = new IPEndPoint(IPAddress.Parse(address), 3479);
        using var server = new StunResponder(answer: r => [new Reply(StunResponder.Success(r.Bytes, r.From, other: other))]);
        var behaviour = await Bounded(StunResponder.Client().DetectBehaviourAsync(server.Primary));
        Assert.That((behaviour.Mapping, behaviour.Filtering), Is.EqualTo((StunMappingBehaviour.Unknown, StunFilteringBehaviour.Unknown)));
        Assert.That(behaviour.Explanation, Does.Contain("is not a unicast address and port of the server's family"));
        Assert.That(behaviour.Tests, Has.Count.EqualTo(1));
        Assert.That(server.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task ASilentAlternateAddressLeavesTheMappingUnknown()
    {
        // A NAT in front (the mapped address is not ours) and nothing comes back from the alternate address at all.
        StunResponder? self = null;
        using var server = self = new StunResponder
        {
            MappedAs = (_, _) => new IPEndPoint(Public, 50000),
            Filter = from => from.Address.Equals(self!.Primary.Address),
        };
        var behaviour = await Bounded(StunResponder.Client(timeoutMs: 400).DetectBehaviourAsync(server.Primary));
        Assert.That(behaviour.Mapping, Is.EqualTo(StunMappingBehaviour.Unknown));
        Assert.That(behaviour.Tests.Last().Kind, Is.EqualTo(Kind.MappingAlternateAddress));
        Assert.That(behaviour.Tests.Last().Answered, Is.False);
    }

    [Test]
    public void TestIFailuresThrow()
    {
        using (var silent = new StunResponder(answer: _ => []))
        {
            Assert.ThrowsAsync<TimeoutException>(() => Bounded(StunResponder.Client(timeoutMs: 400).DetectBehaviourAsync(silent.Primary)));
        }
        using var refusing = new StunResponder(answer: r => [new Reply(StunResponder.Error(r.Bytes, 500, "Server Error"))]);
        var e = Assert.ThrowsAsync<StunException>(() => Bounded(StunResponder.Client().DetectBehaviourAsync(refusing.Primary)));
        Assert.That(e!.Code, Is.EqualTo(500));
    }

    [Test]
    public async Task AllTestsGoFromTheApplicationsSocket()
    {
        using var server = new StunResponder { MappedAs = (at, _) => new IPEndPoint(Public, 50000 + at.Address.GetAddressBytes()[3]) };
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Parse("127.85.0.15"), 0));
        var behaviour = await Bounded(StunResponder.Client().DetectBehaviourFromAsync(socket, server.Primary));
        Assert.That(behaviour.Mapping, Is.EqualTo(StunMappingBehaviour.AddressDependent));
        Assert.That(behaviour.LocalEndPoint, Is.EqualTo(socket.LocalEndPoint));
        Assert.That(server.Requests.Select(r => r.From), Is.All.EqualTo(socket.LocalEndPoint));
        Assert.That(server.Requests.Select(r => r.At).Distinct().Count(), Is.EqualTo(3), "primary, alternate address, alternate both");
    }
}
