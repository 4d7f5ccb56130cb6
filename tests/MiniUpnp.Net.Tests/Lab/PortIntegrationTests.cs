using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Lab;

/// <summary>Every member of the Python-shaped UPnP against the lab's real miniupnpd.</summary>
public class PortIntegrationTests
{
    private UPnP _upnp = null!;

    [SetUp]
    public void SelectTheLabIgd()
    {
        LabEnvironment.Require();
        _upnp = new UPnP();
        _upnp.SelectIgd(LabEnvironment.RootDescUrl);
    }

    [TearDown]
    public void Dispose() => _upnp?.Dispose();

    [Test]
    public void DiscoverAndSelectFindTheLabIgd()
    {
        using var upnp = new UPnP(discoverdelay: 1000);
        Assert.That(upnp.Discover(), Is.GreaterThanOrEqualTo(1));
        string? controlUrl = upnp.SelectIgd();
        Assert.Multiple(() =>
        {
            Assert.That(controlUrl, Does.StartWith($"http://{LabEnvironment.IgdLanAddr}:"));
            Assert.That(upnp.LanAddr, Is.EqualTo(LabEnvironment.LanAddr));
            Assert.That(upnp.WanAddr, Is.EqualTo(LabEnvironment.IgdWanAddr));
        });
    }

    [Test]
    public void SelectingTwiceKeepsWorking()
    {
        Assert.That(_upnp.SelectIgd(LabEnvironment.RootDescUrl), Does.StartWith("http://"));
        Assert.That(_upnp.ExternalIpAddress(), Is.EqualTo(LabEnvironment.IgdWanAddr));
    }

