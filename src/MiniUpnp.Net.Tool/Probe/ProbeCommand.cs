using System;
using System.Collections.Generic;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Tool.Output;
using MiniUpnp.Net.Tool.Simple;

namespace MiniUpnp.Net.Tool.Probe;

/// <summary>
/// <c>upnpc-net probe</c>, the <c>tailscale netcheck</c> of port mapping: what the gateway speaks (UPnP IGD and its
/// version, NAT-PMP, PCP, each asked on its own), its external address and that address's class, what STUN sees, and
/// the verdict of <see cref="ReachabilityCheck"/> with its hint; <c>--port</c> also maps a port for the time of the
/// probe and judges it. <c>--json</c> prints the same as one JSON object. Exit 0 when the probe ran (whatever the
/// verdict), 1 when it could not, 2 on bad usage.
/// </summary>
internal static class ProbeCommand
{
    internal const string Name = "probe";

    private static readonly Option<string[]> s_stunOption = new("--stun")
    {
        Description = "A STUN server to ask what address the Internet sees (IP or IP:port, port 3478 by default); repeatable. None: STUN is not asked.",
        HelpName = "address[:port]",
        AllowMultipleArgumentsPerToken = false,
        CustomParser = ParseStunServers,
    };

    private static readonly Option<string> s_gatewayOption = new("--gateway", "-g")
    {
        Description = "The router's IPv4 address (default: this host's default gateway).",
        HelpName = "address",
    };

    private static readonly Option<int> s_portOption = new("--port", "-p")
    {
        Description = "Also map this port of this host (same external port) while probing, and judge the mapping.",
        HelpName = "port",
        Validators = { static r => CheckPort(r) },
    };

    private static readonly Option<string> s_protocolOption = new("--protocol")
    {
        Description = "The probe mapping's protocol: tcp (default) or udp.",
        HelpName = "tcp|udp",
        DefaultValueFactory = static _ => "tcp",
        Validators = { static r => CheckProtocol(r) },
    };

    private static readonly Option<int> s_timeoutOption = new("--timeout")
    {
        Description = "The bound of each step, in milliseconds (default 3000).",
        HelpName = "ms",
        DefaultValueFactory = static _ => 3000,
        Validators = { static r => CheckTimeout(r) },
    };

    private static readonly Option<bool> s_jsonOption = new("--json")
    {
        Description = "Print one JSON object instead of text.",
    };

