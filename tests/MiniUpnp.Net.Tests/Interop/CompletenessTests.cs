using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Interop;

/// <summary>
/// Completeness both ways: every MINIUPNP_LIBSPEC function of the headers is declared, resolves in the built library
/// and is callable from the C-named API; every other export of the library is a known internal.
/// </summary>
public class CompletenessTests
{
    private static string LibraryPath => TestPaths.NativeLibraryFile;

    /// <summary>Read from the pinned headers directly, independently of the generator.</summary>
    private static SortedSet<string> PublicFunctions()
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var header in Directory.GetFiles(Path.Combine(TestPaths.UpstreamSource, "include"), "*.h"))
        {
            string text = Regex.Replace(File.ReadAllText(header), @"(?m)^\s*#.*$", "");
            foreach (Match m in Regex.Matches(text, @"MINIUPNP_LIBSPEC[^;(]*?([A-Za-z_][A-Za-z0-9_]*)\s*\("))
            {
                names.Add(m.Groups[1].Value);
            }
        }
        return names;
    }

    private static SortedSet<string> Declared() => new(
        typeof(Miniupnpc).Assembly.GetType("MiniUpnp.Net.Interop.NativeMethods")!
            .GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
            .Select(m => m.GetCustomAttribute<LibraryImportAttribute>())
            .Where(a => a is not null && a.LibraryName == "libminiupnpc")
            .Select(a => a!.EntryPoint!),
        StringComparer.Ordinal);

    [Test]
    public void TheHeadersHave41PublicFunctions()
    {
        Assert.That(PublicFunctions(), Has.Count.EqualTo(41));
    }

    [Test]
    public void EveryPublicFunctionIsDeclaredAndNothingElse()
    {
        Assert.That(Declared(), Is.EquivalentTo(PublicFunctions()));
    }

    [Test]
    public void EveryDeclarationResolvesInTheBuiltLibrary()
    {
        IntPtr library = NativeLibrary.Load(LibraryPath);
        try
        {
            Assert.Multiple(() =>
            {
                foreach (var name in Declared())
                {
                    Assert.That(NativeLibrary.TryGetExport(library, name, out _), Is.True, name);
                }
            });
        }
        finally
        {
            NativeLibrary.Free(library);
        }
    }

    [Test]
    public void EveryPublicFunctionIsInTheCNamedApi()
    {
        var api = typeof(Miniupnpc).GetMethods(BindingFlags.Public | BindingFlags.Static).Select(m => m.Name).ToHashSet();
        Assert.That(PublicFunctions().Where(f => !api.Contains(f)), Is.Empty);
    }

    [Test]
    [Platform("Linux")]
    public void EveryOtherExportIsAKnownInternal()
    {
        var known = File.ReadLines(Path.Combine(TestPaths.RepoRoot, "native", "known-internal-exports.txt"))
            .Where(l => l.Length > 0 && (char.IsLetter(l[0]) || l[0] == '_'))
            .Select(l => l.Split(' ', 2)[0])
            .ToHashSet(StringComparer.Ordinal);
        var psi = new ProcessStartInfo("nm", $"-D --defined-only \"{LibraryPath}\"") { RedirectStandardOutput = true };
        using var nm = Process.Start(psi)!;
        var exports = nm.StandardOutput.ReadToEnd().Split('\n')
            .Select(l => l.Split(' '))
            .Where(p => p.Length == 3 && p[1] == "T")
            .Select(p => p[2])
            .ToList();
        nm.WaitForExit();
        var publicFunctions = PublicFunctions();
        TestContext.Out.WriteLine($"{exports.Count} exports: {publicFunctions.Count} public, {known.Count} known internals");
        Assert.That(exports.Where(e => !publicFunctions.Contains(e) && !known.Contains(e)), Is.Empty);
        Assert.That(exports, Has.Count.EqualTo(47), "design.md: hidden visibility leaves 47 exports");
    }

    [Test]
    public void NoPublicTypeLivesInTheInteropNamespace()
    {
        var leaked = typeof(Miniupnpc).Assembly.GetExportedTypes().Where(t => t.Namespace == "MiniUpnp.Net.Interop");
        Assert.That(leaked, Is.Empty);
    }
}
