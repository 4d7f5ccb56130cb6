using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;

namespace MiniUpnp.Net.Generator;

/// <summary>
/// One native library whose headers the generator reads: which headers, how to parse them, and the names of what it
/// writes. The generator handles every library the same way; only these settings differ.
/// </summary>
internal sealed partial record Library(
    // The name on the command line (<c>miniupnpc=DIR</c>) and in the generated files' header.
    string Name,
    // Its type-mapping rules (in the generator's folder).
    string TypeMapFile,
    // The macro in front of every exported function.
    string ExportMarker,
    // The headers to parse, or null for every *.h of the directory.
    string[]? Headers,
    // Added to the fixed clang arguments.
    string[] ExtraArguments,
    // Whether the headers include C library headers, which then come from build/Generator/stubs (see its README).
    bool UsesSystemHeaders,
    // Prepended to the translation unit.
    string Prelude,
    // The internal class of the [LibraryImport] declarations (its LibraryName constant is hand-written beside it).
    string NativeMethodsClass,
    // The public class of the constants, in MiniUpnp.Net.Native, and the hand-written file documenting it.
    string ConstantsClass,
    // The generated files: {Prefix}NativeMethods.g.cs, {Prefix}Structs.g.cs, {Prefix}Constants.g.cs.
    string FilePrefix)
{
    public static readonly Library Miniupnpc = new(
        Name: "miniupnpc",
        TypeMapFile: "typemap.txt",
        ExportMarker: "MINIUPNP_LIBSPEC",
        Headers: null,
        ExtraArguments: [],
        UsesSystemHeaders: false,
        // upnpcommands.h uses size_t without including <stddef.h>: declared from the compiler's own __SIZE_TYPE__.
        Prelude: "typedef __SIZE_TYPE__ size_t; /* upnpcommands.h uses size_t without including <stddef.h> */\n",
        NativeMethodsClass: "NativeMethods",
        ConstantsClass: "Miniupnpc",
        FilePrefix: "");

    public static readonly Library Libnatpmp = new(
        Name: "libnatpmp",
        TypeMapFile: "typemap-libnatpmp.txt",
        ExportMarker: "NATPMP_LIBSPEC",
        // natpmp.h is the public header (natpmp_declspec.h comes with it); getgateway.h, wingettimeofday.h and the old
        // declspec.h of the source tree are internal.
        Headers: ["natpmp.h"],
        // strnatpmperr is declared only with ENABLE_STRNATPMPERR, which our build defines (native/libnatpmp/CMakeLists.txt).
        // Its comments are plain /* */ blocks, not Doxygen ones: take them all.
        ExtraArguments: ["-DENABLE_STRNATPMPERR", "-fparse-all-comments"],
        UsesSystemHeaders: true,
        Prelude: "",
        NativeMethodsClass: "NatpmpNativeMethods",
        ConstantsClass: "Libnatpmp",
        FilePrefix: "Natpmp");

    /// <summary>Headers whose comments are plain <c>/* */</c> blocks: every comment is documentation.</summary>
    public bool PlainComments => ExtraArguments.Contains("-fparse-all-comments");

    public static readonly Library[] All = [Miniupnpc, Libnatpmp];

    public static Library Find(string name) =>
        All.FirstOrDefault(l => l.Name == name)
        ?? throw new GeneratorException($"Unknown library `{name}` (known: {string.Join(", ", All.Select(l => l.Name))}).");

    /// <summary>What the generated files' header says the headers are: a version the headers themselves state.</summary>
    public string VersionOf(HeaderModel model, string headerDirectory)
    {
        if (this == Miniupnpc)
        {
            var version = model.Macros.FirstOrDefault(m => m.Name == "MINIUPNPC_VERSION")?.Value as string
                ?? throw new GeneratorException("The headers define no MINIUPNPC_VERSION string.");
            return $"MINIUPNPC_VERSION {version}";
        }
        // libnatpmp states no version macro; its release is dated in natpmp.h's RCS id line.
        var text = File.ReadAllText(Path.Combine(headerDirectory, "natpmp.h"));
        var id = RcsIdRegex().Match(text);
        return id.Success ? id.Groups["id"].Value.Trim()
            : throw new GeneratorException("natpmp.h has no $Id: line stating its revision.");
    }

    [GeneratedRegex(@"\$Id: (?<id>[^$]*?) nanard Exp \$")]
    private static partial Regex RcsIdRegex();
}