    internal static Command Create()
    {
        var command = new Command(Name, "What the gateway speaks (UPnP IGD, NAT-PMP, PCP), its external address and its class, what STUN sees, and whether a port is really reachable.")
        {
            s_stunOption, s_gatewayOption, s_portOption, s_protocolOption, s_timeoutOption, s_jsonOption,
        };
        command.SetAction(static (parseResult, cancellationToken) => RunAsync(parseResult, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var timeout = TimeSpan.FromMilliseconds(parseResult.GetValue(s_timeoutOption));
        IPAddress? gateway = null;
        if (parseResult.GetValue(s_gatewayOption) is { } text)
        {
            if (!IPAddress.TryParse(text, out gateway) || gateway.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || !IsUnicast(gateway))
            {
                ToolConsole.Error.WriteLine($"{ToolConsole.ProgramName} probe: --gateway needs a unicast IPv4 address, not '{text}'");
                return SimpleCommands.UsageError;
            }
        }
        gateway ??= PcpClient.ForDefaultGateway()?.Server;
        var stun = parseResult.GetValue(s_stunOption) is { } servers ? servers.Select(ParseEndPoint).ToArray() : Array.Empty<IPEndPoint>();
        int port = parseResult.GetValue(s_portOption);
        var protocol = string.Equals(parseResult.GetValue(s_protocolOption), "udp", StringComparison.OrdinalIgnoreCase)
            ? PortMappingProtocol.Udp : PortMappingProtocol.Tcp;
        bool json = parseResult.GetValue(s_jsonOption);

        try
        {
            var speaks = gateway is null ? [] : await AskEachProtocolAsync(gateway, timeout, cancellationToken);
            var reachability = new ReachabilityOptions { StunServers = stun, Timeout = timeout };
            var mapperOptions = new PortMapperOptions { Gateway = gateway, Timeout = timeout, OperationTimeout = timeout };
            ReachabilityReport report;
            if (gateway is null)
            {
                report = await ReachabilityCheck.CheckGatewayAsync(reachability, mapperOptions, cancellationToken);
            }
            else
            {
                PortMapper? mapper = null;
                try
                {
                    mapper = await PortMapper.DiscoverAsync(mapperOptions, cancellationToken);
                }
                catch (PortMapperException)
                {
                }
                report = mapper is null ? await ReachabilityCheck.CheckGatewayAsync(reachability, mapperOptions, cancellationToken)
                    : port == 0 ? await ReachabilityCheck.CheckAsync(mapper, null, reachability, cancellationToken)
                    : await ReachabilityCheck.ProbeAsync(mapper, new PortMappingLeaseOptions(protocol, port)
                    {
                        ExternalPort = port,
                        LeaseDuration = TimeSpan.FromSeconds(120),
                        Description = $"{ToolConsole.ProgramName} probe",
                        DisposeTimeout = timeout,
                    }, reachability, cancellationToken);
            }
            (StunNatBehaviour? Found, string Text)? behaviour = report.StunServer is { } answered ? await BehaviourAsync(answered, timeout, cancellationToken) : null;
            if (json)
            {
                ToolConsole.Out.WriteLine(Json(gateway, speaks, report, behaviour));
            }
            else
            {
                WriteText(ToolConsole.Out, gateway, speaks, report, behaviour);
            }
            return SimpleCommands.Success;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            ToolConsole.Error.WriteLine($"{ToolConsole.ProgramName} probe: cancelled");
            return SimpleCommands.IgdError;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The router did not answer the probe's mapping in time, the native library is missing, ...: one line, exit 1.
            ToolConsole.Error.WriteLine($"{ToolConsole.ProgramName} probe: {e.Message}");
            return SimpleCommands.IgdError;
        }
    }

    /// <summary>One protocol's answer to "do you speak it?".</summary>
    private sealed record Speaks(string Protocol, bool Answered, string Detail, double Milliseconds);

    /// <summary>Asks each protocol on its own, together: unlike the mapper's race, none is stopped when another answers.</summary>
    private static async Task<Speaks[]> AskEachProtocolAsync(IPAddress gateway, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var upnp = TimedAsync("UPnP", async token =>
        {
            var found = await GatewayDiscovery.DiscoverWithReportAsync(new GatewayDiscoveryOptions { Timeout = timeout, OperationTimeout = timeout }, token);
            return found.Gateway is { } g
                ? (true, $"{IgdVersion(g.ServiceType)} at {g.RootDescriptionUrl} ({g.ServiceType}, {g.State})")
                : (false, found.Reason);
        }, cancellationToken);
        var natpmp = TimedAsync("NAT-PMP", async token =>
        {
            var address = await new NatpmpClient(gateway) { OperationTimeout = timeout }.GetPublicAddressAsync(token);
            return (true, $"public address {address.Address}, epoch {address.Epoch}");
        }, cancellationToken);
        var pcp = TimedAsync("PCP", async token =>
        {
            var announcement = await new PcpClient(gateway) { OperationTimeout = timeout }.AnnounceAsync(token);
            return (true, $"ANNOUNCE answered, epoch {announcement.Epoch}");
        }, cancellationToken);
        return await Task.WhenAll(upnp, natpmp, pcp);
    }

    private static async Task<Speaks> TimedAsync(string protocol, Func<CancellationToken, Task<(bool, string)>> ask, CancellationToken cancellationToken)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        (bool answered, string detail) result;
        try
        {
            result = await ask(cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or PcpException or NatpmpException or UpnpException or System.Net.Sockets.SocketException
                                  && !cancellationToken.IsCancellationRequested)
        {
            result = (false, e is TimeoutException ? "no answer" : e.Message);
        }
        return new Speaks(protocol, result.answered, result.detail, System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    /// <summary>RFC 5780's NAT behaviour tests against the STUN server that answered, or what stopped them.</summary>
    private static async Task<(StunNatBehaviour? Found, string Text)> BehaviourAsync(IPEndPoint server, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            var found = await new StunClient { OperationTimeout = timeout }.DetectBehaviourAsync(server, cancellationToken);
            return (found, found.ServerSupportsBehaviourDiscovery
                ? $"mapping {found.Mapping}, filtering {found.Filtering} (RFC 5780, {server})"
                : $"not known: {server} does not support RFC 5780 (no OTHER-ADDRESS)");
        }
        catch (Exception e) when (e is TimeoutException or StunException or System.Net.Sockets.SocketException && !cancellationToken.IsCancellationRequested)
        {
            return (null, $"not known: {e.Message}");
        }
    }

    private static string IgdVersion(string serviceType) =>
        serviceType.EndsWith(":2", StringComparison.Ordinal) ? "IGD:2" : serviceType.EndsWith(":1", StringComparison.Ordinal) ? "IGD:1" : "IGD";

    private static void WriteText(TextWriter output, IPAddress? gateway, Speaks[] speaks, ReachabilityReport report,
        (StunNatBehaviour? Found, string Text)? behaviour)
    {
        output.WriteLine($"Gateway: {gateway?.ToString() ?? "none (no default gateway)"}");
        foreach (var s in speaks)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {s.Protocol + ":",-8} {(s.Answered ? "yes" : "no ")}  {s.Milliseconds,5:0} ms  {s.Detail}"));
        }
        if (report.RouterExternalAddress is { } external)
        {
            output.WriteLine($"External address: {external} ({ClassName(report.RouterAddressClass!.Value)})");
        }
        if (report.StunObserved is { } seen)
        {
            output.WriteLine($"STUN: {report.StunServer} sees {seen}{(report.StunAgrees == true ? " (the router's address)" : report.StunAgrees == false ? " (NOT the router's address)" : "")}");
        }
        else
        {
            output.WriteLine("STUN: " + (report.Evidence.FirstOrDefault(l => l.StartsWith("STUN", StringComparison.Ordinal)) ?? "not asked"));
        }
        if (behaviour is { } nat)
        {
            output.WriteLine($"NAT behaviour: {nat.Text}");
        }
        output.WriteLine($"Verdict: {report.Verdict}");
        output.WriteLine($"Hint: {report.Hint}");
        output.WriteLine("Evidence:");
        foreach (string line in report.Evidence)
        {
            output.WriteLine($"  {line}");
        }
    }

    private static string ClassName(NetworkAddressClass c) => c switch
    {
        NetworkAddressClass.Public => "public",
        NetworkAddressClass.CarrierGradeNat => "carrier-grade NAT, 100.64.0.0/10",
        NetworkAddressClass.Private => "private",
        _ => "reserved",
    };

    /// <summary>The probe as one JSON object, written field by field (no reflection: the tool is trimmed).</summary>
    private static string Json(IPAddress? gateway, Speaks[] speaks, ReachabilityReport report, (StunNatBehaviour? Found, string Text)? behaviour)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("gateway", gateway?.ToString());
            w.WriteStartObject("protocols");
            foreach (var s in speaks)
            {
                w.WriteStartObject(s.Protocol switch { "UPnP" => "upnp", "NAT-PMP" => "natpmp", _ => "pcp" });
                w.WriteBoolean("answered", s.Answered);
                w.WriteString("detail", s.Detail);
                w.WriteNumber("ms", Math.Round(s.Milliseconds, 1));
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteString("method", report.Method?.ToString());
            w.WriteString("externalAddress", report.RouterExternalAddress?.ToString());
            w.WriteString("addressClass", report.RouterAddressClass?.ToString());
            w.WriteString("stunServer", report.StunServer?.ToString());
            w.WriteString("stunObserved", report.StunObserved?.ToString());
            WriteBool(w, "stunAgrees", report.StunAgrees);
            var nat = behaviour?.Found is { ServerSupportsBehaviourDiscovery: true } found ? found : null;
            w.WriteString("natMapping", nat?.Mapping.ToString());
            w.WriteString("natFiltering", nat?.Filtering.ToString());
            w.WriteString("natBehaviour", behaviour?.Text);
            w.WriteString("mapping", report.ExternalEndPoint?.ToString());
            WriteSeconds(w, "leaseRequested", report.LeaseRequested);
            WriteSeconds(w, "leaseGranted", report.LeaseGranted);
            WriteBool(w, "mappingPresent", report.MappingPresent);
            WriteBool(w, "verified", report.Verified);
            if (report.RefusalCode is { } code)
            {
                w.WriteNumber("refusalCode", code);
            }
            else
            {
                w.WriteNull("refusalCode");
            }
            w.WriteString("refusal", report.RefusalText);
            w.WriteString("verdict", report.Verdict.ToString());
            w.WriteString("hint", report.Hint);
            w.WriteStartArray("evidence");
            foreach (string line in report.Evidence)
            {
                w.WriteStringValue(line);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteBool(Utf8JsonWriter w, string name, bool? value)
    {
        if (value is { } v)
        {
            w.WriteBoolean(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void WriteSeconds(Utf8JsonWriter w, string name, TimeSpan? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, (long)v.TotalSeconds);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static string[] ParseStunServers(ArgumentResult result)
    {
        var values = result.Tokens.Select(t => t.Value).ToArray();
        foreach (string value in values)
        {
            if (TryParseEndPoint(value) is null)
            {
                result.AddError($"--stun needs a unicast IP address, optionally with :port, not '{value}'");
            }
        }
        return values;
    }

    private static IPEndPoint ParseEndPoint(string value) => TryParseEndPoint(value)!;

    private static IPEndPoint? TryParseEndPoint(string value)
    {
        if (IPAddress.TryParse(value, out var address))
        {
            return IsUnicast(address) ? new IPEndPoint(address, StunClient.DefaultPort) : null;
        }
        return IPEndPoint.TryParse(value, out var endPoint) && endPoint.Port != 0 && IsUnicast(endPoint.Address) ? endPoint : null;
    }

    /// <summary>Not 0.0.0.0, ::, the broadcast address or a multicast one.</summary>
    private static bool IsUnicast(IPAddress address) =>
        !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any) && !address.Equals(IPAddress.Broadcast)
        && !address.IsIPv6Multicast && !(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && address.GetAddressBytes()[0] >= 224);

    private static void CheckPort(OptionResult result)
    {
        int value = result.GetValueOrDefault<int>();
        if (value is < 1 or > 65535)
        {
            result.AddError($"--port must be 1-65535, not {value}");
        }
    }

    private static void CheckProtocol(OptionResult result)
    {
        string? value = result.GetValueOrDefault<string>();
        if (!string.Equals(value, "tcp", StringComparison.OrdinalIgnoreCase) && !string.Equals(value, "udp", StringComparison.OrdinalIgnoreCase))
        {
            result.AddError($"--protocol must be tcp or udp, not '{value}'");
        }
    }

    private static void CheckTimeout(OptionResult result)
    {
        int value = result.GetValueOrDefault<int>();
        if (value is < 1 or > 60000)
        {
            result.AddError($"--timeout must be 1-60000 ms, not {value}");
        }
    }
}
