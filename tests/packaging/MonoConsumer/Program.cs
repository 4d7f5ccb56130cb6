// The Mono step's program (tests/packaging/mono.sh): uses MiniUpnp.Net from its package against the IGD lab's real
// router and prints one line per result. mono.sh builds it for net472 (the package's lib/netstandard2.0, run by Mono
// as Unity runs scripts) and for net10.0 (lib/net10.0, run by .NET on linux-x64, the reference), runs both inside the
// lab's lan namespace and compares the outputs line by line: a line starting with "platform:" may differ; every other
// line must be identical, so values that differ between two runs (uptime, counters, lease seconds) are never printed.
//   MonoConsumer <rootDesc URL> <LAN address> <router's WAN address> <base port>
//   MonoConsumer --expect-incompatible      (the ABI guard: the miniupnpc found must be refused)
// Exit code 0 when every check passed, 1 otherwise (the failed checks are printed as "FAIL ..." lines).
using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

string framework = RuntimeInformation.FrameworkDescription;
bool mono = Type.GetType("Mono.Runtime") is not null;
if (args.Length == 1 && args[0] == "--expect-incompatible")
{
    // A miniupnpc without the API 21 marker is first on the search path: the first call must be refused before it runs.
    try
    {
        string text = Miniupnpc.strupnperror(0);
        Console.WriteLine($"FAIL the incompatible miniupnpc was called (strupnperror(0) = \"{text}\")");
        return 1;
    }
    catch (IncompatibleNativeLibraryException e)
    {
        Console.WriteLine($"ok refused: {e.Message}");
        return 0;
    }
}
if (args.Length != 4)
{
    Console.Error.WriteLine("usage: MonoConsumer <rootDesc URL> <LAN address> <router's WAN address> <base port> | --expect-incompatible");
    return 2;
}
string rootDescUrl = args[0];
IPAddress lan = IPAddress.Parse(args[1]);
IPAddress wan = IPAddress.Parse(args[2]);
int b = int.Parse(args[3], CultureInfo.InvariantCulture);
byte[] lanBytes = lan.GetAddressBytes();
string otherHost = $"{lanBytes[0]}.{lanBytes[1]}.{lanBytes[2]}.99"; // a LAN address that is not ours (a conflict)
int failed = 0, passed = 0;

void Line(string text) => Console.WriteLine(text);
void Check(string what, bool ok, string detail = "")
{
    if (ok) passed++; else failed++;
    Line($"{(ok ? "ok" : "FAIL")} {what}{(ok || detail.Length == 0 ? "" : ": " + detail)}");
}

// Which build of MiniUpnp.Net runs: .NETStandard,Version=v2.0 under Mono, .NETCoreApp,Version=v10.0 on .NET.
string? built = typeof(UPnP).Assembly.GetCustomAttribute<TargetFrameworkAttribute>()?.FrameworkName;
Line($"platform: {framework}{(mono ? " (Mono)" : "")}, {RuntimeInformation.OSDescription}, MiniUpnp.Net {typeof(UPnP).Assembly.GetName().Version} built for {built}");

// 1. The faithful Python port: conformance.py's sequence (tests/MiniUpnp.Net.Tests/Lab/ConformanceTests.cs), one line per call.
var conformance = RunConformance();
Check("UPnP sequence: discover found the lab's router", conformance.Any(s => s.Call == "selectigd" && s.Error is null && s.Result is not null));

// 2. Which miniupnpc the process loaded (the runtime package's file: LD_LIBRARY_PATH under Mono, the app folder on .NET).
string? module = LoadedLibrary("libminiupnpc");
Line($"platform: native library {module ?? "(not mapped)"}");
Check("libminiupnpc is loaded", module is not null);

// 3. C names: miniwget's body is allocated by the library's malloc and freed through the C runtime's free.
using (SafeMallocHandle body = Miniupnpc.miniwget(rootDescUrl, out int size, 0, out int status))
{
    string text = body.IsInvalid ? "" : Encoding.UTF8.GetString(body.ToArray());
    Line($"miniwget: status {status}, {(text.Contains("urn:schemas-upnp-org:device:InternetGatewayDevice:2") ? "an IGD:2 description" : "no IGD:2 description")}");
    Check("miniwget fetched the root description", status == 200 && size == text.Length && size > 0, $"status {status}, {size} bytes");
}

