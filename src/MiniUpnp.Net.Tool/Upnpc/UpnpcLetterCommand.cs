using System;
using System.CommandLine;
using System.IO;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tool.Upnpc;

/// <summary>One upnpc command letter as a subcommand (<c>-a</c>, <c>-l</c>, …): its syntax, its arguments, what it does.</summary>
internal sealed class UpnpcLetterCommand : Command
{
    /// <summary>A known letter: <paramref name="minArgs"/> is upnpc's minimum (main(), line 692), the arguments are unbounded.</summary>
    internal UpnpcLetterCommand(char letter, string syntax, string description, int minArgs, Func<UpnpcCall, int> body, bool hintsIpv6 = false)
        : base("-" + letter, description)
    {
        Syntax = syntax;
        Body = body;
        HintsIpv6 = hintsIpv6;
        CommandArguments = new Argument<string[]>("arguments")
        {
            Description = syntax,
            HelpName = syntax.Length == 0 ? null : syntax,
            Arity = new ArgumentArity(minArgs, ArgumentArity.ZeroOrMore.MaximumNumberOfValues),
        };
        Add(CommandArguments);
        SetAction(parseResult => UpnpcProgram.Run(parseResult, this));
    }

    /// <summary>The hidden stand-in for a letter upnpc does not know: one argument, the letter.</summary>
    internal UpnpcLetterCommand(string name, Func<UpnpcCall, int> body)
        : base(name, "A command letter upnpc does not know.")
    {
        Hidden = true;
        Syntax = "";
        Body = body;
        // One value in practice (the scanner passes only the letter); System.CommandLine binds string[] only with a range arity.
        CommandArguments = new Argument<string[]>("letter") { Arity = ArgumentArity.OneOrMore };
        Add(CommandArguments);
        SetAction(parseResult => UpnpcProgram.Run(parseResult, this));
    }

    /// <summary>The arguments as upnpc's usage names them ("ip port external_port protocol [duration] [remote host]").</summary>
    internal string Syntax { get; }

    /// <summary>Whether upnpc first advises -6 when it is absent (the pinhole commands: main(), line 710).</summary>
    internal bool HintsIpv6 { get; }

    internal Argument<string[]> CommandArguments { get; }

    /// <summary>What the command does on the selected IGD; returns upnpc's exit code.</summary>
    internal Func<UpnpcCall, int> Body { get; }
}

/// <summary>What a command body gets: upnpc's <c>commandargv</c> and what main() had set up before its switch.</summary>
internal sealed class UpnpcCall(UpnpcFunctions functions, string[] args, string lanAddr, string? description, TextWriter stderr)
{
    internal UpnpcFunctions Functions { get; } = functions;

    internal string LanAddr { get; } = lanAddr;

    /// <summary>The -e value, or null (miniupnpc then sends "libminiupnpc").</summary>
    internal string? Description { get; } = description;

    internal TextWriter Stderr { get; } = stderr;

    /// <summary><c>commandargc</c>.</summary>
    internal int Count => args.Length;

    /// <summary><c>commandargv[i]</c>; past the end, the NULL that ends argv in C (upnpc's loops read one or two past).</summary>
    internal string? this[int i] => i < args.Length ? args[i] : null;

    /// <summary><c>commandargv[i]</c>, "@" replaced with the local LAN address (upnpc: -a, -n argument 0; -A, -G argument 2).</summary>
    internal string? LanAddrFor(int i) => this[i] == "@" ? LanAddr : this[i];
}
