using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;

namespace MiniUpnp.Net.Generator;

/// <summary>Where a C type is used: the rules of typemap.txt are written per context.</summary>
internal enum TypeContext { Return, Param, Field }

/// <summary>What a parameter rule can look at besides the C type.</summary>
internal readonly record struct TypeSite(string Function, string? Name, string? NextName);

/// <summary>The rules of typemap.txt (its header comment documents the format).</summary>
internal sealed partial class TypeMap
{
    private sealed record Rule(int Line, HashSet<TypeContext> Contexts, string CType, string CSharpType, Dictionary<string, string> Conditions);

    private readonly List<Rule> _rules = [];

    /// <summary>The C structs to generate, in the order of the file.</summary>
    public List<string> Structs { get; } = [];

    public static TypeMap Load(string path)
    {
        var map = new TypeMap();
        var lines = File.ReadAllLines(path);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var hash = line.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0)
            {
                line = line[..hash];
            }
            if (line.Trim().Length == 0)
            {
                continue;
            }
            var parts = line.Split('|').Select(p => p.Trim()).ToArray();
            string Where() => $"{Path.GetFileName(path)}:{i + 1}";
            if (parts[0] == "struct")
            {
                if (parts.Length != 2 || parts[1].Length == 0)
                {
                    throw new GeneratorException($"{Where()}: expected `struct | NAME`.");
                }
                map.Structs.Add(parts[1]);
                continue;
            }
            if (parts.Length is < 3 or > 4)
            {
                throw new GeneratorException($"{Where()}: expected `contexts | C type | C# type [| conditions]`.");
            }
            var contexts = new HashSet<TypeContext>();
            foreach (var context in parts[0].Split(',', StringSplitOptions.TrimEntries))
            {
                contexts.Add(context switch
                {
                    "return" => TypeContext.Return,
                    "param" => TypeContext.Param,
                    "field" => TypeContext.Field,
                    _ => throw new GeneratorException($"{Where()}: unknown context `{context}` (return, param or field)."),
                });
            }
            var conditions = new Dictionary<string, string>(StringComparer.Ordinal);
            if (parts.Length == 4)
            {
                foreach (var condition in parts[3].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    var pair = condition.Split('=', 2);
                    if (pair.Length != 2 || pair[0] is not ("fn" or "name" or "next"))
                    {
                        throw new GeneratorException($"{Where()}: unknown condition `{condition}` (fn=, name=, next=).");
                    }
                    conditions[pair[0]] = pair[1];
                }
            }
            map._rules.Add(new Rule(i + 1, contexts, Normalize(parts[1]), parts[2], conditions));
        }
        return map;
    }

    /// <summary>The C# type of a C type at a given site; fails when no rule covers it.</summary>
    public string Map(TypeContext context, string cType, TypeSite site)
    {
        var normalized = Normalize(cType);
        foreach (var rule in _rules)
        {
            if (rule.Contexts.Contains(context) && rule.CType == normalized && Matches(rule, site))
            {
                return rule.CSharpType;
            }
        }
        var what = context switch
        {
            TypeContext.Return => $"the return type of {site.Function}",
            TypeContext.Param => $"parameter `{site.Name}` of {site.Function}",
            _ => $"field {site.Function}.{site.Name}",
        };
        throw new GeneratorException(
            $"No rule in typemap.txt maps the C type `{cType}` ({what}, context `{context.ToString().ToLowerInvariant()}`). "
            + "Add a rule after checking what the C code expects.");
    }

    private static bool Matches(Rule rule, TypeSite site) =>
        rule.Conditions.All(c => c.Key switch
        {
            "fn" => site.Function == c.Value,
            "name" => site.Name == c.Value,
            "next" => site.NextName == c.Value,
            _ => false,
        });

    /// <summary>Canonical spacing (one space between words and around `*`, `[`, `]`): `const char* const[]` equals `const char *const[]`.</summary>
    private static string Normalize(string cType)
    {
        var spaced = PunctuationRegex().Replace(cType, " $0 ");
        return string.Join(' ', spaced.Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    [GeneratedRegex(@"[\*\[\]]")]
    private static partial Regex PunctuationRegex();
}