// 4. The async layer: discovery (managed SSDP in the lan namespace), add, get, list, AddAny, delete, a lease.
using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
var ct = cts.Token;
var gateway = await UpnpGateway.DiscoverAsync(null, ct);
Line($"gateway: {gateway.RootDescriptionUrl}, local {gateway.LocalAddress}, IGDv2 {gateway.IsIgdV2}, {gateway.ServiceType}");
Check("discovery found the lab's router at its description URL", gateway.RootDescriptionUrl == new Uri(rootDescUrl), gateway.RootDescriptionUrl.ToString());
Check("the local address is the LAN host's", gateway.LocalAddress.Equals(lan), gateway.LocalAddress.ToString());
IPAddress external = await gateway.GetExternalAddressAsync(ct);
Line($"external address: {external}");
Check("the external address is the router's WAN address", external.Equals(wan), external.ToString());

const PortMappingProtocol Tcp = PortMappingProtocol.Tcp;
int before = (await gateway.ListMappingsAsync(cancellationToken: ct)).Count;
Check("the router holds no mapping (the lab starts empty; the UPnP sequence removed what it added)", before == 0, $"{before} mappings");
await gateway.AddMappingAsync(new PortMappingRequest(Tcp, b + 20)
{
    ExternalPort = b + 20, Description = "mono async", LeaseDuration = TimeSpan.FromMinutes(10),
}, ct);
var entry = await gateway.GetMappingAsync(Tcp, b + 20, cancellationToken: ct);
Line($"get: {Show(entry)}");
Check("the mapping added is read back", entry is not null && entry.InternalClient.Equals(lan) && entry.InternalPort == b + 20
    && entry.Description == "mono async" && entry.LeaseDuration > TimeSpan.Zero && entry.LeaseDuration <= TimeSpan.FromMinutes(10), Show(entry));
int free = await gateway.AddAnyMappingAsync(new PortMappingRequest(Tcp, b + 22)
{
    ExternalPort = b + 22, Description = "mono any", LeaseDuration = TimeSpan.FromMinutes(10),
}, ct);
Line($"addany free port: {free}");
Check("AddAny on a free port got that port", free == b + 22, free.ToString(CultureInfo.InvariantCulture));
var listed = await gateway.ListMappingsAsync(cancellationToken: ct);
Line($"list: {listed.Count - before} more than before");
foreach (var m in listed.OrderBy(m => m.ExternalPort))
{
    Line($"list: {Show(m)}");
}
Check("the list holds the two mappings added", listed.Count - before == 2, $"{listed.Count} listed, {before} before");
foreach (int port in new[] { b + 20, b + 22 })
{
    await gateway.DeleteMappingAsync(Tcp, port, cancellationToken: ct);
}
Check("the mappings are deleted", (await gateway.ListMappingsAsync(cancellationToken: ct)).Count == before);

// A lease of 4 s renews itself at half of it; disposing it removes the mapping.
var lease = await gateway.LeaseMappingAsync(new PortMappingLeaseOptions(Tcp, b + 30)
{
    ExternalPort = b + 30, Description = "mono lease", LeaseDuration = TimeSpan.FromSeconds(4),
    CheckInterval = TimeSpan.FromSeconds(1), RetryDelay = TimeSpan.FromMilliseconds(250), MaxRetryDelay = TimeSpan.FromSeconds(1),
}, ct);
Line($"lease: {lease.Protocol} {lease.ExternalEndPoint} -> {lease.InternalClient}:{lease.InternalPort}, granted {lease.GrantedLease.TotalSeconds} s, {lease.Status}");
var watch = Stopwatch.StartNew();
while (lease.RenewalCount < 1 && watch.Elapsed < TimeSpan.FromSeconds(20)) // renewal is due after 2 s
{
    await Task.Delay(100, ct);
}
Check("the lease renewed itself", lease.RenewalCount >= 1, $"no renewal in {watch.Elapsed.TotalSeconds:0} s ({lease.LastError?.Message})");
var leased = await gateway.GetMappingAsync(Tcp, b + 30, cancellationToken: ct);
Line($"lease mapping: {Show(leased)}");
Check("the leased mapping is on the router after its renewal", leased is not null && leased.InternalClient.Equals(lan), Show(leased));
await lease.DisposeAsync();
var gone = await gateway.GetMappingAsync(Tcp, b + 30, cancellationToken: ct);
Line($"lease disposed: {lease.Status}, mapping {(gone is null ? "gone" : "still there")}");
Check("disposing the lease removed the mapping", gone is null, Show(gone));

