using System;
using System.Collections.Generic;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Linq;
using MiniUpnp.Net.Tool.Output;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tool.Upnpc;

/// <summary>
/// upnpc 2.3.3's command line as System.CommandLine symbols. upnpc's options (<c>-e -6 -u -m -z -p -t -i</c>) are options
/// of the root command, typed and checked by the parser (<c>-z</c> and <c>-t</c> with upnpc's own conversions). Each command
/// letter (<c>-a</c>, <c>-l</c>, …) is a subcommand named after it whose arguments carry upnpc's minimum count as their
/// arity, so that too few arguments is a parse error (upnpc: "Command line argument error."). Extra arguments are
/// accepted and ignored, as upnpc ignores them. <see cref="UpnpcArgumentScanner"/> first rewrites upnpc's positional
/// syntax into this shape; <see cref="UpnpcProgram"/> runs what was parsed.
/// </summary>
internal static class UpnpcCommandLine
{
    internal static readonly Option<string> DescriptionOption = new("-e")
    {
        Description = "set description for port mapping.",
        HelpName = "description",
    };

    internal static readonly Option<bool> Ipv6Option = new("-6")
    {
        Description = "use IPv6 instead of IPv4.",
        Arity = ArgumentArity.Zero,
    };

    internal static readonly Option<string> RootDescUrlOption = new("-u")
    {
        Description = "bypass discovery process by providing the XML root description URL.",
        HelpName = "URL",
    };

    internal static readonly Option<string> MulticastIfOption = new("-m")
    {
        Description = "provide IPv4 address or interface name (IPv4 or IPv6) to use for sending SSDP multicast packets.",
        HelpName = "address/interface",
    };

    internal static readonly Option<int> LocalPortOption = new("-z")
    {
        Description = "SSDP packets local (source) port (1024-65535).",
        HelpName = "localport",
        CustomParser = ParseLocalPort,
    };

    internal static readonly Option<string> MinissdpdPathOption = new("-p")
    {
        Description = "use this path for MiniSSDPd socket.",
        HelpName = "path",
    };

    internal static readonly Option<byte> TtlOption = new("-t")
    {
        Description = "set multicast TTL. Default value is 2.",
        HelpName = "ttl",
        // upnpc: ttl = (unsigned char)atoi(argv[++i]); anything is accepted.
        CustomParser = static result => unchecked((byte)CText.Atoi(result.Tokens[0].Value)),
        DefaultValueFactory = static _ => 2,
    };

    internal static readonly Option<bool> IgnoreOption = new("-i")
    {
        Description = "ignore errors and try to use also disconnected IGD or non-IGD device.",
        Arity = ArgumentArity.Zero,
    };

    /// <summary>Words upnpc skipped with "option '%s' invalid" (filled by <see cref="UpnpcArgumentScanner"/> only).</summary>
    internal static readonly Option<string[]> InvalidOption = new("--upnpc-invalid-option")
    {
        Description = "A word upnpc's syntax does not expect before the command letter: reported, then ignored.",
        Hidden = true,
    };

    /// <summary>upnpc's options in its usage order.</summary>
    internal static IReadOnlyList<Option> Options { get; } =
        [DescriptionOption, Ipv6Option, RootDescUrlOption, MulticastIfOption, LocalPortOption, MinissdpdPathOption, TtlOption, IgnoreOption];

    /// <summary>Name of the hidden command that stands for a letter upnpc does not know.</summary>
    internal const string UnknownSwitchName = "--upnpc-unknown-switch";

    private static readonly Lazy<HashSet<string>> s_commandNames =
        new(static () => CreateCommands().Where(c => !c.Hidden).Select(c => c.Name).ToHashSet(StringComparer.Ordinal));

    /// <summary>Whether <c>-</c><paramref name="letter"/> is one of upnpc's commands (-a, -r, …, -P).</summary>
    internal static bool IsCommandLetter(char letter) => s_commandNames.Value.Contains("-" + letter);

    /// <summary>upnpc's test for -z: <c>sscanf("%d%c") == 1</c>, 0 to 65535, and not 2 to 1023.</summary>
    internal static bool IsValidLocalPort(string text) =>
        CText.ScanWholeInt(text, out int port) && port is >= 0 and <= 65535 && !(port > 1 && port < 1024);

    private static int ParseLocalPort(ArgumentResult result)
    {
        string text = result.Tokens[0].Value;
        if (IsValidLocalPort(text))
        {
            CText.ScanWholeInt(text, out int port);
            return port;
        }
        result.AddError($"Invalid localport '{text}'"); // upnpc's own message, printed before the usage
        return Miniupnpc.UPNP_LOCAL_PORT_ANY;
    }

