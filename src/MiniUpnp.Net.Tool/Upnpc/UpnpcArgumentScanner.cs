using System.Collections.Generic;
using System.Linq;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tool.Upnpc;

/// <summary>
/// The one step of upnpc's grammar that System.CommandLine cannot express, done before parsing: upnpc.c's option
/// loop (main(), line 639). It rewrites upnpc's command line into an unambiguous one for the parser, which then types,
/// validates and dispatches it (<see cref="UpnpcCommandLine"/>).
/// </summary>
/// <remarks>
/// Why a parser configuration is not enough:
/// <list type="bullet">
/// <item>upnpc decides on <c>argv[i][1]</c> alone: <c>-uXYZ</c> is <c>-u</c>, <c>-list</c> is <c>-l</c>; an unknown letter is
/// still a command ("Unknown switch -x" after discovery).</item>
/// <item>An option's value is the next word, whatever it looks like (<c>-e -a</c> sets the description to "-a"), and
/// everything after the command letter is that command's arguments, even <c>-e</c>, <c>--help</c> or <c>--</c>.</item>
/// <item>Options may repeat (the last one wins) and <c>-m</c> also turns minissdpd off unless a later <c>-p</c> names a socket.</item>
/// <item>A word that is not an option is reported ("option 'x' invalid") and skipped; an invalid <c>-z</c> value stops the
/// loop (so the command is never seen); <c>--help</c>/<c>-h</c> stops it too.</item>
/// </list>
/// The rewrite: each option once, as <c>-x:value</c> (the parser splits at the first ':', so the value is never taken for
/// an option, a directive or a response file) or <c>-x ""</c> for an empty value; skipped words as the hidden
/// <see cref="UpnpcCommandLine.InvalidOption"/>; the command letter as its subcommand followed by <c>--</c> and its
/// arguments verbatim. The simple verbs (<c>add</c>, <c>list</c>, <c>delete</c>) and <c>--version</c> are left to the parser as typed.
/// </remarks>
internal static class UpnpcArgumentScanner
{
    /// <summary>upnpc's options that take a value (the next word).</summary>
    internal const string ValueOptions = "umzpet";

    /// <summary>upnpc's options without a value.</summary>
    internal const string FlagOptions = "6i";

    internal static string[] ToParserArguments(string[] args, IReadOnlyCollection<string> verbs)
    {
        if (args.Length > 0 && (verbs.Contains(args[0]) || args[0] == "--version"))
        {
            return args;
        }

        var options = new List<(char Letter, string? Value)>(); // in order, each letter once: the last value wins
        var invalid = new List<string>();
        var command = new List<string>();
        bool help = false;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg is "--help" or "-h")
            {
                help = true;
                break;
            }
            if (arg.Length == 0 || arg[0] != '-')
            {
                invalid.Add(arg);
                continue;
            }
            char letter = arg.Length > 1 ? arg[1] : '\0';
            if (ValueOptions.Contains(letter))
            {
                // upnpc reads argv[++i]: past the end it is NULL, the loop ends and there is no command (a usage
                // error; upnpc itself crashes for -z and -t). The parser reports the missing value the same way.
                string? value = i + 1 < args.Length ? args[++i] : null;
                Set(options, letter, value);
                if (letter == 'm')
                {
                    options.RemoveAll(o => o.Letter == 'p'); // minissdpdpath = "" (a later -p sets it again)
                }
                if (letter == 'z' && value is not null && !UpnpcCommandLine.IsValidLocalPort(value))
                {
                    break; // "Invalid localport", then break: the rest of the line is not read
                }
            }
            else if (FlagOptions.Contains(letter))
            {
                Set(options, letter, null);
            }
            else
            {
                if (letter != '\0') // "-" alone: command 0, a usage error
                {
                    command.AddRange(UpnpcCommandLine.IsCommandLetter(letter)
                        ? ["-" + letter, "--", .. args.Skip(i + 1)]
                        : [UpnpcCommandLine.UnknownSwitchName, "--", letter.ToString()]);
                }
                break;
            }
        }

        var result = new List<string>();
        foreach (var (letter, value) in options)
        {
            AddOption(result, "-" + letter, value, hasValue: ValueOptions.Contains(letter));
        }
        foreach (string word in invalid)
        {
            AddOption(result, UpnpcCommandLine.InvalidOption.Name, word, hasValue: true);
        }
        if (help)
        {
            result.Add("--help");
        }
        else
        {
            result.AddRange(command);
        }
        return [.. result];
    }

    private static void Set(List<(char Letter, string? Value)> options, char letter, string? value)
    {
        options.RemoveAll(o => o.Letter == letter);
        options.Add((letter, value));
    }

    private static void AddOption(List<string> result, string name, string? value, bool hasValue)
    {
        if (!hasValue || value is null)
        {
            result.Add(name); // a flag, or a value missing at the end of the line (the parser reports it)
        }
        else if (value.Length == 0)
        {
            result.Add(name);
            result.Add(""); // "-x:" would carry no value
        }
        else
        {
            result.Add(name + ":" + value);
        }
    }
}
