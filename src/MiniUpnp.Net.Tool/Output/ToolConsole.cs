using System;
using System.CommandLine;
using System.IO;
using System.Text;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tool.Output;

/// <summary>
/// The tool's standard output and error: UTF-8 without BOM and "\n" line ends whatever the locale (upnpc writes
/// bytes with printf), flushed at every write so that stdout and stderr interleave on a terminal as upnpc's do.
/// </summary>
internal static class ToolConsole
{
    internal const string ProgramName = "upnpc-net";

    internal static TextWriter Out { get; } = Create(Console.OpenStandardOutput());

    internal static TextWriter Error { get; } = Create(Console.OpenStandardError());

    /// <summary>What System.CommandLine writes to (help of the simple verbs) and how it invokes the actions.</summary>
    internal static InvocationConfiguration Invocation { get; } = new()
    {
        Output = Out,
        Error = Error,
        // Our actions catch what they can explain (Guard below); nothing reaches the user as a stack trace.
        EnableDefaultExceptionHandler = false,
    };

    /// <summary>
    /// Runs an action; an exception that is not an IGD answer (the native library missing or incompatible, an
    /// argument the library rejects) becomes one line on stderr and <paramref name="failureCode"/>.
    /// </summary>
    internal static int Guard(string context, Func<int> action, Func<Exception, int> failureCode)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An IGD's refusal keeps its UPnP code; anything else is explained by its message alone.
            string detail = e is UpnpException { Code: > 0 } u ? $"{u.Message} (UPnP error {u.Code})" : e.Message;
            Error.WriteLine($"{context}: {OneLine(detail)}");
            return failureCode(e);
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    private static StreamWriter Create(Stream stream) =>
        new(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { AutoFlush = true, NewLine = "\n" };
}
