using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Lab;

/// <summary>
/// Conformance with Python: one scripted sequence (conformance.py) runs through the miniupnpc 2.3.3 Python module
/// built from the pinned source, then the same sequence runs through UPnP, against the same lab; the two transcripts
/// must be equal call by call, field by field, except the fields named in <see cref="VaryingFields"/>.
/// </summary>
public class ConformanceTests
{
    private const int BasePort = 43000;

    /// <summary>Fields that legitimately differ between two runs: (call prefix, index in the result, why).</summary>
    private static readonly (string Call, int Index, string Why)[] VaryingFields =
    {
        ("statusinfo", 1, "uptime"),
        ("totalbytesent", -1, "traffic counter"),
        ("totalbytereceived", -1, "traffic counter"),
        ("totalpacketsent", -1, "traffic counter"),
        ("totalpacketreceived", -1, "traffic counter"),
        ("getspecific", 4, "lease seconds remaining"),
        ("getgeneric", 6, "lease seconds remaining"),
    };

    [Test]
    public void ThePortBehavesLikeThePythonModule()
    {
        LabEnvironment.Require();
        string pythonPath = Path.Combine(TestPaths.RepoRoot, "artifacts", "python-ref", "lib");
        Assert.That(Directory.GetFiles(pythonPath, "miniupnpc*.so"), Is.Not.Empty, "./build.sh test builds the reference module");
        string script = Path.Combine(TestContext.CurrentContext.TestDirectory, "Lab", "conformance.py");
        var (code, output) = LabEnvironment.Run("/usr/bin/python3",
            $"{script} {BasePort} {LabEnvironment.OtherLanHost} {LabEnvironment.RootDescUrl}", TimeSpan.FromSeconds(120),
            new Dictionary<string, string> { ["PYTHONPATH"] = pythonPath });
        Assert.That(code, Is.Zero, output);
        var python = JsonNode.Parse(output)!.AsArray();
        var dotnet = RunSequence(BasePort, LabEnvironment.OtherLanHost, LabEnvironment.RootDescUrl);

        var differences = new List<string>();
        int compared = 0, varying = 0;
        for (int i = 0; i < Math.Max(python.Count, dotnet.Count); i++)
        {
            if (i >= python.Count || i >= dotnet.Count)
            {
                differences.Add($"step {i}: only one side has it");
                continue;
            }
            var p = python[i]!.AsObject();
            var d = dotnet[i]!.AsObject();
            string call = (string)p["call"]!;
            compared++;
            if (call != (string)d["call"]!)
            {
                differences.Add($"step {i}: '{call}' vs '{d["call"]}'");
                continue;
            }
            var pr = Mask(call, p["result"], ref varying);
            var dr = Mask(call, d["result"], ref varying);
            if (!JsonNode.DeepEquals(pr, dr) || !JsonNode.DeepEquals(p["error"], d["error"]))
            {
                differences.Add($"{call}: python {p["result"]?.ToJsonString() ?? "null"} / {p["error"]?.ToJsonString() ?? "null"}; " +
                                $".NET {d["result"]?.ToJsonString() ?? "null"} / {d["error"]?.ToJsonString() ?? "null"}");
            }
        }
        TestContext.Progress.WriteLine($"conformance: {compared} calls compared, {differences.Count} differences, " +
                                  $"{varying / 2} varying fields masked ({string.Join(", ", VaryingFields.Select(v => $"{v.Call}: {v.Why}"))})");
        foreach (var step in python)
        {
            TestContext.Out.WriteLine($"  {step!.ToJsonString()}");
        }
        Assert.That(differences, Is.Empty);
        Assert.That(compared, Is.GreaterThanOrEqualTo(30));
    }

    private static JsonNode? Mask(string call, JsonNode? result, ref int masked)
    {
        if (result is null)
        {
            return null;
        }
        var copy = result.DeepClone();
        foreach (var (prefix, index, _) in VaryingFields.Where(v => call.StartsWith(v.Call, StringComparison.Ordinal)))
        {
            if (index < 0 && copy is JsonValue)
            {
                masked++;
                return JsonValue.Create("<varies>");
            }
            if (copy is JsonArray array && index < array.Count && array[index] is JsonValue)
            {
                array[index] = JsonValue.Create("<varies>");
                masked++;
            }
        }
        return copy;
    }

