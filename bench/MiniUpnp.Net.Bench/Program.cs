using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Tasks;
using MiniUpnp.Net;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

// The benchmark's .NET clients, driven by bench/bench.py:
//   MiniUpnp.Net.Bench port|async|lease cold PORT        discovery + one mapping (fresh process)
//   MiniUpnp.Net.Bench port|async|lease warm URL PORT    reopen from a remembered URL + one mapping (fresh process)
//   MiniUpnp.Net.Bench port|async serve                  the stdin commands of bench/cloop.c (open, get, adddel, list, quit)
// "port" is the Python-shaped UPnP class, "async" the async layer (UpnpGateway), "lease" a PortMappingLease
// (mapped and read back). Timings start at the top of Main: what a user waits for in a fresh process. Every answer
// is one JSON line; what a figure adds is removed after the clock stops.

long start = Stopwatch.GetTimestamp();
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: MiniUpnp.Net.Bench port|async|lease cold PORT | warm URL PORT | serve");
    return 2;
}
try
{
    return (args[0], args[1]) switch
    {
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
