using System;
using System.Collections.Generic;
using System.Linq;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Port;

/// <summary>
/// Bad input fails fast with an ArgumentException naming the parameter, before any network I/O: no IGD is selected
/// here, so a call that got as far as the network would throw UpnpException instead.
/// </summary>
public class BadArgumentTests
{
    private static readonly string LongText = new('d', 2100);

    private static IEnumerable<TestCaseData> Cases()
    {
        TestCaseData Case(string name, Type exception, string param, Action<UPnP> call) =>
            new TestCaseData(exception, param, call).SetName(name);

        // Constructor: Python's own localport check ("Invalid localport value"), and strings C cannot carry.
        foreach (uint localport in new uint[] { 2, 80, 1023, 65535, 100000, uint.MaxValue })
        {
            yield return Case($"ctor localport {localport}", typeof(ArgumentOutOfRangeException), "localport", _ => _ = new UPnP(localport: localport));
        }
        yield return Case("ctor multicastif with NUL", typeof(ArgumentException), "multicastif", _ => _ = new UPnP(multicastif: "eth0\0x"));
        yield return Case("ctor minissdpdsocket with NUL", typeof(ArgumentException), "minissdpdsocket", _ => _ = new UPnP(minissdpdsocket: "/run\0"));
        yield return Case("SelectIgd url with NUL", typeof(ArgumentException), "rootDescUrl", u => u.SelectIgd("http://127.0.0.1/\0"));

        // AddPortMapping
        yield return Case("Add externalPort -1", typeof(ArgumentOutOfRangeException), "externalPort", u => u.AddPortMapping(-1, "TCP", "10.0.0.2", 80, null, null));
        yield return Case("Add externalPort 65536", typeof(ArgumentOutOfRangeException), "externalPort", u => u.AddPortMapping(65536, "TCP", "10.0.0.2", 80, null, null));
        yield return Case("Add internalPort 0", typeof(ArgumentOutOfRangeException), "internalPort", u => u.AddPortMapping(8080, "TCP", "10.0.0.2", 0, null, null));
        yield return Case("Add internalPort -5", typeof(ArgumentOutOfRangeException), "internalPort", u => u.AddPortMapping(8080, "TCP", "10.0.0.2", -5, null, null));
        yield return Case("Add internalPort 70000", typeof(ArgumentOutOfRangeException), "internalPort", u => u.AddPortMapping(8080, "TCP", "10.0.0.2", 70000, null, null));
        yield return Case("Add protocol null", typeof(ArgumentNullException), "protocol", u => u.AddPortMapping(8080, null!, "10.0.0.2", 80, null, null));
        yield return Case("Add protocol ICMP", typeof(ArgumentException), "protocol", u => u.AddPortMapping(8080, "ICMP", "10.0.0.2", 80, null, null));
        yield return Case("Add protocol empty", typeof(ArgumentException), "protocol", u => u.AddPortMapping(8080, "", "10.0.0.2", 80, null, null));
        yield return Case("Add protocol with space", typeof(ArgumentException), "protocol", u => u.AddPortMapping(8080, "TCP ", "10.0.0.2", 80, null, null));
        yield return Case("Add internalHost null", typeof(ArgumentNullException), "internalHost", u => u.AddPortMapping(8080, "TCP", null!, 80, null, null));
        yield return Case("Add internalHost with NUL", typeof(ArgumentException), "internalHost", u => u.AddPortMapping(8080, "TCP", "10.0.0.2\0", 80, null, null));
        yield return Case("Add description with NUL", typeof(ArgumentException), "description", u => u.AddPortMapping(8080, "TCP", "10.0.0.2", 80, "a\0b", null));
        yield return Case("Add description too long", typeof(ArgumentException), "description", u => u.AddPortMapping(8080, "TCP", "10.0.0.2", 80, LongText, null));
        yield return Case("Add remoteHost with NUL", typeof(ArgumentException), "remoteHost", u => u.AddPortMapping(8080, "TCP", "10.0.0.2", 80, null, "\0"));
        yield return Case("Add remoteHost too long", typeof(ArgumentException), "remoteHost", u => u.AddPortMapping(8080, "TCP", "10.0.0.2", 80, "x", LongText));

        // AddAnyPortMapping
        yield return Case("AddAny externalPort 65536", typeof(ArgumentOutOfRangeException), "externalPort", u => u.AddAnyPortMapping(65536, "UDP", "10.0.0.2", 80, null, null));
        yield return Case("AddAny internalPort 0", typeof(ArgumentOutOfRangeException), "internalPort", u => u.AddAnyPortMapping(8080, "UDP", "10.0.0.2", 0, null, null));
        yield return Case("AddAny protocol SCTP", typeof(ArgumentException), "protocol", u => u.AddAnyPortMapping(8080, "SCTP", "10.0.0.2", 80, null, null));
        yield return Case("AddAny protocol null", typeof(ArgumentNullException), "protocol", u => u.AddAnyPortMapping(8080, null!, "10.0.0.2", 80, null, null));
        yield return Case("AddAny internalHost null", typeof(ArgumentNullException), "internalHost", u => u.AddAnyPortMapping(8080, "UDP", null!, 80, null, null));
        yield return Case("AddAny description too long", typeof(ArgumentException), "description", u => u.AddAnyPortMapping(8080, "UDP", "10.0.0.2", 80, LongText, null));

        // DeletePortMapping
        yield return Case("Delete externalPort -1", typeof(ArgumentOutOfRangeException), "externalPort", u => u.DeletePortMapping(-1, "TCP"));
        yield return Case("Delete externalPort 99999", typeof(ArgumentOutOfRangeException), "externalPort", u => u.DeletePortMapping(99999, "TCP"));
        yield return Case("Delete protocol null", typeof(ArgumentNullException), "protocol", u => u.DeletePortMapping(8080, null!));
        yield return Case("Delete protocol GRE", typeof(ArgumentException), "protocol", u => u.DeletePortMapping(8080, "GRE"));
        yield return Case("Delete remoteHost with NUL", typeof(ArgumentException), "remoteHost", u => u.DeletePortMapping(8080, "TCP", "1.2.3.4\0"));
        yield return Case("Delete remoteHost too long", typeof(ArgumentException), "remoteHost", u => u.DeletePortMapping(8080, "TCP", LongText));

        // DeletePortMappingRange
        yield return Case("DeleteRange startPort -1", typeof(ArgumentOutOfRangeException), "startPort", u => u.DeletePortMappingRange(-1, 10, "TCP", 1));
        yield return Case("DeleteRange endPort 65536", typeof(ArgumentOutOfRangeException), "endPort", u => u.DeletePortMappingRange(1, 65536, "TCP", 1));
        yield return Case("DeleteRange protocol null", typeof(ArgumentNullException), "protocol", u => u.DeletePortMappingRange(1, 2, null!, 1));
        yield return Case("DeleteRange protocol ALL", typeof(ArgumentException), "protocol", u => u.DeletePortMappingRange(1, 2, "ALL", 1));
        yield return Case("DeleteRange manage -1", typeof(ArgumentOutOfRangeException), "manage", u => u.DeletePortMappingRange(1, 2, "TCP", -1));
        yield return Case("DeleteRange manage 256", typeof(ArgumentOutOfRangeException), "manage", u => u.DeletePortMappingRange(1, 2, "TCP", 256));

        // GetSpecificPortMapping
        yield return Case("GetSpecific externalPort -1", typeof(ArgumentOutOfRangeException), "externalPort", u => u.GetSpecificPortMapping(-1, "TCP"));
        yield return Case("GetSpecific externalPort 65536", typeof(ArgumentOutOfRangeException), "externalPort", u => u.GetSpecificPortMapping(65536, "TCP"));
        yield return Case("GetSpecific protocol null", typeof(ArgumentNullException), "protocol", u => u.GetSpecificPortMapping(80, null!));
        yield return Case("GetSpecific protocol icmp", typeof(ArgumentException), "protocol", u => u.GetSpecificPortMapping(80, "icmp"));
        yield return Case("GetSpecific remoteHost with NUL", typeof(ArgumentException), "remoteHost", u => u.GetSpecificPortMapping(80, "tcp", "\0"));
    }

