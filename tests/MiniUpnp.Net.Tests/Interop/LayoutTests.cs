using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Interop;

/// <summary>
/// The generated structs have the C layout: tests/native/layout_probe.c, compiled against the same headers by the
/// native build, prints sizeof/offsetof of every field, and each must match the managed struct: miniupnpc's, libnatpmp's
/// (natpmpresp_t's union flattened: pnu.newportmapping.lifetime is pnu_newportmapping_lifetime) and the C library's
/// struct timeval that natpmp_t holds (hand-written as timevalStruct).
/// </summary>
public class LayoutTests
{
    private static readonly Lazy<ProbeOutput> Probe = new(RunProbe);

    private static IEnumerable<Type> GeneratedStructs() =>
        typeof(Miniupnpc).Assembly.GetTypes()
            .Where(t => t.Namespace == "MiniUpnp.Net.Interop" && t.IsValueType && !t.IsEnum && !t.IsNested
                        && t.StructLayoutAttribute?.Value is LayoutKind.Sequential or LayoutKind.Explicit)
            .OrderBy(t => t.Name, StringComparer.Ordinal);

    /// <summary>The C struct a generated layout describes: <c>UPNPDevStruct</c> is <c>struct UPNPDev</c>.</summary>
    private static string CName(Type type)
    {
        Assert.That(type.Name, Does.EndWith("Struct"), "generated layouts are named <C name>Struct");
        return type.Name[..^"Struct".Length];
    }

    [Test]
    public void TheProbeAndTheGeneratedCodeDescribeTheSameStructs()
    {
        Assert.That(GeneratedStructs().Select(CName), Is.EquivalentTo(Probe.Value.Sizes.Keys));
        Assert.That(Probe.Value.Sizes.Keys, Is.EquivalentTo(new[]
        {
            "UPNPDev", "UPNPUrls", "IGDdatas_service", "IGDdatas", "PortMapping", "PortMappingParserData",
            "natpmp_t", "natpmpresp_t", "timeval",
        }));
    }

    [TestCaseSource(nameof(GeneratedStructs))]
    public void SizeMatchesC(Type type)
    {
        int managed = (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(type).Invoke(null, null)!;
        Assert.That(managed, Is.EqualTo(Probe.Value.Sizes[CName(type)]));
        Assert.That(Marshal.SizeOf(type), Is.EqualTo(Probe.Value.Sizes[CName(type)]));
    }

    [TestCaseSource(nameof(GeneratedStructs))]
    public void EveryFieldHasTheOffsetAndSizeOfC(Type type)
    {
        var fields = type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
        var cFields = Probe.Value.Fields.Where(f => f.Key.Struct == CName(type)).ToDictionary(f => f.Key.Field, f => f.Value);
        var flexible = Probe.Value.Flexible.Where(f => f.Struct == CName(type)).Select(f => f.Field).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(fields.Select(f => f.Name), Is.EquivalentTo(cFields.Keys),
                "the same fields (C flexible array members excepted: " + string.Join(", ", flexible) + ")");
            foreach (var field in fields)
            {
                if (!cFields.TryGetValue(field.Name, out var c))
                {
                    continue;
                }
                Assert.That((int)Marshal.OffsetOf(type, field.Name), Is.EqualTo(c.Offset), $"offsetof({type.Name}, {field.Name})");
                Assert.That(SizeOfField(field), Is.EqualTo(c.Size), $"sizeof({type.Name}.{field.Name})");
            }
        });
    }

    private static int SizeOfField(FieldInfo field) =>
        field.FieldType.IsPointer ? IntPtr.Size : Marshal.SizeOf(field.FieldType);

    private sealed record ProbeOutput(
        Dictionary<string, int> Sizes,
        Dictionary<(string Struct, string Field), (int Offset, int Size)> Fields,
        List<(string Struct, string Field)> Flexible);

    private static ProbeOutput RunProbe()
    {
        var psi = new ProcessStartInfo(TestPaths.NativeTool(OperatingSystem.IsWindows() ? "layout_probe.exe" : "layout_probe"))
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var probe = Process.Start(psi)!;
        string output = probe.StandardOutput.ReadToEnd();
        Assert.That(probe.WaitForExit(10_000), Is.True, "layout_probe finished");
        Assert.That(probe.ExitCode, Is.Zero);

        var result = new ProbeOutput(new(), new(), new());
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            switch (parts[0])
            {
                case "struct":
                    result.Sizes[parts[1]] = int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "field":
                    var name = parts[1].Split('.');
                    result.Fields[(name[0], name[1])] = (int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture),
                        int.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case "flexible":
                    var flex = parts[1].Split('.');
                    result.Flexible.Add((flex[0], flex[1]));
                    break;
            }
        }
        return result;
    }
}
