using System;
using System.Collections.Generic;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using MiniUpnp.Net.Tool.Output;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tool.Simple;

/// <summary>
/// The simple verbs of the small Python scripts built on miniupnpc's module: <c>add PORT PROTO [DESCRIPTION]</c>,
/// <c>list</c>, <c>delete PORT PROTO</c>, through the library's Python-shaped <see cref="UPnP"/>. The internal port is the
/// external port and the LAN address is the one miniupnpc finds towards the IGD. Exit codes: 0 success, 1 an IGD error
/// (none found, or it refused), 2 bad usage.
/// </summary>
internal static class SimpleCommands
{
    internal const int Success = 0;
    internal const int IgdError = 1;
    internal const int UsageError = 2;

    internal static readonly Option<string> UrlOption = new("--url", "-u")
    {
        Description = "Root description URL of the IGD: skips discovery.",
        HelpName = "URL",
    };

    internal static readonly Option<string> MulticastIfOption = new("--multicast-if", "-m")
    {
        Description = "IPv4 address or interface name to send the SSDP discovery from.",
        HelpName = "address/interface",
    };

    internal static readonly Option<int> DiscoverDelayOption = new("--discover-delay")
    {
        Description = "How long discovery waits for answers, in milliseconds.",
        HelpName = "ms",
        DefaultValueFactory = static _ => 2000,
        Validators = { static r => CheckNotNegative(r) },
    };

    private static readonly Argument<int> s_portArgument = new("PORT")
    {
        Description = "The port, both external and on this host (1-65535).",
        CustomParser = ParsePort,
    };

    private static readonly Argument<string> s_protocolArgument = new("PROTO")
    {
        Description = "TCP or UDP.",
        CustomParser = ParseProtocol,
    };

    private static readonly Argument<string?> s_descriptionArgument = new("DESCRIPTION")
    {
        Description = "Shown in the router's list of mappings.",
        DefaultValueFactory = static _ => ToolConsole.ProgramName,
    };

    internal static IReadOnlyList<string> Names { get; } = ["add", "list", "delete"];

    internal static IEnumerable<Command> CreateCommands() => [AddCommand(), ListCommand(), DeleteCommand()];

    private static Command AddCommand()
    {
        var command = new Command("add", "Map PORT of this host to the same external port.")
        {
            s_portArgument, s_protocolArgument, s_descriptionArgument, UrlOption, MulticastIfOption, DiscoverDelayOption,
        };
        command.SetAction(static parseResult => Run("add", parseResult, upnp =>
        {
            int port = parseResult.GetValue(s_portArgument);
            string protocol = parseResult.GetRequiredValue(s_protocolArgument);
            string? description = parseResult.GetValue(s_descriptionArgument);
            upnp.AddPortMapping(port, protocol, upnp.LanAddr, port, description, null);
            ToolConsole.Out.WriteLine($"Added {protocol} {port} -> {upnp.LanAddr}:{port} '{description}'");
        }));
        return command;
    }

    private static Command ListCommand()
    {
        var command = new Command("list", "List the IGD's port mappings.")
        {
            UrlOption, MulticastIfOption, DiscoverDelayOption,
        };
        command.SetAction(static parseResult => Run("list", parseResult, upnp =>
        {
            int count = 0;
            // GetGenericPortMapping returns null past the last entry; an index is 16 bits in the IGD's table.
            for (int i = 0; i <= ushort.MaxValue && upnp.GetGenericPortMapping(i) is { } m; i++, count++)
            {
                string from = m.RemoteHost.Length == 0 ? "" : $" from {m.RemoteHost}";
                string lease = m.LeaseDuration == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $", {m.LeaseDuration} s left");
                string enabled = m.Enabled == "1" ? "" : ", disabled";
                ToolConsole.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{m.Protocol} {m.ExternalPort} -> {m.Internal.InternalClient}:{m.Internal.InternalPort} '{m.Description}'{from}{lease}{enabled}"));
            }
            if (count == 0)
            {
                ToolConsole.Out.WriteLine("No port mappings.");
            }
        }));
        return command;
    }

    private static Command DeleteCommand()
    {
        var command = new Command("delete", "Delete the mapping of external port PORT.")
        {
            s_portArgument, s_protocolArgument, UrlOption, MulticastIfOption, DiscoverDelayOption,
        };
        command.SetAction(static parseResult => Run("delete", parseResult, upnp =>
        {
            int port = parseResult.GetValue(s_portArgument);
            string protocol = parseResult.GetRequiredValue(s_protocolArgument);
            upnp.DeletePortMapping(port, protocol);
            ToolConsole.Out.WriteLine($"Deleted {protocol} {port}");
        }));
        return command;
    }

    /// <summary>A parse error of a simple verb: one line on stderr, exit 2.</summary>
    internal static int ReportParseErrors(ParseResult parseResult)
    {
        ToolConsole.Error.WriteLine($"{ToolConsole.ProgramName} {parseResult.CommandResult.Command.Name}: {parseResult.Errors[0].Message}");
        return UsageError;
    }

    /// <summary>Finds the IGD (discovery, or the given URL), then runs <paramref name="verb"/>.</summary>
    private static int Run(string name, ParseResult parseResult, Action<UPnP> verb) =>
        ToolConsole.Guard($"{ToolConsole.ProgramName} {name}", () =>
        {
            string? url = parseResult.GetValue(UrlOption);
            using var upnp = new UPnP(parseResult.GetValue(MulticastIfOption), null, (uint)parseResult.GetValue(DiscoverDelayOption));
            if (url is null)
            {
                try
                {
                    upnp.Discover();
                }
                catch (UpnpException)
                {
                    throw new UpnpException(Miniupnpc.UPNP_NO_IGD, "no UPnP device answered the discovery");
                }
            }
            upnp.SelectIgd(url);
            verb(upnp);
            return Success;
        }, static e => e switch
        {
            UpnpException => IgdError,
            ArgumentException => UsageError,
            _ => IgdError,
        });

    private static int ParsePort(ArgumentResult result)
    {
        string text = result.Tokens[0].Value;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 1 and <= 65535)
        {
            return port;
        }
        result.AddError($"PORT must be a number from 1 to 65535, not '{text}'.");
        return 0;
    }

    private static string ParseProtocol(ArgumentResult result)
    {
        string text = result.Tokens[0].Value;
        string upper = text.ToUpperInvariant();
        if (upper is "TCP" or "UDP")
        {
            return upper;
        }
        result.AddError($"PROTO must be TCP or UDP, not '{text}'.");
        return text;
    }

    private static void CheckNotNegative(OptionResult result)
    {
        if (result.GetValueOrDefault<int>() < 0)
        {
            result.AddError("--discover-delay must not be negative.");
        }
    }
}
