using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using MiniUpnp.Net.Tool.Natpmpc;
using MiniUpnp.Net.Tool.Output;
using MiniUpnp.Net.Tool.Probe;
using MiniUpnp.Net.Tool.Simple;
using MiniUpnp.Net.Tool.Upnpc;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tool;

/// <summary>
/// The whole command line: the root command is upnpc's (its options, one subcommand per command letter), and the
/// simple verbs are ordinary subcommands beside them.
/// </summary>
internal static class ToolCommandLine
{
    /// <summary>
    /// No response files: "@" is upnpc's word for the local LAN address. No POSIX bundling: upnpc reads one letter per word.
    /// </summary>
    internal static ParserConfiguration ParserConfiguration { get; } = new()
    {
        ResponseFileTokenReplacer = null,
        EnablePosixBundling = false,
    };

    /// <summary>The verbs that are ordinary subcommands, not upnpc's syntax.</summary>
    private static readonly string[] Verbs = [.. SimpleCommands.Names, ProbeCommand.Name];

    /// <summary>Parses a command line as typed: upnpc's syntax goes through <see cref="UpnpcArgumentScanner"/> first.</summary>
    internal static ParseResult Parse(string[] args) =>
        CreateRootCommand().Parse(args is [NatpmpcProgram.Name, .. var rest]
            ? [NatpmpcProgram.Name, "--", .. rest] // natpmpc reads its words itself (NatpmpcArguments), even -h or --
            : UpnpcArgumentScanner.ToParserArguments(args, Verbs), ParserConfiguration);

    /// <summary>Runs what was parsed; a parse error is reported as upnpc reports a usage error, or in one line for a simple verb.</summary>
    internal static Task<int> InvokeAsync(ParseResult parseResult)
    {
        // Not System.CommandLine's ParseErrorAction (its messages, then help, exit 1): upnpc's form must print upnpc's
        // banner and usage error byte for byte; a simple verb gets one line and exit 2.
        if (parseResult.Errors.Count > 0)
        {
            return Task.FromResult(parseResult.CommandResult.Command is RootCommand or UpnpcLetterCommand
                ? UpnpcProgram.ReportParseErrors(parseResult)
                : SimpleCommands.ReportParseErrors(parseResult));
        }
        return parseResult.InvokeAsync(ToolConsole.Invocation);
    }

    private static RootCommand CreateRootCommand()
    {
        var root = new RootCommand("upnpc for .NET: miniupnpc's upnpc (same commands, options and output) and simple add/list/delete verbs.");
        foreach (var option in UpnpcCommandLine.Options)
        {
            root.Options.Add(option);
        }
        root.Options.Add(UpnpcCommandLine.InvalidOption);
        foreach (var command in UpnpcCommandLine.CreateCommands())
        {
            root.Subcommands.Add(command);
        }
        foreach (var command in SimpleCommands.CreateCommands())
        {
            root.Subcommands.Add(command);
        }
        root.Subcommands.Add(CreateNatpmpcCommand());
        root.Subcommands.Add(ProbeCommand.Create());
        // No command letter: upnpc's "Command line argument error." and its usage.
        root.SetAction(static parseResult => UpnpcProgram.Run(parseResult, command: null));
        // --help: upnpc's usage for the upnpc syntax, System.CommandLine's help for the simple verbs.
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new ToolHelpAction(SimpleCommandsUsage(root), (SynchronousCommandLineAction)help.Action!);
        return root;
    }

    /// <summary>What upnpc-net's --help adds after upnpc's usage.</summary>
    private static string SimpleCommandsUsage(RootCommand root)
    {
        var text = new StringBuilder("\nSimple commands:\n");
        foreach (var command in root.Subcommands.Where(c => Verbs.Contains(c.Name)))
        {
            string arguments = string.Concat(command.Arguments.Select(a => a.Arity.MinimumNumberOfValues == 0 ? $" [{a.Name}]" : $" {a.Name}"));
            text.Append($"  {ToolConsole.ProgramName} {command.Name}{arguments} [options]\n    {command.Description}\n");
        }
        text.Append($"  {ToolConsole.ProgramName} COMMAND --help\n    The options of a simple command.\n");
        text.Append($"\nNAT-PMP:\n  {NatpmpcProgram.ProgramName} [-g ipv4address] [-a <public port> <private port> <protocol> [lifetime]]\n" +
                    $"    libnatpmp's natpmpc (same options and output); {NatpmpcProgram.ProgramName} -h for its usage.\n");
        return text.ToString();
    }

    /// <summary>
    /// <c>natpmpc ...</c>: every word after the verb goes to natpmpc's own argument loop (<see cref="Parse"/> puts them
    /// after "--"), so that its grammar, messages and exit codes are natpmpc's rather than the parser's.
    /// </summary>
    private static Command CreateNatpmpcCommand()
    {
        var words = new Argument<string[]>("arguments") { Arity = ArgumentArity.ZeroOrMore };
        var command = new Command(NatpmpcProgram.Name, "libnatpmp's natpmpc: the public address, or a port mapping (-a), over NAT-PMP.");
        command.Arguments.Add(words);
        command.SetAction(parseResult => NatpmpcProgram.Run(parseResult.GetValue(words) ?? []));
        return command;
    }

    private sealed class ToolHelpAction(string simpleCommands, SynchronousCommandLineAction standardHelp) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult) =>
            parseResult.CommandResult.Command is RootCommand or UpnpcLetterCommand
                ? UpnpcProgram.Help(parseResult, simpleCommands)
                : standardHelp.Invoke(parseResult);
    }
}
