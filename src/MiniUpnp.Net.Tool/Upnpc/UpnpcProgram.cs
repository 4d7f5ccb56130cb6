using System.CommandLine;
using System.CommandLine.Parsing;
using System.IO;
using MiniUpnp.Net.Tool.Output;
using static MiniUpnp.Net.Native.Miniupnpc;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tool.Upnpc;

/// <summary>
/// upnpc.c main() after its option loop (line 692 on): banner, discovery or the given description URL, IGD selection,
/// then the command. Each step goes through the library's C-named API with upnpc's arguments, and prints upnpc's lines.
/// </summary>
internal static class UpnpcProgram
{
    private const int DiscoveryDelayMs = 2000; // upnpDiscover(2000, ...)

    /// <summary>Runs the parsed upnpc command line; <paramref name="command"/> is null when it has no command letter.</summary>
    /// <returns>upnpc's exit code.</returns>
    internal static int Run(ParseResult parseResult, UpnpcLetterCommand? command) =>
        ToolConsole.Guard(ToolConsole.ProgramName, () => RunCore(parseResult, command), static _ => 1);

    /// <summary>What upnpc prints for a parse error (usage error): the banner, then its messages on stderr.</summary>
    internal static int ReportParseErrors(ParseResult parseResult)
    {
        TextWriter stdout = ToolConsole.Out, stderr = ToolConsole.Error;
        UpnpcUsage.WriteBanner(stdout);
        WriteInvalidOptions(parseResult, stderr);
        foreach (var error in parseResult.Errors)
        {
            // The only message upnpc has of its own before the usage: an invalid -z value.
            if (error.SymbolResult is OptionResult { Option: var option } && option == UpnpcCommandLine.LocalPortOption)
            {
                stderr.Write(error.Message + "\n");
            }
        }
        return UsageError(stderr);
    }

    /// <summary>--help / -h: the banner and upnpc's usage on stdout, exit 0.</summary>
    internal static int Help(ParseResult parseResult, string simpleCommands)
    {
        UpnpcUsage.WriteBanner(ToolConsole.Out);
        WriteInvalidOptions(parseResult, ToolConsole.Error);
        UpnpcUsage.WriteUsage(ToolConsole.Out, ToolConsole.ProgramName);
        ToolConsole.Out.Write(simpleCommands);
        return 0;
    }

    private static int RunCore(ParseResult parseResult, UpnpcLetterCommand? command)
    {
        TextWriter stdout = ToolConsole.Out, stderr = ToolConsole.Error;
        UpnpcUsage.WriteBanner(stdout);
        WriteInvalidOptions(parseResult, stderr);
        if (command is null)
        {
            return UsageError(stderr);
        }

        string? rootdescurl = parseResult.GetValue(UpnpcCommandLine.RootDescUrlOption);
        string? multicastif = parseResult.GetValue(UpnpcCommandLine.MulticastIfOption);
        // -m sets minissdpdpath to "" (no minissdpd); a -p after it names a socket again (the scanner drops earlier ones).
        string? minissdpdpath = parseResult.GetValue(UpnpcCommandLine.MinissdpdPathOption)
                                ?? (parseResult.GetResult(UpnpcCommandLine.MulticastIfOption) is not null ? "" : null);
        int localport = parseResult.GetValue(UpnpcCommandLine.LocalPortOption);
        bool ipv6 = parseResult.GetValue(UpnpcCommandLine.Ipv6Option);
        byte ttl = parseResult.GetValue(UpnpcCommandLine.TtlOption);
        bool ignore = parseResult.GetValue(UpnpcCommandLine.IgnoreOption);
        string? description = parseResult.GetValue(UpnpcCommandLine.DescriptionOption);
        string[] commandargv = parseResult.GetValue(command.CommandArguments) ?? [];

        if (!ipv6 && command.HintsIpv6)
        {
            stdout.Write("Use IPv6 (option -6) GUA address to ensure UPnP IGDv2 pinholes are allowed\n\n");
        }

        // upnpc: if (rootdescurl || (devlist = upnpDiscover(...))): no discovery when a URL is given.
        SafeDeviceListHandle? devlist = null;
        try
        {
            if (rootdescurl is null)
            {
                devlist = upnpDiscover(DiscoveryDelayMs, multicastif, minissdpdpath, localport, ipv6 ? 1 : 0, ttl, out _);
                if (devlist.IsInvalid)
                {
                    stderr.Write("No IGD UPnP Device found on the network !\n");
                    return 1;
                }
                stdout.Write("List of UPNP devices found on the network :\n");
                foreach (var device in devlist.Devices)
                {
                    stdout.Write($" desc: {device.descURL}\n st: {device.st}\n\n");
                }
            }
            // (upnpc's "upnpDiscover() error code=%d" branch cannot be reached: it needs no list and no URL.)

            using var urls = new SafeUrlsHandle();
            var data = new IGDdatas();
            int i = 1;
            string lanaddr, wanaddr = "unset";
            if ((rootdescurl is not null && UPNP_GetIGDFromUrl(rootdescurl, urls, data, out lanaddr) != 0)
                || (i = UPNP_GetValidIGD(devlist, urls, data, out lanaddr, out wanaddr)) != 0)
            {
                switch (i)
                {
                    case UPNP_CONNECTED_IGD:
                        stdout.Write($"Found valid IGD : {urls.controlURL}\n");
                        break;
                    case UPNP_PRIVATEIP_IGD:
                        stdout.Write($"Found an IGD with a reserved IP address ({wanaddr}) : {urls.controlURL}\n");
                        break;
                    case UPNP_DISCONNECTED_IGD:
                        stdout.Write($"Found a (not connected?) IGD : {urls.controlURL}\n");
                        WriteIgnoring(stdout, ignore);
                        break;
                    case UPNP_UNKNOWN_DEVICE:
                        stdout.Write($"UPnP device found. Is it an IGD ? : {urls.controlURL}\n");
                        WriteIgnoring(stdout, ignore);
                        break;
                    default:
                        stdout.Write($"Found device (igd ?) : {urls.controlURL}\n");
                        WriteIgnoring(stdout, ignore);
                        break;
                }
                int retcode;
                if (i == UPNP_CONNECTED_IGD || i == UPNP_PRIVATEIP_IGD || ignore)
                {
                    stdout.Write($"Local LAN ip address : {lanaddr}\n");
                    var functions = new UpnpcFunctions(urls, data, stdout, stderr);
                    retcode = command.Body(new UpnpcCall(functions, commandargv, lanaddr, description, stderr));
                }
                else
                {
                    stderr.Write("No valid UPNP Internet Gateway Device found.\n");
                    retcode = 1;
                }
                FreeUPNPUrls(urls);
                return retcode;
            }
            stderr.Write("No valid UPNP Internet Gateway Device found.\n");
            return 1;
        }
        finally
        {
            freeUPNPDevlist(devlist);
        }
    }

    private static void WriteIgnoring(TextWriter stdout, bool ignore)
    {
        if (ignore)
        {
            stdout.Write("Trying to continue anyway\n");
        }
    }

    private static void WriteInvalidOptions(ParseResult parseResult, TextWriter stderr)
    {
        foreach (string word in parseResult.GetValue(UpnpcCommandLine.InvalidOption) ?? [])
        {
            stderr.Write($"option '{word}' invalid\n");
        }
    }

    private static int UsageError(TextWriter stderr)
    {
        stderr.Write("Command line argument error.\n\n");
        UpnpcUsage.WriteUsage(stderr, ToolConsole.ProgramName);
        return 1;
    }
}
