using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Port;

/// <summary>Upstream's own test vectors (testdesc/, testportlistingparse.c, upnperrors.c), run through the binding.</summary>
public class UpstreamVectorTests
{
    private static IEnumerable<string> DescriptionFiles() =>
        Directory.GetFiles(Path.Combine(TestPaths.UpstreamSource, "testdesc"), "*.xml").OrderBy(f => f, StringComparer.Ordinal);

    [TestCaseSource(nameof(DescriptionFiles))]
    public void ParserootdescGivesTheValuesOfTheValuesFile(string xmlFile)
    {
        var expected = ReadValuesFile(Path.ChangeExtension(xmlFile, ".values"));
        Assert.That(expected, Is.Not.Empty, "the .values file lists services");

        var data = new IGDdatas();
        Miniupnpc.parserootdesc(File.ReadAllBytes(xmlFile), data);

        var services = new Dictionary<string, IGDdatas_service>
        {
            ["CIF"] = data.CIF, ["first"] = data.first, ["second"] = data.second, ["IPv6FC"] = data.IPv6FC,
        };
        Assert.Multiple(() =>
        {
            foreach (var ((section, field), value) in expected)
            {
                var service = services[section];
                string actual = field switch
                {
                    "controlurl" => service.controlurl,
                    "eventsuburl" => service.eventsuburl,
                    "scpdurl" => service.scpdurl,
                    "servicetype" => service.servicetype,
                    _ => throw new InvalidDataException($"unknown field {field}"),
                };
                Assert.That(actual, Is.EqualTo(value), $"{section}.{field}");
            }
        });
    }

    /// <summary>The format testigddescparse.c reads: "section:" lines, then " name = value" lines.</summary>
    private static Dictionary<(string Section, string Field), string> ReadValuesFile(string path)
    {
        var values = new Dictionary<(string, string), string>();
        string? section = null;
        foreach (var raw in File.ReadLines(path))
        {
            string line = raw.TrimEnd();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            if (!char.IsWhiteSpace(line[0]) && line.EndsWith(':'))
            {
                section = line[..^1];
                continue;
            }
            int eq = line.IndexOf(" = ", StringComparison.Ordinal);
            values[(section!, line[..eq].Trim())] = line[(eq + 3)..];
        }
        return values;
    }

    // testportlistingparse.c's document and expectations.
    private const string PortListingDocument =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" +
        "<p:PortMappingList xmlns:p=\"urn:schemas-upnp-org:gw:WANIPConnection\"\n" +
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \n" +
        "xsi:schemaLocation=\"urn:schemas-upnp-org:gw:WANIPConnection http://www.upnp.org/schemas/gw/WANIPConnection-v2.xsd\">\n" +
        " <p:PortMappingEntry>\n  <p:NewRemoteHost></p:NewRemoteHost>\n  <p:NewExternalPort>5002</p:NewExternalPort>\n" +
        "  <p:NewProtocol>UDP</p:NewProtocol>\n  <p:NewInternalPort>4001</p:NewInternalPort>\n" +
        "  <p:NewInternalClient>192.168.1.123</p:NewInternalClient>\n  <p:NewEnabled>1</p:NewEnabled>\n" +
        "  <p:NewDescription>xxx</p:NewDescription>\n  <p:NewLeaseTime>0</p:NewLeaseTime>\n </p:PortMappingEntry>\n" +
        " <p:PortMappingEntry>\n  <p:NewRemoteHost>202.233.2.1</p:NewRemoteHost>\n  <p:NewExternalPort>2345</p:NewExternalPort>\n" +
        "  <p:NewProtocol>TCP</p:NewProtocol>\n  <p:NewInternalPort>2349</p:NewInternalPort>\n" +
        "  <p:NewInternalClient>192.168.1.137</p:NewInternalClient>\n  <p:NewEnabled>1</p:NewEnabled>\n" +
        "  <p:NewDescription>dooom</p:NewDescription>\n  <p:NewLeaseTime>346</p:NewLeaseTime>\n </p:PortMappingEntry>\n" +
        " <p:PortMappingEntry>\n  <p:NewRemoteHost>134.231.2.11</p:NewRemoteHost>\n  <p:NewExternalPort>12345</p:NewExternalPort>\n" +
        "  <p:NewProtocol>TCP</p:NewProtocol>\n  <p:NewInternalPort>12345</p:NewInternalPort>\n" +
        "  <p:NewInternalClient>192.168.1.137</p:NewInternalClient>\n  <p:NewEnabled>1</p:NewEnabled>\n" +
        "  <p:NewDescription>dooom A</p:NewDescription>\n  <p:NewLeaseTime>347</p:NewLeaseTime>\n </p:PortMappingEntry>\n" +
        "</p:PortMappingList>";

