// The Windows step's program (tests/packaging/wine.sh copies it over `dotnet new console`'s Program.cs): uses
// MiniUpnp.Net from its packages against the IGD lab's real router, and prints one line per result. wine.sh runs it
// published for win-x64 (self-contained, under wine, inside the lab's lan namespace) and for linux-x64 (JIT, same
// namespace), and compares the two outputs line by line: a line starting with "platform:" may differ (it names the
// platform); every other line must be identical. So values that differ between any two runs (uptime, traffic
// counters, lease seconds remaining, timings) are never printed, only what is checked about them.
//   WinConsumer <rootDesc URL> <LAN address> <router's WAN address> <base port>
// Exit code 0 when every check passed, 1 otherwise (the failed checks are printed as "FAIL ..." lines).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

if (args.Length != 4)
{
    Console.Error.WriteLine("usage: WinConsumer <rootDesc URL> <LAN address> <router's WAN address> <base port>");
    return 2;
}
string rootDescUrl = args[0];
IPAddress lan = IPAddress.Parse(args[1]);
IPAddress wan = IPAddress.Parse(args[2]);
int b = int.Parse(args[3]);
byte[] lanBytes = lan.GetAddressBytes();
string otherHost = $"{lanBytes[0]}.{lanBytes[1]}.{lanBytes[2]}.99"; // a LAN address that is not ours (a conflict)
int failed = 0, passed = 0;

void Line(string text) => Console.WriteLine(text);
void Check(string what, bool ok, string detail = "")
{
    if (ok) passed++; else failed++;
    Line($"{(ok ? "ok" : "FAIL")} {what}{(ok || detail.Length == 0 ? "" : ": " + detail)}");
}

Line($"platform: {RuntimeInformation.RuntimeIdentifier}, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}");

// 0. Windows: Winsock is not started yet (socket() fails with WSANOTINITIALISED), so the miniupnpc calls below can
//    only work if the binding calls WSAStartup before its first native call. A "platform:" line: Windows only.
if (OperatingSystem.IsWindows())
{
    int error = WinsockState();
    bool fresh = error == 10093; // WSANOTINITIALISED
    if (!fresh) failed++; // (not counted when it passes: the last line must be the same on both platforms)
    Line($"platform: {(fresh ? "ok" : "FAIL")} Winsock not started before the binding's first native call " +
         $"(socket(): {(error == 0 ? "succeeded" : "WSA error " + error)})");
}

// 1. The faithful Python port first, before anything in System.Net.Sockets has run: on Windows, miniupnpc's own sockets
//    then work only because the binding called WSAStartup itself (the .NET runtime initialises Winsock lazily).
//    conformance.py's sequence (tests/MiniUpnp.Net.Tests/Lab/ConformanceTests.cs), one line per call.
var conformance = RunConformance();
Check("UPnP sequence: discover found the lab's router",
    conformance.Any(s => s.Call == "selectigd" && s.Error is null && s.Result is not null));

// 2. The library is the package's own: which file the process loaded (Windows: libminiupnpc.dll, MinGW-built).
string? module = LoadedModule("libminiupnpc");
Line($"platform: native library {module ?? "(not found among the process's modules)"}");
string appDir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(AppContext.BaseDirectory));
Check("libminiupnpc was loaded from the app's folder (the runtime package's file, published with the app)",
    module is not null && string.Equals(Path.GetDirectoryName(module), appDir, StringComparison.OrdinalIgnoreCase), $"{module} (app: {appDir})");

// 3. C names: miniwget's body is allocated by the library's C runtime (msvcrt on Windows) and freed through it.
using (SafeMallocHandle body = Miniupnpc.miniwget(rootDescUrl, out int size, 0, out int status))
{
    string text = body.IsInvalid ? "" : Encoding.UTF8.GetString(body.ToArray());
    Line($"miniwget: status {status}, {(text.Contains("urn:schemas-upnp-org:device:InternetGatewayDevice:2") ? "an IGD:2 description" : "no IGD:2 description")}");
    Check("miniwget fetched the root description", status == 200 && size == text.Length && size > 0, $"status {status}, {size} bytes");
}

// 4. The async layer: discovery (managed SSDP in the lan namespace), add, get, list, AddAny, a lease.
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
    ExternalPort = b + 20, Description = "wine async", LeaseDuration = TimeSpan.FromMinutes(10),
}, ct);
var entry = await gateway.GetMappingAsync(Tcp, b + 20, cancellationToken: ct);
Line($"get: {Show(entry)}");
Check("the mapping added is read back", entry is not null && entry.InternalClient.Equals(lan) && entry.InternalPort == b + 20
    && entry.Description == "wine async" && entry.LeaseDuration > TimeSpan.Zero && entry.LeaseDuration <= TimeSpan.FromMinutes(10), Show(entry));

