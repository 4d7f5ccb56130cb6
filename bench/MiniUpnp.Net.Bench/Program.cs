using System;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Threading.Tasks;
using MiniUpnp.Net;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

// The benchmark's .NET clients, driven by bench/bench.py:
//   MiniUpnp.Net.Bench port|async|lease cold PORT        discovery + one mapping (fresh process)
//   MiniUpnp.Net.Bench port|async|lease warm URL PORT    reopen from a remembered URL + one mapping (fresh process)
//   MiniUpnp.Net.Bench port|async serve                  the stdin commands of bench/cloop.c (open, get, adddel, list, quit)
//   MiniUpnp.Net.Bench natpmp-port|natpmp|pcp|mapper cold PORT GW   one UDP mapping PORT -> PORT (fresh process)
//   MiniUpnp.Net.Bench pmp serve GW                      the stdin commands of bench/cloop_pmp.c (natpmp-mapdel, pcp-mapdel, quit)
// "port" is the Python-shaped UPnP class, "async" the async layer (UpnpGateway), "lease" a PortMappingLease
// (mapped and read back); "natpmp-port" the Python-shaped NATPMP class (default gateway, as Python's NATPMP()),
// "natpmp" NatpmpClient.MapAsync and "pcp" PcpClient.MapAsync (gateway GW named, as the C loop names it), "mapper"
// PortMapper.DiscoverAsync (defaults: the race of PCP, NAT-PMP and UPnP on the default gateway) + LeaseAsync. Timings start at the top of Main: what a user waits for in a fresh process. Every answer
// is one JSON line; what a figure adds is removed after the clock stops.

long start = Stopwatch.GetTimestamp();
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: MiniUpnp.Net.Bench port|async|lease cold PORT | warm URL PORT | serve; natpmp-port|natpmp|pcp|mapper cold PORT GW; pmp serve GW");
    return 2;
}
try
{
    return (args[0], args[1]) switch
    {
        ("natpmp-port" or "natpmp" or "pcp" or "mapper", "cold") => await PmpFigures.ColdAsync(args[0], Int(args[2]), IPAddress.Parse(args[3]), start),
        ("pmp", "serve") => await PmpFigures.ServeAsync(IPAddress.Parse(args[2])),
        (_, "cold") => await Figures.ColdAsync(args[0], Int(args[2]), start),
        (_, "warm") => await Figures.WarmAsync(args[0], new Uri(args[2]), Int(args[3]), start),
        ("port", "serve") => Serve.Port(),
        ("async", "serve") => await Serve.AsyncLayer(),
        _ => Usage(),
    };
}
catch (Exception e)
{
    Console.WriteLine($"{{\"error\": \"{Json(e.GetType().Name + ": " + e.Message)}\"}}");
    return 1;
}

static int Usage()
{
    Console.Error.WriteLine("unknown client or figure");
    return 2;
}

static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);