    [TestCaseSource(nameof(Cases))]
    public void BadArgumentThrowsNamingTheParameter(Type exception, string param, Action<UPnP> call)
    {
        using var upnp = new UPnP();
        var thrown = Assert.Throws(exception, () => call(upnp));
        Assert.That(((ArgumentException)thrown!).ParamName, Is.EqualTo(param));
    }

    [Test]
    public void AtLeastFortyCases()
    {
        Assert.That(Cases().Count(), Is.GreaterThanOrEqualTo(40));
    }

    [Test]
    public void InvalidLocalPortHasPythonsText()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new UPnP(localport: 80));
        Assert.That(e!.Message, Does.StartWith("Invalid localport value"));
    }

    [TestCase(0u)]
    [TestCase(1u)]
    [TestCase(1024u)]
    [TestCase(65534u)]
    public void ValidLocalPortsAreAccepted(uint localport)
    {
        using var upnp = new UPnP(localport: localport);
        Assert.That(upnp.LocalPort, Is.EqualTo(localport));
    }

    [TestCase("tcp")]
    [TestCase("Udp")]
    public void ProtocolIsCaseInsensitiveAndPassedThroughLikePython(string protocol)
    {
        // No IGD selected: the call reaches miniupnpc, which fails on the missing control URL (not an ArgumentException).
        using var upnp = new UPnP();
        var e = Assert.Throws<UpnpException>(() => upnp.DeletePortMapping(8080, protocol));
        Assert.That(e!.Code, Is.EqualTo(Miniupnpc.UPNPCOMMAND_HTTP_ERROR));
        Assert.That(e.Message, Is.EqualTo("Miniupnpc HTTP error"));
    }

    [Test]
    public void ExternalPortZeroIsPassedThroughLikePython()
    {
        using var upnp = new UPnP();
        Assert.Throws<UpnpException>(() => upnp.AddPortMapping(0, "TCP", "10.0.0.2", 80, null, null));
    }
}