// 5. NAT-PMP through libnatpmp (the Python port), and the port mapper's PCP and NAT-PMP clients (managed sockets).
using (var natpmp = new NATPMP())
{
    string address = natpmp.ExternalIpAddress();
    Line($"natpmp externalipaddress: {address}");
    Check("NAT-PMP: the public address is the router's WAN address", address == wan.ToString(), address);
    int mapped = natpmp.AddPortMapping(b + 40, "UDP", b + 40, 600);
    Line($"natpmp addportmapping: {mapped}");
    Check("NAT-PMP: the mapping got its port", mapped == b + 40, mapped.ToString(CultureInfo.InvariantCulture));
    Line($"natpmp deleteportmapping: {natpmp.DeletePortMapping(b + 40, "UDP", b + 40)}");
}
foreach (var method in new[] { PortMappingMethod.Pcp, PortMappingMethod.Natpmp })
{
    var mapper = await PortMapper.DiscoverAsync(new PortMapperOptions { Methods = new[] { method } }, ct);
    IPAddress viaMapper = await mapper.GetExternalAddressAsync(ct);
    Line($"port mapper {method}: {mapper.Method}, external {viaMapper}");
    Check($"port mapper over {method}: the router's WAN address", mapper.Method == method && viaMapper.Equals(wan), viaMapper.ToString());
}

Line($"{(failed == 0 ? "PASS" : "FAIL")}: {passed} checks passed, {failed} failed");
return failed == 0 ? 0 : 1;

// Everything of an entry but its lease's remaining seconds, which count down.
static string Show(PortMappingEntry? m) => m is null ? "none"
    : $"{m.Protocol} {m.ExternalPort} -> {m.InternalClient}:{m.InternalPort} \"{m.Description}\" enabled {m.Enabled} remote {m.RemoteHost?.ToString() ?? "any"} "
      + (m.IsPermanent ? "permanent" : "leased");

// The file of a mapped library whose name starts with stem (Linux: /proc/self/maps, the same for Mono and .NET).
static string? LoadedLibrary(string stem)
{
    foreach (string line in File.ReadAllLines("/proc/self/maps"))
    {
        int slash = line.IndexOf('/');
        if (slash >= 0 && Path.GetFileName(line.Substring(slash)).StartsWith(stem + ".", StringComparison.Ordinal))
        {
            return line.Substring(slash);
        }
    }
    return null;
}

// A result as JSON-like text, the same on both runtimes (System.Text.Json is not used: not part of .NET Framework).
static string Render(object? value) => value switch
{
    null => "null",
    bool v => v ? "true" : "false",
    string s => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"",
    IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
    IEnumerable e => "[" + string.Join(",", e.Cast<object?>().Select(Render)) + "]",
    _ => "\"" + value + "\"",
};

// conformance.py through UPnP, call for call; prints "upnp <call>: <result> | <error>" with the fields that differ
// between any two runs masked (the same list as ConformanceTests.VaryingFields).
List<(string Call, object? Result, string? Error)> RunConformance()
{
    var varying = new (string Call, int Index)[]
    {
        ("statusinfo", 1), ("totalbytesent", -1), ("totalbytereceived", -1), ("totalpacketsent", -1),
        ("totalpacketreceived", -1), ("getspecific", 4), ("getgeneric", 6),
    };
    var steps = new List<(string Call, object? Result, string? Error)>();
    object? Step(string name, Func<object?> fn)
    {
        object? result = null;
        string? error = null;
        try
        {
            result = fn();
        }
        catch (UpnpException e)
        {
            error = e.Message;
        }
        steps.Add((name, result, error));
        object? shown = result is object?[] array ? array.Clone() : result;
        foreach (var (prefix, index) in varying.Where(v => name.StartsWith(v.Call, StringComparison.Ordinal)))
        {
            if (index < 0 && shown is not null and not object?[]) shown = "(varies)";
            else if (shown is object?[] a && index < a.Length && a[index] is not object?[]) a[index] = "(varies)";
        }
        Line($"upnp {name}: {Render(shown)} | {error ?? "-"}");
        return result;
    }
    static object? Status(StatusInfoResult s) => new object?[] { s.Status, s.Uptime, s.LastConnectionError };
    static object? Specific(SpecificPortMapping? m) =>
        m is null ? null : new object?[] { m.InternalClient, m.InternalPort, m.Description, m.Enabled, m.LeaseDuration };
    static object? Generic(GenericPortMapping? m) =>
        m is null ? null : new object?[] { m.ExternalPort, m.Protocol, new object?[] { m.Internal.InternalClient, m.Internal.InternalPort },
            m.Description, m.Enabled, m.RemoteHost, m.LeaseDuration };

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
        var generic = u.GetGenericPortMapping(i);
        Step($"getgeneric {i}", () => Generic(generic));
        if (generic is null)
        {
            break;
        }
    }
    Step("add for another host", () => u.AddPortMapping(b + 3, "TCP", otherHost, b + 3, "holder", ""));
    var reserved = Step("addany taken", () => u.AddAnyPortMapping(b + 3, "TCP", u.LanAddr, b + 4, "conformance any", ""));
    Step("addany differs", () => reserved is int r && r != b + 3);
    Step("delete addany", () => u.DeletePortMapping(reserved is int p ? p : 0, "TCP"));
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
