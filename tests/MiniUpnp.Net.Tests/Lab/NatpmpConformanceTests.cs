using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using MiniUpnp.Net.Python;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Lab;

/// <summary>
/// Conformance with Python for NAT-PMP: one scripted sequence (natpmp_conformance.py) runs through libnatpmp's own
/// Python module (20230423, built for Python 3 by tests/lab/natpmp-py3.sh), then the same sequence runs through
/// <see cref="NATPMP"/>, against the same lab router (miniupnpd's NAT-PMP on UDP 5351 of the igd's LAN address, found
/// as the lan namespace's default gateway); the two transcripts must be equal step by step. Nothing needs masking:
/// NAT-PMP answers carry no uptime or counters in what the module returns (the epoch is not returned).
/// </summary>
public class NatpmpConformanceTests
{
    private const int BasePort = 44000;

    private static string ReferencePath => Path.Combine(TestPaths.RepoRoot, "artifacts", "python-ref-natpmp", "lib");

    [Test]
    public void ThePortBehavesLikeThePythonModule()
    {
        LabEnvironment.Require();
        var python = RunPython(Path.Combine(TestPaths.RepoRoot, "tests", "MiniUpnp.Net.Tests", "Lab", "natpmp_conformance.py"),
            BasePort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var dotnet = RunSequence(BasePort);
        var (compared, differences) = Compare(python, dotnet);
        TestContext.Progress.WriteLine($"NAT-PMP conformance: {compared} steps compared, {differences.Count} differences");
        foreach (var step in python)
        {
            TestContext.Out.WriteLine($"  {step!.ToJsonString()}");
        }
        Assert.That(differences, Is.Empty);
        Assert.That(compared, Is.GreaterThanOrEqualTo(25));
        Assert.That(python.Any(s => (string?)s!["error"] == "not authorized"), "the sequence includes a gateway's refusal");
    }

    [Test]
    public void WithTheRouterDownBothSayTheGatewayDoesNotSupportNatpmp()
    {
        LabEnvironment.Require();
        var (code, output) = LabEnvironment.LabSh("stop-igd");
        Assert.That(code, Is.Zero, output);
        try
        {
            // No process on UDP 5351: the igd answers ICMP port unreachable, libnatpmp reads ECONNREFUSED at once.
            string script = Path.Combine(Path.GetTempPath(), $"natpmp-down-{Environment.ProcessId}.py");
            File.WriteAllText(script, """
                import json, libnatpmp
                n = libnatpmp.NATPMP()
                steps = []
                for name, fn in (("externalipaddress", n.externalipaddress), ("add", lambda: n.addportmapping(44100, "TCP", 44100, 60)),
                                 ("delete", lambda: n.deleteportmapping(44100, "UDP", 44100))):
                    try:
                        steps.append({"call": name, "result": fn(), "error": None})
                    except Exception as e:
                        steps.append({"call": name, "result": None, "error": str(e)})
                print(json.dumps(steps))
                """);
            JsonArray python;
            try
            {
                python = RunPython(script, "");
            }
            finally
            {
                File.Delete(script);
            }
            var dotnet = new JsonArray();
            using (var n = new NATPMP())
            {
                Step(dotnet, "externalipaddress", () => n.ExternalIpAddress());
                Step(dotnet, "add", () => n.AddPortMapping(44100, "TCP", 44100, 60));
                Step(dotnet, "delete", () => n.DeletePortMapping(44100, "UDP", 44100));
            }
            var (compared, differences) = Compare(python, dotnet);
            TestContext.Out.WriteLine(python.ToJsonString());
            Assert.That(differences, Is.Empty);
            Assert.That(compared, Is.EqualTo(3));
            Assert.That((string?)python[0]!["error"], Is.EqualTo("the gateway does not support nat-pmp"));
        }
        finally
        {
            Assert.That(LabEnvironment.LabSh("start-igd").Code, Is.Zero, "the router restarts");
        }
    }

    private static JsonArray RunPython(string script, string arguments)
    {
        Assert.That(Directory.Exists(ReferencePath) ? Directory.GetFiles(ReferencePath, "libnatpmp*.so") : [], Is.Not.Empty,
            "./build.sh reference builds the libnatpmp reference module (tests/lab/natpmp-py3.sh)");
        var (code, output) = LabEnvironment.Run("/usr/bin/python3", $"{script} {arguments}", TimeSpan.FromSeconds(300),
            new Dictionary<string, string> { ["PYTHONPATH"] = ReferencePath });
        Assert.That(code, Is.Zero, output);
        return JsonNode.Parse(output)!.AsArray();
    }

    private static (int Compared, List<string> Differences) Compare(JsonArray python, JsonArray dotnet)
    {
        var differences = new List<string>();
        int compared = 0;
        for (int i = 0; i < Math.Max(python.Count, dotnet.Count); i++)
        {
            if (i >= python.Count || i >= dotnet.Count)
            {
                differences.Add($"step {i}: only one side has it");
                continue;
            }
            var p = python[i]!.AsObject();
            var d = dotnet[i]!.AsObject();
            compared++;
            if ((string?)p["call"] != (string?)d["call"]
                || !JsonNode.DeepEquals(p["result"], d["result"]) || !JsonNode.DeepEquals(p["error"], d["error"]))
            {
                differences.Add($"step {i}: python {p.ToJsonString()}; .NET {d.ToJsonString()}");
            }
        }
        return (compared, differences);
    }

    private static void Step(JsonArray steps, string name, Func<JsonNode?> fn)
    {
        try
        {
            steps.Add(new JsonObject { ["call"] = name, ["result"] = fn(), ["error"] = null });
        }
        catch (NatpmpException e)
        {
            steps.Add(new JsonObject { ["call"] = name, ["result"] = null, ["error"] = e.Message });
        }
    }

    /// <summary>natpmp_conformance.py, line for line, through MiniUpnp.Net.</summary>
    private static JsonArray RunSequence(int b)
    {
        var steps = new JsonArray();
        using var n = new NATPMP();
        Step(steps, "discoverdelay default", () => n.DiscoverDelay);
        n.DiscoverDelay = 250;
        Step(steps, "discoverdelay set", () => n.DiscoverDelay);
        Step(steps, "externalipaddress", () => n.ExternalIpAddress());
        Step(steps, "add tcp", () => n.AddPortMapping(b, "TCP", b, 3600));
        Step(steps, "add udp", () => n.AddPortMapping(b, "udp", b + 1, 7200));
        Step(steps, "add tcp again", () => n.AddPortMapping(b, "TCP", b, 3600));
        Step(steps, "add udp again, other lifetime", () => n.AddPortMapping(b, "UDP", b + 1, 60));
        Step(steps, "add TCPX", () => n.AddPortMapping(b + 2, "TCPX", b + 2, 60));
        Step(steps, "add tc", () => n.AddPortMapping(b + 2, "tc", b + 2, 60));
        Step(steps, "add empty protocol", () => n.AddPortMapping(b + 2, "", b + 2, 60));
        Step(steps, "add icmp", () => n.AddPortMapping(b + 2, "icmp", b + 2, 60));
        Step(steps, "add port above 65535", () => n.AddPortMapping(b + 3 + 65536, "Udp", b + 3 + 65536, 60));
        Step(steps, "add lifetime 2^32-1", () => n.AddPortMapping(b + 4, "tcp", b + 4, 4294967295));
        Step(steps, "add taken port, other internal port", () => n.AddPortMapping(b, "TCP", b + 5, 60));
        Step(steps, "add internal port 0", () => n.AddPortMapping(b + 6, "TCP", 0, 60));
        Step(steps, "add lifetime 0 (delete)", () => n.AddPortMapping(b + 3, "udp", b + 3, 0));
        Step(steps, "externalipaddress again", () => n.ExternalIpAddress());
        Step(steps, "delete tcp", () => n.DeletePortMapping(b, "TCP", b));
        Step(steps, "delete udp", () => n.DeletePortMapping(b, "udp", b + 1));
        Step(steps, "delete TCPX", () => n.DeletePortMapping(b + 2, "tcpx", b + 2));
        Step(steps, "delete other internal port", () => n.DeletePortMapping(0, "TCP", b + 5));
        Step(steps, "delete lifetime max", () => n.DeletePortMapping(b + 4, "TCP", b + 4));
        Step(steps, "delete xyz", () => n.DeletePortMapping(b, "xyz", b));
        Step(steps, "delete missing", () => n.DeletePortMapping(b + 9, "TCP", b + 9));
        Step(steps, "delete all udp", () => n.DeletePortMapping(0, "UDP", 0));
        Step(steps, "delete all tcp", () => n.DeletePortMapping(0, "TCP", 0));
        return steps;
    }
}