static string Json(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

internal static class Figures
{
    private static double Ms(long start) => Stopwatch.GetElapsedTime(start).TotalMilliseconds;

    private static void Print(double ms) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{{\"ms\": {ms:0.000}}}"));

    internal static async Task<int> ColdAsync(string client, int port, long start)
    {
        switch (client)
        {
            case "port":
            {
                using var u = new UPnP(); // discoverdelay 0: miniupnpc's minimum, 1000 ms
                u.Discover();
                u.SelectIgd();
                u.AddPortMapping(port, "TCP", u.LanAddr, port, "bench", null, 3600);
                double ms = Ms(start);
                u.DeletePortMapping(port, "TCP");
                Print(ms);
                return 0;
            }
            case "async":
            {
                var gateway = await UpnpGateway.DiscoverAsync();
                await gateway.AddMappingAsync(new PortMappingRequest(PortMappingProtocol.Tcp, port) { ExternalPort = port, LeaseDuration = TimeSpan.FromHours(1), Description = "bench" });
                double ms = Ms(start);
                await gateway.DeleteMappingAsync(PortMappingProtocol.Tcp, port);
                Print(ms);
                return 0;
            }
            case "lease":
            {
                var gateway = await UpnpGateway.DiscoverAsync();
                var lease = await gateway.LeaseMappingAsync(new PortMappingLeaseOptions(PortMappingProtocol.Tcp, port) { Description = "bench" });
                double ms = Ms(start);
                await lease.DisposeAsync();
                Print(ms);
                return 0;
            }
            default:
                return 2;
        }
    }

    internal static async Task<int> WarmAsync(string client, Uri url, int port, long start)
    {
        switch (client)
        {
            case "port":
            {
                using var u = new UPnP();
                u.SelectIgd(url.AbsoluteUri);
                u.AddPortMapping(port, "TCP", u.LanAddr, port, "bench", null, 3600);
                double ms = Ms(start);
                u.DeletePortMapping(port, "TCP");
                Print(ms);
                return 0;
            }
            case "async":
            {
                var gateway = await UpnpGateway.OpenAsync(url);
                await gateway.AddMappingAsync(new PortMappingRequest(PortMappingProtocol.Tcp, port) { ExternalPort = port, LeaseDuration = TimeSpan.FromHours(1), Description = "bench" });
                double ms = Ms(start);
                await gateway.DeleteMappingAsync(PortMappingProtocol.Tcp, port);
                Print(ms);
                return 0;
            }
            case "lease":
            {
                var gateway = await UpnpGateway.OpenAsync(url);
                var lease = await gateway.LeaseMappingAsync(new PortMappingLeaseOptions(PortMappingProtocol.Tcp, port) { Description = "bench" });
                double ms = Ms(start);
                await lease.DisposeAsync();
                Print(ms);
                return 0;
            }
            default:
                return 2;
        }
    }
}

internal static class Serve
{
    private static string Answer(long t0, string extra = "") =>
        string.Create(CultureInfo.InvariantCulture, $"{{\"ms\": {Stopwatch.GetElapsedTime(t0).TotalMilliseconds:0.000}{extra}}}");

    private static string Error(string what) => $"{{\"error\": \"{what.Replace("\"", "'", StringComparison.Ordinal)}\"}}";

    internal static int Port()
    {
        UPnP? u = null;
        while (Console.ReadLine() is { } line)
        {
            string[] w = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (w.Length == 0)
            {
                continue;
            }
            long t0 = Stopwatch.GetTimestamp();
            try
            {
                switch (w[0])
                {
                    case "open":
                        u?.Dispose();
                        u = new UPnP();
                        u.SelectIgd(w[1]);
                        Console.WriteLine(Answer(t0));
                        break;
                    case "get":
                    {
                        int n = int.Parse(w[1], CultureInfo.InvariantCulture), port = int.Parse(w[2], CultureInfo.InvariantCulture);
                        for (int i = 0; i < n; i++)
                        {
                            u!.GetSpecificPortMapping(port, "TCP");
                        }
                        Console.WriteLine(Answer(t0, $", \"ops\": {n}"));
                        break;
                    }
                    case "adddel":
                    {
                        int n = int.Parse(w[1], CultureInfo.InvariantCulture), port = int.Parse(w[2], CultureInfo.InvariantCulture);
                        for (int i = 0; i < n; i++)
                        {
                            u!.AddPortMapping(port, "TCP", u.LanAddr, port, "bench", null, 3600);
                            u.DeletePortMapping(port, "TCP");
                        }
                        Console.WriteLine(Answer(t0, $", \"ops\": {n}"));
                        break;
                    }
                    case "list":
                    {
                        if (w[1] != "generic")
                        {
                            Console.WriteLine(Error("the UPnP port has no bulk listing (Python has none)"));
                            break;
                        }
                        int count = 0;
                        while (count < 4096 && u!.GetGenericPortMapping(count) is not null)
                        {
                            count++;
                        }
                        Console.WriteLine(Answer(t0, $", \"count\": {count}"));
                        break;
                    }
                    case "quit":
                        u?.Dispose();
                        return 0;
                    default:
                        Console.WriteLine(Error("unknown command"));
                        break;
                }
            }
            catch (Exception e)
            {
                Console.WriteLine(Error($"{w[0]}: {e.Message}"));
            }
        }
        return 0;
    }

    internal static async Task<int> AsyncLayer()
    {
        UpnpGateway? g = null;
        const PortMappingProtocol Tcp = PortMappingProtocol.Tcp;
        while (Console.ReadLine() is { } line)
        {
            string[] w = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (w.Length == 0)
            {
                continue;
            }
            long t0 = Stopwatch.GetTimestamp();
            try
            {
                switch (w[0])
                {
                    case "open":
                        g = await UpnpGateway.OpenAsync(new Uri(w[1]));
                        Console.WriteLine(Answer(t0));
                        break;
                    case "get":
                    {
                        int n = int.Parse(w[1], CultureInfo.InvariantCulture), port = int.Parse(w[2], CultureInfo.InvariantCulture);
                        for (int i = 0; i < n; i++)
                        {
                            await g!.GetMappingAsync(Tcp, port);
                        }
                        Console.WriteLine(Answer(t0, $", \"ops\": {n}"));
                        break;
                    }
                    case "adddel":
                    {
                        int n = int.Parse(w[1], CultureInfo.InvariantCulture), port = int.Parse(w[2], CultureInfo.InvariantCulture);
                        for (int i = 0; i < n; i++)
                        {
                            await g!.AddMappingAsync(new PortMappingRequest(Tcp, port) { ExternalPort = port, LeaseDuration = TimeSpan.FromHours(1), Description = "bench" });
                            await g.DeleteMappingAsync(Tcp, port);
                        }
                        Console.WriteLine(Answer(t0, $", \"ops\": {n}"));
                        break;
                    }
                    case "list":
                    {
                        var method = w[1] == "bulk" ? PortMappingListMethod.Bulk : PortMappingListMethod.EntryByEntry;
                        var all = await g!.ListMappingsAsync(method);
                        Console.WriteLine(Answer(t0, $", \"count\": {all.Count}"));
                        break;
                    }
                    case "quit":
                        return 0;
                    default:
                        Console.WriteLine(Error("unknown command"));
                        break;
                }
            }
            catch (Exception e)
            {
                Console.WriteLine(Error($"{w[0]}: {e.Message}"));
            }
        }
        return 0;
    }
}

