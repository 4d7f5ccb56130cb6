using System.IO;
using System.Linq;
using MiniUpnp.Net.Tool.Upnpc;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tool.Output;

/// <summary>upnpc's banner (naming this program) and its usage text (upnpc.c usage(), line 570), built from the command model.</summary>
internal static class UpnpcUsage
{
    /// <summary>
    /// Four lines, like upnpc's (its name, copyright, URL, an empty line); what follows the empty line is what is
    /// compared with upnpc. The version is the native library's.
    /// </summary>
    internal static void WriteBanner(TextWriter stdout)
    {
        stdout.Write($"{ToolConsole.ProgramName}: upnpc for .NET (MiniUpnp.Net), miniupnpc library version {Miniupnpc.MINIUPNPC_VERSION}.\n");
        stdout.Write(" upnpc (c) 2005-2025 Thomas Bernard; MiniUpnp.Net contributors.\n");
        stdout.Write("More information at https://miniupnp.tuxfamily.org/ or http://miniupnp.free.fr/\n\n");
    }

    internal static void WriteUsage(TextWriter output, string argv0)
    {
        output.Write("Usage:\n");
        foreach (var command in UpnpcCommandLine.CreateCommands().Where(c => !c.Hidden))
        {
            string syntax = command.Syntax.Length == 0 ? "" : " " + command.Syntax;
            output.Write($"  {argv0} [options] {command.Name}{syntax}\n    {command.Description}\n");
        }
        output.Write("\nNotes:\n");
        output.Write("  protocol is UDP or TCP.\n");
        output.Write("  Use \"\" for any remote_host and 0 for any remote_port.\n");
        output.Write("  @ can be used in option -a, -n, -A and -G to represent local LAN address.\n");
        output.Write("\nOptions:\n");
        foreach (var option in UpnpcCommandLine.Options)
        {
            string value = option.HelpName is { } name ? " " + name : "";
            output.Write($"  {option.Name}{value} : {option.Description}\n");
        }
    }
}