    /// <summary>conformance.py, line for line, through MiniUpnp.Net.</summary>
    private static JsonArray RunSequence(int b, string otherHost, string rootDescUrl)
    {
        var steps = new JsonArray();
        JsonNode? Step(string name, Func<JsonNode?> fn)
        {
            try
            {
                var result = fn();
                steps.Add(new JsonObject { ["call"] = name, ["result"] = result, ["error"] = null });
                return result?.DeepClone();
            }
            catch (UpnpException e)
            {
                steps.Add(new JsonObject { ["call"] = name, ["result"] = null, ["error"] = e.Message });
                return null;
            }
        }
        static JsonNode Status(StatusInfoResult s) => new JsonArray(s.Status, s.Uptime, s.LastConnectionError);
        static JsonNode? Specific(SpecificPortMapping? m) =>
            m is null ? null : new JsonArray(m.InternalClient, m.InternalPort, m.Description, m.Enabled, m.LeaseDuration);
        static JsonNode? Generic(GenericPortMapping? m) =>
            m is null ? null : new JsonArray(m.ExternalPort, m.Protocol, new JsonArray(m.Internal.InternalClient, m.Internal.InternalPort),
                m.Description, m.Enabled, m.RemoteHost, m.LeaseDuration);

        using var u = new UPnP { DiscoverDelay = 200 };
        Step("discover", () => u.Discover());
        Step("selectigd", () => u.SelectIgd());
        Step("lanaddr", () => u.LanAddr);
        Step("wanaddr", () => u.WanAddr);
        Step("statusinfo", () => Status(u.StatusInfo()));
        Step("connectiontype", () => u.ConnectionType());
        Step("externalipaddress", () => u.ExternalIpAddress());
        Step("totalbytesent", () => u.TotalByteSent());
        Step("totalbytereceived", () => u.TotalByteReceived());
        Step("totalpacketsent", () => u.TotalPacketSent());
        Step("totalpacketreceived", () => u.TotalPacketReceived());
        Step("entries before", () => u.GetPortMappingNumberOfEntries());
        Step("add", () => u.AddPortMapping(b, "TCP", u.LanAddr, b, "conformance", "", 3600));
        Step("add udp permanent", () => u.AddPortMapping(b, "udp", u.LanAddr, b + 1, null, null));
        Step("getspecific", () => Specific(u.GetSpecificPortMapping(b, "TCP")));
        Step("getspecific udp", () => Specific(u.GetSpecificPortMapping(b, "UDP")));
        Step("getspecific missing", () => Specific(u.GetSpecificPortMapping(b + 5, "TCP")));
        Step("entries after add", () => u.GetPortMappingNumberOfEntries());
        for (int i = 0; i < 64; i++)
        {
            var entry = u.GetGenericPortMapping(i);
            Step($"getgeneric {i}", () => Generic(entry));
            if (entry is null)
            {
                break;
            }
        }
        Step("add for another host", () => u.AddPortMapping(b + 3, "TCP", otherHost, b + 3, "holder", ""));
        var reserved = Step("addany taken", () => u.AddAnyPortMapping(b + 3, "TCP", u.LanAddr, b + 4, "conformance any", ""));
        Step("addany differs", () => reserved is not null && (int)reserved != b + 3);
        Step("delete addany", () => u.DeletePortMapping(reserved is null ? 0 : (int)reserved, "TCP"));
        Step("delete for another host", () => u.DeletePortMapping(b + 3, "TCP"));
        Step("add conflict", () => u.AddPortMapping(b, "TCP", otherHost, b, "conflict", ""));
        Step("add external port 0", () => u.AddPortMapping(0, "TCP", u.LanAddr, b, "zero", ""));
        Step("delete", () => u.DeletePortMapping(b, "TCP"));
        Step("delete missing", () => u.DeletePortMapping(b, "TCP"));
        Step("delete udp", () => u.DeletePortMapping(b, "UDP", ""));
        Step("add range a", () => u.AddPortMapping(b + 10, "TCP", u.LanAddr, b + 10, "range", ""));
        Step("add range b", () => u.AddPortMapping(b + 11, "TCP", u.LanAddr, b + 11, "range", ""));
        Step("deleterange", () => u.DeletePortMappingRange(b + 10, b + 11, "TCP", 1));
        Step("deleterange empty", () => u.DeletePortMappingRange(b + 10, b + 11, "TCP", 1));
        Step("entries end", () => u.GetPortMappingNumberOfEntries());
        Step("selectigd url", () => u.SelectIgd(rootDescUrl));
        return steps;
    }
}