internal static class PmpFigures
{
    private static void Print(double ms, string extra = "") =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{{\"ms\": {ms:0.000}{extra}}}"));

    internal static async Task<int> ColdAsync(string client, int port, IPAddress gateway, long start)
    {
        const PortMappingProtocol Udp = PortMappingProtocol.Udp;
        switch (client)
        {
            case "natpmp-port":
            {
                using var n = new NATPMP(); // the default gateway, as Python's NATPMP()
                int mapped = n.AddPortMapping(port, "UDP", port, 3600);
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                n.DeletePortMapping(port, "UDP", port);
                return Checked(mapped, port, ms);
            }
            case "natpmp":
            {
                var natpmp = new NatpmpClient(gateway);
                var mapping = await natpmp.MapAsync(new NatpmpMapRequest(Udp, port) { ExternalPort = port, Lifetime = TimeSpan.FromHours(1) });
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                await natpmp.DeleteAsync(mapping);
                return Checked(mapping.ExternalPort, port, ms);
            }
            case "pcp":
            {
                var pcp = new PcpClient(gateway);
                var mapping = await pcp.MapAsync(new PcpMapRequest(Udp, port) { ExternalPort = port, Lifetime = TimeSpan.FromHours(1) });
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                await pcp.DeleteAsync(mapping);
                return Checked(mapping.ExternalEndPoint.Port, port, ms);
            }
            case "mapper":
            {
                var mapper = await PortMapper.DiscoverAsync();
                double discovered = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                var lease = await mapper.LeaseAsync(new PortMappingLeaseOptions(Udp, port) { ExternalPort = port, Description = "bench" });
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                int mapped = lease.ExternalEndPoint?.Port ?? 0;
                await lease.DisposeAsync();
                return Checked(mapped, port, ms, string.Create(CultureInfo.InvariantCulture,
                    $", \"method\": \"{mapper.Method}\", \"race_ms\": {mapper.Report.Elapsed.TotalMilliseconds:0.000}, \"discovered_ms\": {discovered:0.000}"));
            }
            default:
                return 2;
        }
    }

    // A mapping on another port than asked would escape the figure's cleanup checks: say so rather than time it.
    private static int Checked(int mapped, int port, double ms, string extra = "")
    {
        if (mapped != port)
        {
            Console.WriteLine($"{{\"error\": \"mapped external port {mapped}, not {port}\"}}");
            return 1;
        }
        Print(ms, extra);
        return 0;
    }

    internal static async Task<int> ServeAsync(IPAddress gateway)
    {
        const PortMappingProtocol Udp = PortMappingProtocol.Udp;
        var natpmp = new NatpmpClient(gateway);
        var pcp = new PcpClient(gateway);
        while (Console.ReadLine() is { } line)
        {
            string[] w = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (w.Length == 0)
            {
                continue;
            }
            long t0 = Stopwatch.GetTimestamp();
            try
            {
                switch (w[0])
                {
                    case "natpmp-mapdel":
                    {
                        int n = int.Parse(w[1], CultureInfo.InvariantCulture), port = int.Parse(w[2], CultureInfo.InvariantCulture);
                        for (int i = 0; i < n; i++)
                        {
                            var m = await natpmp.MapAsync(new NatpmpMapRequest(Udp, port) { ExternalPort = port, Lifetime = TimeSpan.FromHours(1) });
                            await natpmp.DeleteAsync(m);
                        }
                        Print(Stopwatch.GetElapsedTime(t0).TotalMilliseconds, $", \"ops\": {n}");
                        break;
                    }
                    case "pcp-mapdel":
                    {
                        int n = int.Parse(w[1], CultureInfo.InvariantCulture), port = int.Parse(w[2], CultureInfo.InvariantCulture);
                        for (int i = 0; i < n; i++)
                        {
                            var m = await pcp.MapAsync(new PcpMapRequest(Udp, port) { ExternalPort = port, Lifetime = TimeSpan.FromHours(1) });
                            await pcp.DeleteAsync(m);
                        }
                        Print(Stopwatch.GetElapsedTime(t0).TotalMilliseconds, $", \"ops\": {n}");
                        break;
                    }
                    case "quit":
                        return 0;
                    default:
                        Console.WriteLine("{\"error\": \"unknown command\"}");
                        break;
                }
            }
            catch (Exception e)
            {
                Console.WriteLine($"{{\"error\": \"{w[0]}: {e.Message.Replace("\"", "'", StringComparison.Ordinal)}\"}}");
            }
        }
        return 0;
    }
}
