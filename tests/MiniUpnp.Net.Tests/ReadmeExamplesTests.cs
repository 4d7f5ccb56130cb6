using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests;

/// <summary>
/// The README's C# examples compile: each ```csharp block of README.md is, line for line, the region between
/// "// &lt;readme&gt;" and "// &lt;/readme&gt;" of a file in tests/ReadmeExamples (built with the solution), its using
/// directives among that file's. And every region there is in the README.
/// </summary>
public class ReadmeExamplesTests
{
    private static readonly string Examples = Path.Combine(TestPaths.RepoRoot, "tests", "ReadmeExamples");

    private static string[] Lines(string text) =>
        text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();

    private static bool IsUsingDirective(string line) => Regex.IsMatch(line, @"^using (static )?[\w.]+;$");

    private static string[] ReadmeBlocks() =>
        Regex.Matches(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md")), "```csharp\n(.*?)```", RegexOptions.Singleline)
            .Select(m => m.Groups[1].Value).ToArray();

    private static (string File, string[] Usings, string[] Region)[] ExampleRegions() =>
        Directory.GetFiles(Examples, "*.cs").Order(StringComparer.Ordinal).Select(file =>
        {
            string text = File.ReadAllText(file);
            var region = Regex.Match(text, "// <readme>\n(.*?)// </readme>", RegexOptions.Singleline);
            Assert.That(region.Success, Is.True, $"{file} has no // <readme> region");
            return (Path.GetFileName(file), Lines(text).Where(IsUsingDirective).ToArray(), Lines(region.Groups[1].Value));
        }).ToArray();

    [Test]
    public void EveryReadmeExampleIsCompiledCode()
    {
        var regions = ExampleRegions();
        var blocks = ReadmeBlocks();
        Assert.That(blocks, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            foreach (string block in blocks)
            {
                var lines = Lines(block);
                var usings = lines.Where(IsUsingDirective).ToArray();
                var code = lines.Where(l => !IsUsingDirective(l)).ToArray();
                var match = regions.Where(r => r.Region.SequenceEqual(code)).ToArray();
                Assert.That(match, Has.Length.EqualTo(1), $"no file in tests/ReadmeExamples holds this README example:\n{block}");
                if (match.Length == 1)
                {
                    Assert.That(match[0].Usings, Is.SupersetOf(usings), $"{match[0].File} lacks the example's using directives");
                }
            }
            foreach (var region in regions)
            {
                Assert.That(blocks.Any(b => Lines(b).Where(l => !IsUsingDirective(l)).SequenceEqual(region.Region)), Is.True,
                    $"tests/ReadmeExamples/{region.File} is not in the README any more");
            }
        });
    }
}