    [Test]
    public void EmptyDocumentsParseToNothingInsteadOfReadingAddressZero()
    {
        var data = new IGDdatas();
        Miniupnpc.parserootdesc(ReadOnlySpan<byte>.Empty, data);
        Assert.That(data.first.controlurl, Is.Empty);
        using var listing = new SafePortListingHandle();
        Miniupnpc.ParsePortListing(Array.Empty<byte>(), listing);
        Assert.That(listing.Entries, Is.Empty);
    }

    [Test]
    public void ParsePortListingGivesUpstreamsExpectedEntries()
    {
        using var listing = new SafePortListingHandle();
        Miniupnpc.ParsePortListing(Encoding.UTF8.GetBytes(PortListingDocument), listing);

        // miniupnpc prepends, so the list comes out in reverse document order (as testportlistingparse.c expects).
        Assert.That(listing.Entries, Is.EqualTo(new[]
        {
            new PortMapping(347, 12345, 12345, "134.231.2.11", "192.168.1.137", "dooom A", "TCP", 1),
            new PortMapping(346, 2345, 2349, "202.233.2.1", "192.168.1.137", "dooom", "TCP", 1),
            new PortMapping(0, 5002, 4001, "", "192.168.1.123", "xxx", "UDP", 1),
        }));
    }

    [Test]
    public void ParsePortListingAgainFreesThePreviousEntries()
    {
        using var listing = new SafePortListingHandle();
        Miniupnpc.ParsePortListing(Encoding.UTF8.GetBytes(PortListingDocument), listing);
        Miniupnpc.ParsePortListing(Encoding.UTF8.GetBytes(PortListingDocument), listing);
        Assert.That(listing.Entries, Has.Count.EqualTo(3));
        Miniupnpc.FreePortListing(listing);
        Assert.That(listing.Entries, Is.Empty);
    }

    /// <summary>Every "case X: s = "text";" of upnperrors.c, read from the pinned source.</summary>
    private static IEnumerable<TestCaseData> ErrorTexts()
    {
        string source = File.ReadAllText(Path.Combine(TestPaths.UpstreamSource, "src", "upnperrors.c"));
        var constants = typeof(Miniupnpc).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(int))
            .ToDictionary(f => f.Name, f => (int)f.GetRawConstantValue()!);
        var pending = new List<int>();
        foreach (Match m in Regex.Matches(source, @"case\s+([A-Z_0-9-]+)\s*:|s\s*=\s*""([^""]*)"""))
        {
            if (m.Groups[1].Success)
            {
                string label = m.Groups[1].Value;
                pending.Add(int.TryParse(label, out int n) ? n : constants[label]);
            }
            else
            {
                foreach (int code in pending)
                {
                    yield return new TestCaseData(code, m.Groups[2].Value).SetArgDisplayNames(code.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
                pending.Clear();
            }
        }
    }

    [TestCaseSource(nameof(ErrorTexts))]
    public void StrupnperrorGivesUpstreamsText(int code, string text)
    {
        Assert.That(Miniupnpc.strupnperror(code), Is.EqualTo(text));
    }

    [Test]
    public void ErrorTextsCoverUpstreamsTable()
    {
        Assert.That(ErrorTexts().Count(), Is.GreaterThanOrEqualTo(40), "upnperrors.c has about 40 cases");
    }

    [Test]
    public void StrupnperrorOfAnUnknownCodeIsUpstreamsDefault()
    {
        Assert.That(Miniupnpc.strupnperror(12345), Is.EqualTo("UnknownError"));
    }
}