    /// <summary>Every upnpc command, in the order of upnpc's usage text, then the hidden unknown-letter command.</summary>
    internal static IReadOnlyList<UpnpcLetterCommand> CreateCommands() =>
    [
        AddPortMappingCommand(),
        AddPortMappingsCommand(),
        DeletePortMappingCommand(),
        DeletePortMappingsCommand(),
        ConnectionStatusCommand(),
        ListCommand(),
        ListOfPortMappingsCommand(),
        AddAnyPortMappingCommand(),
        DeletePortMappingRangeCommand(),
        AddPinholeCommand(),
        UpdatePinholeCommand(),
        CheckPinholeCommand(),
        PinholePacketsCommand(),
        DeletePinholeCommand(),
        FirewallStatusCommand(),
        OutboundPinholeTimeoutCommand(),
        PresentationUrlCommand(),
        UnknownSwitchCommand(),
    ];

    // ---------------------------------------------------------------- one factory per upnpc command (upnpc.c main(), switch at line 776)

    private static UpnpcLetterCommand AddPortMappingCommand() =>
        new('a', "ip port external_port protocol [duration] [remote host]", "Add port mapping", minArgs: 4,
            static call => AddMapping(call, addAny: false));

    private static UpnpcLetterCommand AddPortMappingsCommand() =>
        new('r', "port1 [external_port1] protocol1 [port2 [external_port2] protocol2] [...]", "Add multiple port mappings to the current host", minArgs: 2,
            static call =>
            {
                int retcode = 0;
                for (int i = 0; i < call.Count;)
                {
                    if (!CText.IsInt(call[i]))
                    {
                        call.Stderr.Write($"command -r : {call[i]} is not an port number\n");
                        return 1;
                    }
                    if (CText.IsInt(call[i + 1]))
                    {
                        // <port> <external_port> <protocol>
                        if (call.Functions.SetRedirectAndTest(call.LanAddr, call[i], call[i + 1], call[i + 2], "0", null, call.Description, addAny: false) < 0)
                        {
                            retcode = 2;
                        }
                        i += 3;
                    }
                    else
                    {
                        // <port> <protocol>
                        if (call.Functions.SetRedirectAndTest(call.LanAddr, call[i], call[i], call[i + 1], "0", null, call.Description, addAny: false) < 0)
                        {
                            retcode = 2;
                        }
                        i += 2;
                    }
                }
                return retcode;
            });

    private static UpnpcLetterCommand DeletePortMappingCommand() =>
        new('d', "external_port protocol [remote host]", "Delete port redirection", minArgs: 2,
            static call => call.Functions.RemoveRedirect(call[0], call[1], call.Count > 2 ? call[2] : null) < 0 ? 2 : 0);

    private static UpnpcLetterCommand DeletePortMappingsCommand() =>
        new('f', "external_port1 protocol1 [external_port2 protocol2] [...]", "Delete multiple port redirections", minArgs: 0,
            static call =>
            {
                int retcode = 0;
                for (int i = 0; i < call.Count; i += 2)
                {
                    if (!CText.IsInt(call[i]))
                    {
                        call.Stderr.Write($"command -f : {call[i]} is not an port number\n");
                        return 1;
                    }
                    if (i + 1 == call.Count)
                    {
                        call.Stderr.Write("command -f : too few arguments\n");
                        return 2;
                    }
                    if (call.Functions.RemoveRedirect(call[i], call[i + 1], null) < 0)
                    {
                        retcode = 3;
                    }
                }
                return retcode;
            });

    private static UpnpcLetterCommand ConnectionStatusCommand() =>
        new('s', "", "Get Connection status", minArgs: 0,
            static call =>
            {
                call.Functions.GetConnectionStatus();
                return 0;
            });

    private static UpnpcLetterCommand ListCommand() =>
        new('l', "", "List redirections", minArgs: 0,
            static call =>
            {
                call.Functions.DisplayInfos();
                call.Functions.ListRedirections();
                return 0;
            });

    private static UpnpcLetterCommand ListOfPortMappingsCommand() =>
        new('L', "", "List redirections (using GetListOfPortMappings (for IGD:2 only)", minArgs: 0,
            static call =>
            {
                call.Functions.NewListRedirections();
                return 0;
            });

    private static UpnpcLetterCommand AddAnyPortMappingCommand() =>
        new('n', "ip port external_port protocol [duration] [remote host]",
            "Add (any) port mapping allowing IGD to use alternative external_port (for IGD:2 only)", minArgs: 4,
            static call => AddMapping(call, addAny: true));

