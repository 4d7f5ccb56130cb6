// The consumption test's program (tests/packaging/consume.sh copies it over `dotnet new console`'s Program.cs):
// uses MiniUpnp.Net exactly as an application that installed the package would, JIT-compiled and NativeAOT-compiled.
//   Consumer <desc.xml> <desc.values>
using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MiniUpnp.Net;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: Consumer <desc.xml> <desc.values>");
    return 2;
}

string mode = RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "NativeAOT";
var failures = new List<string>();

string? text = Miniupnpc.strupnperror(718);
if (text != "ConflictInMappingEntry")
{
    failures.Add($"strupnperror(718) = \"{text}\", expected \"ConflictInMappingEntry\"");
}

var data = new IGDdatas();
Miniupnpc.parserootdesc(File.ReadAllBytes(args[0]), data);

// The "first:" section of upstream's .values file (" name = value" lines).
var expected = new Dictionary<string, string>();
string section = "";
foreach (string line in File.ReadLines(args[1]))
{
    if (line.Length == 0 || line[0] == '#') continue;
    if (line[0] != ' ') { section = line.TrimEnd(':'); continue; }
    int eq = line.IndexOf(" = ", StringComparison.Ordinal);
    if (section == "first" && eq > 0) expected[line[..eq].Trim()] = line[(eq + 3)..];
}
void Check(string name, string actual)
{
    if (!expected.TryGetValue(name, out string? want)) failures.Add($"{args[1]} has no first.{name}");
    else if (actual != want) failures.Add($"first.{name} = \"{actual}\", expected \"{want}\"");
}
Check("servicetype", data.first.servicetype);
Check("controlurl", data.first.controlurl);

if (failures.Count > 0)
{
    Console.WriteLine($"consumer: FAIL ({mode}, {RuntimeInformation.RuntimeIdentifier}): {string.Join("; ", failures)}");
    return 1;
}
Console.WriteLine($"consumer: PASS ({mode}, {RuntimeInformation.RuntimeIdentifier}, {RuntimeInformation.FrameworkDescription}): " +
    $"strupnperror(718)=\"{text}\"; first.servicetype=\"{data.first.servicetype}\" first.controlurl=\"{data.first.controlurl}\"");
return 0;