    [Test]
    public void ReadOnlyCallsDescribeTheLabRouter()
    {
        var (status, uptime, lastError) = _upnp.StatusInfo();
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo("Connected"));
            Assert.That(lastError, Is.EqualTo("ERROR_NONE"));
            Assert.That(uptime, Is.GreaterThanOrEqualTo(0));
            Assert.That(_upnp.ConnectionType(), Is.EqualTo("IP_Routed"));
            Assert.That(_upnp.ExternalIpAddress(), Is.EqualTo(LabEnvironment.IgdWanAddr));
            Assert.That(_upnp.LanAddr, Is.EqualTo(LabEnvironment.LanAddr));
        });
        // Counters of the WAN interface: they only have to come back (no error code's bits: those are above 2^32-6).
        foreach (var counter in new Func<uint>[] { _upnp.TotalByteSent, _upnp.TotalByteReceived, _upnp.TotalPacketSent, _upnp.TotalPacketReceived })
        {
            Assert.That(counter(), Is.LessThan(uint.MaxValue - 10));
        }
    }

    [Test]
    public void AnAddedMappingShowsInSpecificGenericAndTheCount()
    {
        // miniupnpd 2.3.1 serves IGD:2, where PortMappingNumberOfEntries is not an action: 401, as Python reports it.
        var count = Assert.Throws<UpnpException>(() => _upnp.GetPortMappingNumberOfEntries());
        Assert.That((count!.Code, count.Message), Is.EqualTo((401, "Invalid Action")));
        int before = GenericEntries().Count;
        Assert.That(_upnp.AddPortMapping(40001, "TCP", _upnp.LanAddr, 4001, "integration", null, 600), Is.True);
        try
        {
            var specific = _upnp.GetSpecificPortMapping(40001, "TCP");
            Assert.That(specific, Is.Not.Null);
            var (client, port, desc, enabled, lease) = specific!;
            Assert.Multiple(() =>
            {
                Assert.That(client, Is.EqualTo(LabEnvironment.LanAddr));
                Assert.That(port, Is.EqualTo(4001));
                Assert.That(desc, Is.EqualTo("integration"));
                Assert.That(enabled, Is.True);
                Assert.That(lease, Is.InRange(1, 600));
                Assert.That(GenericEntries(), Has.Count.EqualTo(before + 1));
            });
            var entry = GenericEntries().Single(e => e.ExternalPort == 40001);
            var (ePort, proto, (iClient, iPort), gDesc, gEnabled, rHost, duration) = entry!;
            Assert.Multiple(() =>
            {
                Assert.That(proto, Is.EqualTo("TCP"));
                Assert.That(iClient, Is.EqualTo(LabEnvironment.LanAddr));
                Assert.That(iPort, Is.EqualTo(4001));
                Assert.That(gDesc, Is.EqualTo("integration"));
                Assert.That(gEnabled, Is.EqualTo("1"));
                Assert.That(rHost, Is.Empty);
                Assert.That(duration, Is.InRange(1u, 600u));
            });
        }
        finally
        {
            _upnp.DeletePortMapping(40001, "TCP");
        }
        Assert.That(_upnp.GetSpecificPortMapping(40001, "TCP"), Is.Null);
    }

    private System.Collections.Generic.List<GenericPortMapping> GenericEntries() =>
        Enumerable.Range(0, 256).Select(_upnp.GetGenericPortMapping).TakeWhile(e => e is not null).Select(e => e!).ToList();

    [Test]
    public void AddAnyPortMappingReturnsAnotherPortWhenTheAskedOneIsTaken()
    {
        _upnp.AddPortMapping(40010, "UDP", LabEnvironment.OtherLanHost, 4010, "holder", null);
        int reserved = 0;
        try
        {
            reserved = _upnp.AddAnyPortMapping(40010, "UDP", _upnp.LanAddr, 4011, "any", null);
            Assert.That(reserved, Is.Not.EqualTo(40010).And.InRange(1, 65535));
            Assert.That(_upnp.GetSpecificPortMapping(reserved, "UDP")!.InternalPort, Is.EqualTo(4011));
        }
        finally
        {
            _upnp.DeletePortMapping(40010, "UDP");
            if (reserved != 0)
            {
                _upnp.DeletePortMapping(reserved, "UDP");
            }
        }
    }

    [Test]
    public void DeletePortMappingRangeRemovesTheRange()
    {
        for (int p = 40020; p < 40024; p++)
        {
            _upnp.AddPortMapping(p, "TCP", _upnp.LanAddr, p, "range", null);
        }
        Assert.That(_upnp.DeletePortMappingRange(40020, 40023, "TCP", 1), Is.True);
        Assert.That(Enumerable.Range(40020, 4).Select(p => _upnp.GetSpecificPortMapping(p, "TCP")), Is.All.Null);
        var e = Assert.Throws<UpnpException>(() => _upnp.DeletePortMappingRange(40020, 40023, "TCP", 1));
        Assert.That(e!.Code, Is.EqualTo(730));
        Assert.That(e.Message, Is.EqualTo("PortMappingNotFound"));
    }

    [Test]
    public void RouterErrorsArriveAsUpnpExceptionWithCodeAndText()
    {
        _upnp.AddPortMapping(40030, "TCP", _upnp.LanAddr, 4030, "mine", null);
        try
        {
            var conflict = Assert.Throws<UpnpException>(() => _upnp.AddPortMapping(40030, "TCP", LabEnvironment.OtherLanHost, 4030, "theirs", null));
            Assert.That((conflict!.Code, conflict.Message), Is.EqualTo((718, "ConflictInMappingEntry")));
        }
        finally
        {
            _upnp.DeletePortMapping(40030, "TCP");
        }
        var wildcard = Assert.Throws<UpnpException>(() => _upnp.AddPortMapping(0, "TCP", _upnp.LanAddr, 4030, "zero", null));
        Assert.That((wildcard!.Code, wildcard.Message), Is.EqualTo((716, "WildCardNotPermittedInExtPort")));

        // "No such entry": miniupnpd answers GetSpecificPortMappingEntry with 714. (Its nftables backend answers a
        // DeletePortMapping of an absent mapping with success, so the port, like Python, reports success there.)
        int r = Miniupnpc.UPNP_GetSpecificPortMappingEntry(_upnp.SelectIgd(LabEnvironment.RootDescUrl), "urn:schemas-upnp-org:service:WANIPConnection:2",
            "40030", "TCP", null, out _, out _, out _, out _, out _);
        var noSuchEntry = new UpnpException(r);
        Assert.That((noSuchEntry.Code, noSuchEntry.Message), Is.EqualTo((714, "NoSuchEntryInArray")));
        Assert.That(_upnp.GetSpecificPortMapping(40030, "TCP"), Is.Null, "Python's getspecificportmapping returns None for it");
        Assert.That(_upnp.DeletePortMapping(40030, "TCP"), Is.True, "the router's answer, passed through as Python does");
    }

    [Test]
    public void AShortLeaseExpires()
    {
        _upnp.AddPortMapping(40040, "TCP", _upnp.LanAddr, 4040, "short lease", null, 2);
        Assert.That(_upnp.GetSpecificPortMapping(40040, "TCP"), Is.Not.Null);
        var clock = Stopwatch.StartNew();
        while (_upnp.GetSpecificPortMapping(40040, "TCP") is not null && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            Thread.Sleep(250);
        }
        TestContext.Out.WriteLine($"a 2 s lease was gone after {clock.Elapsed.TotalSeconds:F1} s");
        Assert.That(_upnp.GetSpecificPortMapping(40040, "TCP"), Is.Null, "the mapping expired within 20 s");
    }
}