    private static UpnpcLetterCommand DeletePortMappingRangeCommand() =>
        new('N', "external_port_start external_port_end protocol [manage]", "Delete range of port mappings (for IGD:2 only)", minArgs: 3,
            static call => call.Functions.RemoveRedirectRange(call[0], call[1], call[2], call.Count > 3 ? call[3] : null) < 0 ? 2 : 0);

    private static UpnpcLetterCommand AddPinholeCommand() =>
        new('A', "remote_ip remote_port internal_ip internal_port protocol lease_time", "Add Pinhole (for IGD:2 only)", minArgs: 6,
            static call => call.Functions.SetPinholeAndTest(call[0], call[1], call.LanAddrFor(2), call[3], call[4], call[5]) < 0 ? 2 : 0,
            hintsIpv6: true);

    private static UpnpcLetterCommand UpdatePinholeCommand() =>
        new('U', "uniqueID new_lease_time", "Update Pinhole (for IGD:2 only)", minArgs: 2,
            static call =>
            {
                call.Functions.GetPinholeAndUpdate(call[0], call[1]);
                return 0;
            },
            hintsIpv6: true);

    private static UpnpcLetterCommand CheckPinholeCommand() =>
        new('C', "uniqueID", "Check if Pinhole is Working (for IGD:2 only)", minArgs: 1,
            static call =>
            {
                for (int i = 0; i < call.Count; i++)
                {
                    call.Functions.CheckPinhole(call[i]);
                }
                return 0;
            },
            hintsIpv6: true);

    private static UpnpcLetterCommand PinholePacketsCommand() =>
        new('K', "uniqueID", "Get Number of packets going through the rule (for IGD:2 only)", minArgs: 1,
            static call =>
            {
                for (int i = 0; i < call.Count; i++)
                {
                    call.Functions.GetPinholePackets(call[i]);
                }
                return 0;
            },
            hintsIpv6: true);

    private static UpnpcLetterCommand DeletePinholeCommand() =>
        new('D', "uniqueID", "Delete Pinhole (for IGD:2 only)", minArgs: 1,
            static call =>
            {
                int retcode = 0;
                for (int i = 0; i < call.Count; i++)
                {
                    if (call.Functions.RemovePinhole(call[i]) < 0)
                    {
                        retcode = 2;
                    }
                }
                return retcode;
            },
            hintsIpv6: true);

    private static UpnpcLetterCommand FirewallStatusCommand() =>
        new('S', "", "Get Firewall status (for IGD:2 only)", minArgs: 0,
            static call =>
            {
                call.Functions.GetFirewallStatus();
                return 0;
            });

    private static UpnpcLetterCommand OutboundPinholeTimeoutCommand() =>
        new('G', "remote_ip remote_port internal_ip internal_port protocol", "Get Outbound Pinhole Timeout (for IGD:2 only)", minArgs: 5,
            static call =>
            {
                call.Functions.GetPinholeOutboundTimeout(call[0], call[1], call.LanAddrFor(2), call[3], call[4]);
                return 0;
            },
            hintsIpv6: true);

    private static UpnpcLetterCommand PresentationUrlCommand() =>
        new('P', "", "Get Presentation URL", minArgs: 0,
            static call =>
            {
                call.Functions.PrintPresentationUrl();
                return 0;
            });

    /// <summary>
    /// A letter upnpc does not know is still its command: upnpc discovers, selects the IGD, then says
    /// "Unknown switch -x". Its one argument is the letter (<see cref="UpnpcArgumentScanner"/>).
    /// </summary>
    private static UpnpcLetterCommand UnknownSwitchCommand() =>
        new(UnknownSwitchName, static call =>
        {
            call.Stderr.Write($"Unknown switch -{call[0]}\n");
            return 1;
        });

    /// <summary>-a and -n: an integer 5th argument is the duration, anything else the remote host (upnpc.c line 789).</summary>
    private static int AddMapping(UpnpcCall call, bool addAny)
    {
        string leaseDuration = call.Count > 4 && CText.IsInt(call[4]) ? call[4]! : "0";
        string? remoteHost = call.Count > 4 && !CText.IsInt(call[4]) ? call[4] : call.Count > 5 ? call[5] : null;
        return call.Functions.SetRedirectAndTest(call.LanAddrFor(0), call[1], call[2], call[3], leaseDuration, remoteHost,
            call.Description, addAny) < 0 ? 2 : 0;
    }
}