await gateway.AddMappingAsync(new PortMappingRequest(Tcp, b + 24)
{
    ExternalPort = b + 24, InternalClient = IPAddress.Parse(otherHost), Description = "wine holder", LeaseDuration = TimeSpan.FromMinutes(10),
}, ct);
int free = await gateway.AddAnyMappingAsync(new PortMappingRequest(Tcp, b + 22)
{
    ExternalPort = b + 22, Description = "wine any", LeaseDuration = TimeSpan.FromMinutes(10),
}, ct);
Line($"addany free port: {free}");
Check("AddAny on a free port got that port", free == b + 22, free.ToString());
// Another host holds b + 24; the ports above it are free (the router may pick one of ours if not).
int other = await gateway.AddAnyMappingAsync(new PortMappingRequest(Tcp, b + 25)
{
    ExternalPort = b + 24, Description = "wine any taken", LeaseDuration = TimeSpan.FromMinutes(10),
}, ct);
// The router picks the port: printed only as "another port", the number differs from run to run.
Line($"addany taken port: {(other != b + 24 && other > 0 ? "another port" : other.ToString())}");
Check("AddAny on a port another host holds got another port", other != b + 24 && other is > 0 and <= 65535, other.ToString());

var listed = await gateway.ListMappingsAsync(cancellationToken: ct);
Line($"list: {listed.Count - before} more than before");
foreach (var m in listed.Where(m => m.ExternalPort != other).OrderBy(m => m.ExternalPort)) // (the router's pick: not shown)
{
    Line($"list: {Show(m)}");
}
Check("the list holds the four mappings added", listed.Count - before == 4, $"{listed.Count} listed, {before} before");

foreach (int port in new[] { b + 20, b + 22, b + 24, other })
{
    await gateway.DeleteMappingAsync(Tcp, port, cancellationToken: ct);
}
Check("the four mappings are deleted", (await gateway.ListMappingsAsync(cancellationToken: ct)).Count == before);

// A lease of 4 s renews itself at half of it; disposing it removes the mapping.
var lease = await gateway.LeaseMappingAsync(new PortMappingLeaseOptions(Tcp, b + 30)
{
    ExternalPort = b + 30, Description = "wine lease", LeaseDuration = TimeSpan.FromSeconds(4),
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

Line($"{(failed == 0 ? "PASS" : "FAIL")}: {passed} checks passed, {failed} failed");
return failed == 0 ? 0 : 1;

// Everything of an entry but its lease's remaining seconds, which count down.
static string Show(PortMappingEntry? m) => m is null ? "none"
    : $"{m.Protocol} {m.ExternalPort} -> {m.InternalClient}:{m.InternalPort} \"{m.Description}\" enabled {m.Enabled} remote {m.RemoteHost?.ToString() ?? "any"} "
      + (m.IsPermanent ? "permanent" : "leased");

// 0 when a socket can be made (Winsock already started), else WSAGetLastError().
static int WinsockState()
{
    nint s = socket(2, 2, 17); // AF_INET, SOCK_DGRAM, IPPROTO_UDP
    if (s == -1)
    {
        return WSAGetLastError();
    }
    closesocket(s);
    return 0;
}
[DllImport("ws2_32")] static extern nint socket(int af, int type, int protocol);
[DllImport("ws2_32")] static extern int closesocket(nint s);
[DllImport("ws2_32")] static extern int WSAGetLastError();

static string? LoadedModule(string stem)
{
    foreach (ProcessModule m in Process.GetCurrentProcess().Modules)
    {
        if (m.ModuleName.StartsWith(stem + ".", StringComparison.OrdinalIgnoreCase))
        {
            return m.FileName;
        }
    }
    return null;
}

// conformance.py through UPnP, call for call; prints "upnp <call>: <result> | <error>" with the fields that differ
// between any two runs masked (the same list as ConformanceTests.VaryingFields).
List<(string Call, JsonNode? Result, string? Error)> RunConformance()
{
    var varying = new (string Call, int Index)[]
    {
        ("statusinfo", 1),          // uptime
        ("totalbytesent", -1),      // traffic counters
        ("totalbytereceived", -1),
        ("totalpacketsent", -1),
        ("totalpacketreceived", -1),
        ("getspecific", 4),         // lease seconds remaining
        ("getgeneric", 6),
    };
    var steps = new List<(string Call, JsonNode? Result, string? Error)>();
    JsonNode? Step(string name, Func<JsonNode?> fn)
    {
        JsonNode? result = null;
        string? error = null;
        try
        {
            result = fn();
        }
        catch (UpnpException e)
        {
            error = e.Message;
        }
        steps.Add((name, result?.DeepClone(), error));
        JsonNode? shown = result?.DeepClone();
        foreach (var (prefix, index) in varying.Where(v => name.StartsWith(v.Call, StringComparison.Ordinal)))
        {
            if (index < 0 && shown is JsonValue) shown = JsonValue.Create("(varies)");
            else if (shown is JsonArray a && index < a.Count && a[index] is JsonValue) a[index] = JsonValue.Create("(varies)");
        }
        Line($"upnp {name}: {shown?.ToJsonString() ?? "null"} | {(error is null ? "-" : error)}");
        return result;
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
        var generic = u.GetGenericPortMapping(i);
        Step($"getgeneric {i}", () => Generic(generic));
        if (generic is null)
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
