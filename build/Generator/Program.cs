using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;

namespace MiniUpnp.Net.Generator;

/// <summary>
/// dotnet run --project build/Generator -- &lt;output-dir&gt; miniupnpc=&lt;include-dir&gt; libnatpmp=&lt;source-dir&gt;
/// Parses each library's headers with libclang and writes its NativeMethods, Structs and Constants files (Library.cs).
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length < 2 || args.Skip(1).Any(a => !a.Contains('=', StringComparison.Ordinal)))
        {
            Console.Error.WriteLine("usage: dotnet run --project build/Generator -- <output-dir> miniupnpc=<include-dir> libnatpmp=<source-dir>");
            return 2;
        }
        var stopwatch = Stopwatch.StartNew();
        try
        {
            var outputDirectory = args[0];
            Libclang.EnsureLoaded();
            var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
            Directory.CreateDirectory(outputDirectory);
            foreach (var pair in args.Skip(1))
            {
                var (library, includeDirectory) = (Library.Find(pair[..pair.IndexOf('=', StringComparison.Ordinal)]), pair[(pair.IndexOf('=', StringComparison.Ordinal) + 1)..]);
                if (!Directory.Exists(includeDirectory))
                {
                    throw new GeneratorException($"Include directory of {library.Name} not found: {includeDirectory}");
                }
                var typeMap = TypeMap.Load(Path.Combine(AppContext.BaseDirectory, library.TypeMapFile));
                var model = Walker.Parse(library, includeDirectory, typeMap.Structs);

                Console.WriteLine($"{library.Name}: {model.Functions.Count} exported ({library.ExportMarker}) functions: {string.Join(", ", model.Functions.Select(f => f.Name))}");
                Console.WriteLine($"{library.Name}: {model.Structs.Count} structs: {string.Join(", ", model.Structs.Select(s => $"{s.Name} ({s.Size} bytes)"))}");
                Console.WriteLine($"{library.Name}: {model.Macros.Count} constants: {string.Join(", ", model.Macros.Select(m => m.Name))}");
                if (model.Functions.Count == 0)
                {
                    throw new GeneratorException($"No function marked {library.ExportMarker} in {includeDirectory}.");
                }

                var files = new Emitter(library, library.VersionOf(model, includeDirectory), model, typeMap).EmitAll();
                foreach (var (name, content) in files)
                {
                    File.WriteAllText(Path.Combine(outputDirectory, name), content, utf8);
                    Console.WriteLine($"wrote {Path.Combine(outputDirectory, name)}");
                }
            }
            Console.WriteLine($"done in {stopwatch.ElapsedMilliseconds} ms");
            return 0;
        }
        catch (GeneratorException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
