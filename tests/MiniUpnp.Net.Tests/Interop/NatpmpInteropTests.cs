using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using MiniUpnp.Net.Interop;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Tests.Natpmp;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Interop;

/// <summary>
/// libnatpmp, completeness both ways: the NATPMP_LIBSPEC functions of natpmp.h are declared, resolve in the built
/// library and are in the C-named API; every other export is a known internal; the loader refuses a libnatpmp that
/// lacks one of them.
/// </summary>
public class NatpmpInteropTests
{
    /// <summary>Read from the pinned header directly, independently of the generator (strnatpmperr is under #ifdef).</summary>
    private static SortedSet<string> PublicFunctions()
    {
        string text = Regex.Replace(File.ReadAllText(Path.Combine(NatpmpPaths.Source, "natpmp.h")), @"(?m)^\s*#.*$", "");
        return new(Regex.Matches(text, @"NATPMP_LIBSPEC[^;(]*?([A-Za-z_][A-Za-z0-9_]*)\s*\(").Select(m => m.Groups[1].Value), StringComparer.Ordinal);
    }

    private static SortedSet<string> Declared() => new(
        typeof(NatpmpNativeMethods).GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
            .Select(m => m.GetCustomAttribute<LibraryImportAttribute>())
            .Where(a => a is not null && a.LibraryName == "libnatpmp")
            .Select(a => a!.EntryPoint!),
        StringComparer.Ordinal);

    [Test]
    public void TheHeaderHas7PublicFunctionsAndAllAreDeclaredAndNothingElse()
    {
        Assert.That(PublicFunctions(), Has.Count.EqualTo(7));
        Assert.That(Declared(), Is.EquivalentTo(PublicFunctions()));
        Assert.That(NatpmpNativeMethods.Exports, Is.EquivalentTo(PublicFunctions()), "what the loader checks");
    }

    [Test]
    public void EveryDeclarationResolvesInTheBuiltLibrary()
    {
        IntPtr library = NativeLibrary.Load(NatpmpPaths.LibraryFile);
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
        var api = typeof(Libnatpmp).GetMethods(BindingFlags.Public | BindingFlags.Static).Select(m => m.Name).ToHashSet();
        Assert.That(PublicFunctions().Where(f => !api.Contains(f)), Is.Empty);
        Assert.That(api.Where(f => !PublicFunctions().Contains(f)), Is.Empty, "and nothing else");
    }

    [Test]
    [Platform("Linux")]
    public void EveryOtherExportIsAKnownInternal()
    {
        var known = File.ReadLines(Path.Combine(TestPaths.RepoRoot, "native", "libnatpmp", "known-internal-exports.txt"))
            .Where(l => l.Length > 0 && (char.IsLetter(l[0]) || l[0] == '_'))
            .Select(l => l.Split(' ', 2)[0])
            .ToHashSet(StringComparer.Ordinal);
        var psi = new ProcessStartInfo("nm", $"-D --defined-only \"{NatpmpPaths.LibraryFile}\"") { RedirectStandardOutput = true };
        using var nm = Process.Start(psi)!;
        var exports = nm.StandardOutput.ReadToEnd().Split('\n').Select(l => l.Split(' '))
            .Where(p => p.Length == 3 && p[1] == "T").Select(p => p[2]).ToList();
        nm.WaitForExit();
        Assert.That(exports.Where(e => !PublicFunctions().Contains(e) && !known.Contains(e)), Is.Empty);
        Assert.That(PublicFunctions().Where(f => !exports.Contains(f)), Is.Empty);
    }

    [Test]
    public void OurLibnatpmpIsAccepted()
    {
        IntPtr library = NativeLibraryLoader.LoadNatpmpFrom(NatpmpPaths.LibraryFile);
        Assert.That(library, Is.Not.EqualTo(IntPtr.Zero));
        NativeLibrary.Free(library);
    }

    [Test]
    public void ALibraryWithoutTheFunctionsIsRefusedWithAClearMessage()
    {
        var e = Assert.Throws<IncompatibleNativeLibraryException>(() => NativeLibraryLoader.LoadNatpmpFrom(TestPaths.NativeLibraryFile));
        Assert.That(e!.Message, Does.Contain(TestPaths.NativeLibraryFile).And.Contain("initnatpmp").And.Contain("strnatpmperr"));
    }

    [Test]
    [Platform("Linux")]
    public void ALibnatpmpBuiltWithoutStrnatpmperrIsRefused()
    {
        // Upstream's sources without ENABLE_STRNATPMPERR: the six other functions, no strnatpmperr.
        var directory = Directory.CreateTempSubdirectory("natpmp-abi-");
        try
        {
            var library = Path.Combine(directory.FullName, "libnatpmp.so");
            var psi = new ProcessStartInfo("cc", $"-shared -fPIC -o \"{library}\" natpmp.c getgateway.c")
            {
                WorkingDirectory = NatpmpPaths.Source,
                RedirectStandardError = true,
            };
            Process? cc;
            try
            {
                cc = Process.Start(psi);
            }
            catch (System.ComponentModel.Win32Exception startError)
            {
                // ./build.sh installs the C compiler with the native build's packages: its absence is a broken set-up.
                Assert.Fail($"no C compiler (cc) to build a libnatpmp without strnatpmperr: {startError.Message}");
                return;
            }
            string errors = cc!.StandardError.ReadToEnd();
            Assert.That(cc.WaitForExit(60_000) && cc.ExitCode == 0, Is.True, errors);
            var e = Assert.Throws<IncompatibleNativeLibraryException>(() => NativeLibraryLoader.LoadNatpmpFrom(library));
            Assert.That(e!.Message, Does.Contain("lacks strnatpmperr:").And.Contain("ENABLE_STRNATPMPERR").And.Contain(library));
            Assert.That(e.Message, Does.Not.Contain("initnatpmp,"), "only the missing function is named");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
