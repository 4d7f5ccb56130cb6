using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace MiniUpnp.Net.Generator;

/// <summary>
/// A Doxygen comment of the headers (<c>/*! \brief … \param[in] x … \return … */</c>) taken apart, and its rendering
/// as C# XML documentation.
/// </summary>
internal sealed partial class DocComment
{
    /// <summary>The \brief paragraph (or, without \brief, the first paragraph).</summary>
    public string Brief { get; private set; } = "";

    /// <summary>The other paragraphs, each a list of source lines (tables and lists are recognised when rendering).</summary>
    public List<List<string>> Details { get; } = [];

    /// <summary>\param entries in source order: name and text.</summary>
    public List<(string Name, string Text)> Parameters { get; } = [];

    /// <summary>The \return text, or null.</summary>
    public string? Returns { get; private set; }

    private enum Target { Brief, Details, Parameter, Returns, Ignored }

    /// <summary>Commands that mark up a word inside the text (\p name) rather than start a section.</summary>
    private static readonly HashSet<string> InlineCommands = ["p", "a", "c", "e", "b", "em", "ref"];

    public static DocComment? Parse(string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw))
        {
            return null;
        }
        var doc = new DocComment();
        var target = Target.Details;
        var brief = new List<string>();
        var returns = new List<string>();
        List<string>? paragraph = null;

        void Append(string text)
        {
            switch (target)
            {
                case Target.Brief:
                    brief.Add(text);
                    break;
                case Target.Parameter:
                    var (name, existing) = doc.Parameters[^1];
                    doc.Parameters[^1] = (name, Join(existing, text));
                    break;
                case Target.Returns:
                    returns.Add(text);
                    break;
                case Target.Details:
                    if (paragraph is null)
                    {
                        paragraph = [];
                        doc.Details.Add(paragraph);
                    }
                    paragraph.Add(text);
                    break;
            }
        }

        foreach (var line in StripMarkers(raw))
        {
            if (line.Length == 0)
            {
                // A blank line ends the current paragraph, whatever it belongs to.
                target = Target.Details;
                paragraph = null;
                continue;
            }
            var command = BlockCommandRegex().Match(line);
            if (!command.Success || InlineCommands.Contains(command.Groups["name"].Value))
            {
                Append(line);
                continue;
            }
            var rest = line[command.Length..].Trim();
            paragraph = null;
            switch (command.Groups["name"].Value)
            {
                case "brief":
                case "short":
                    target = Target.Brief;
                    break;
                case "param":
                    var words = rest.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
                    doc.Parameters.Add((words.Length > 0 ? words[0] : "", words.Length > 1 ? words[1] : ""));
                    target = Target.Parameter;
                    continue;
                case "return":
                case "returns":
                case "result":
                    target = Target.Returns;
                    break;
                case "todo":
                    target = Target.Details;
                    rest = "To do (upstream): " + rest;
                    break;
                case "note":
                    target = Target.Details;
                    rest = "Note: " + rest;
                    break;
                default:
                    // \file, \def, \mainpage, \sa, …: documentation structure, not text for the binding.
                    target = Target.Ignored;
                    continue;
            }
            if (rest.Length > 0)
            {
                Append(rest);
            }
        }

        doc.Brief = string.Join(' ', brief);
        if (doc.Brief.Length == 0 && doc.Details.Count > 0 && !doc.Details[0].Any(IsTableOrListLine))
        {
            doc.Brief = string.Join(' ', doc.Details[0]);
            doc.Details.RemoveAt(0);
        }
        doc.Returns = returns.Count > 0 ? string.Join(' ', returns) : null;
        return doc;
    }

    private static string Join(string a, string b) => a.Length == 0 ? b : a + " " + b;

    /// <summary>The comment's lines without <c>/*!</c>, <c>/**</c>, <c>/*</c>, <c>*/</c>, leading <c>*</c>, <c>///</c>, <c>&lt;</c>; trimmed.</summary>
    private static IEnumerable<string> StripMarkers(string raw)
    {
        foreach (var rawLine in raw.Replace("\r", "", StringComparison.Ordinal).Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.EndsWith("*/", StringComparison.Ordinal))
            {
                line = line[..^2];
            }
            line = OpeningMarkerRegex().Replace(line, "");
            yield return line.Trim();
        }
    }

    private static bool IsTableOrListLine(string line) => line.StartsWith("- ", StringComparison.Ordinal) || line.Contains('|', StringComparison.Ordinal);

    [GeneratedRegex(@"^(/\*[!*]?<?|//[/!]<?|\*(?!/))")]
    private static partial Regex OpeningMarkerRegex();

    [GeneratedRegex(@"^[\\@](?<name>[a-z]+)(\[[a-z, ]*\])?(?=\s|$)")]
    private static partial Regex BlockCommandRegex();

    [GeneratedRegex(@"^-{3,}\s*(\|\s*-{3,}\s*)+$")]
    private static partial Regex TableSeparatorRegex();

    // ---------------------------------------------------------------- rendering

    /// <summary>What inline references in the text can point to.</summary>
    /// <param name="Parameters">the parameters of the documented function: <c>\p name</c> becomes a paramref.</param>
    /// <param name="Constants">the generated constants: <c>#NAME</c> becomes a see cref to Miniupnpc.NAME.</param>
    /// <param name="Functions">the generated functions: <c>name()</c> becomes a see cref to NativeMethods.name (null: left as text).</param>
    /// <param name="ConstantsClass">the class of the constants (Miniupnpc, Libnatpmp).</param>
    /// <param name="FunctionsClass">the class of the functions (NativeMethods, NatpmpNativeMethods).</param>
    public sealed record Links(
        IReadOnlyCollection<string> Parameters, IReadOnlyCollection<string> Constants, IReadOnlyCollection<string>? Functions,
        string ConstantsClass = "Miniupnpc", string FunctionsClass = "NativeMethods");

    /// <summary>XML-escapes the text and turns Doxygen/Markdown inline markup into XML doc elements.</summary>
    public static string Inline(string text, Links links)
    {
        var escaped = text.Replace("&", "&amp;", StringComparison.Ordinal)
            .Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal);
        return InlineRegex().Replace(escaped, match =>
        {
            if (match.Groups["code"].Success)
            {
                return $"<c>{match.Groups["code"].Value}</c>";
            }
            if (match.Groups["arg"].Success)
            {
                var name = match.Groups["arg"].Value;
                return links.Parameters.Contains(name) ? $"<paramref name=\"{name}\"/>" : $"<c>{name}</c>";
            }
            if (match.Groups["constant"].Success)
            {
                var name = match.Groups["constant"].Value;
                return links.Constants.Contains(name) ? $"<see cref=\"{links.ConstantsClass}.{name}\"/>" : $"<c>{name}</c>";
            }
            var function = match.Groups["function"].Value;
            return links.Functions?.Contains(function) == true ? $"<see cref=\"{links.FunctionsClass}.{function}\"/>" : match.Value;
        });
    }

    [GeneratedRegex(@"`(?<code>[^`]+)`|[\\@][pac]\s+(?<arg>\w+)|#(?<constant>[A-Za-z_]\w*)|\b(?<function>[A-Za-z_]\w*)\(\)")]
    private static partial Regex InlineRegex();

    /// <summary>The detail paragraphs as XML doc lines: &lt;para&gt;, bullet lists and (Markdown) tables.</summary>
    public IEnumerable<string> RenderDetails(Links links)
    {
        foreach (var lines in Details)
        {
            var text = new List<string>();
            IEnumerable<string> FlushText()
            {
                if (text.Count > 0)
                {
                    yield return $"<para>{Inline(string.Join(' ', text), links)}</para>";
                    text.Clear();
                }
            }
            var i = 0;
            while (i < lines.Count)
            {
                if (i + 1 < lines.Count && lines[i].Contains('|', StringComparison.Ordinal) && TableSeparatorRegex().IsMatch(lines[i + 1]))
                {
                    foreach (var line in FlushText())
                    {
                        yield return line;
                    }
                    yield return "<list type=\"table\">";
                    yield return $"<listheader>{TableRow(lines[i], links)}</listheader>";
                    for (i += 2; i < lines.Count && lines[i].Contains('|', StringComparison.Ordinal); i++)
                    {
                        yield return $"<item>{TableRow(lines[i], links)}</item>";
                    }
                    yield return "</list>";
                    continue;
                }
                if (lines[i].StartsWith("- ", StringComparison.Ordinal))
                {
                    foreach (var line in FlushText())
                    {
                        yield return line;
                    }
                    yield return "<list type=\"bullet\">";
                    for (; i < lines.Count && lines[i].StartsWith("- ", StringComparison.Ordinal); i++)
                    {
                        yield return $"<item><description>{Inline(lines[i][2..], links)}</description></item>";
                    }
                    yield return "</list>";
                    continue;
                }
                text.Add(lines[i]);
                i++;
            }
            foreach (var line in FlushText())
            {
                yield return line;
            }
        }
    }

    private static string TableRow(string line, Links links)
    {
        var cells = line.Split('|', 2).Select(c => Inline(c.Trim(), links)).ToArray();
        return $"<term>{cells[0]}</term><description>{(cells.Length > 1 ? cells[1] : "")}</description>";
    }
}

/// <summary>Writes XML doc comment lines with a given indentation.</summary>
internal static class XmlDoc
{
    public static void Element(StringBuilder output, string indent, string tag, string text) =>
        output.Append(indent).Append("/// <").Append(tag).Append('>').Append(text).Append("</").Append(tag.Split(' ')[0]).Append(">\n");

    public static void Block(StringBuilder output, string indent, string tag, IEnumerable<string> lines)
    {
        var list = lines.ToList();
        if (list.Count == 0)
        {
            return;
        }
        output.Append(indent).Append("/// <").Append(tag).Append(">\n");
        foreach (var line in list)
        {
            output.Append(indent).Append("/// ").Append(line).Append('\n');
        }
        output.Append(indent).Append("/// </").Append(tag).Append(">\n");
    }
}
