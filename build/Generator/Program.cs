using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;

namespace MiniUpnp.Net.Generator;

/// <summary>
/// dotnet run --project build/Generator -- &lt;include-dir&gt; &lt;output-dir&gt;
/// Parses the miniupnpc headers with libclang and writes NativeMethods.g.cs, Structs.g.cs and Constants.g.cs.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length != 2)
        {
            Console.Error.WriteLine("usage: dotnet run --project build/Generator -- <include-dir> <output-dir>");
            return 2;
        }
        var stopwatch = Stopwatch.StartNew();
        try
        {
            var (includeDirectory, outputDirectory) = (args[0], args[1]);
            if (!Directory.Exists(includeDirectory))
            {
                throw new GeneratorException($"Include directory not found: {includeDirectory}");
            }
            var typeMap = TypeMap.Load(Path.Combine(AppContext.BaseDirectory, "typemap.txt"));
            Libclang.EnsureLoaded();
            var model = Walker.Parse(includeDirectory, typeMap.Structs);

            Console.WriteLine($"{model.Functions.Count} exported (MINIUPNP_LIBSPEC) functions: {string.Join(", ", model.Functions.Select(f => f.Name))}");
            Console.WriteLine($"{model.Structs.Count} structs: {string.Join(", ", model.Structs.Select(s => $"{s.Name} ({s.Size} bytes)"))}");
            Console.WriteLine($"{model.Macros.Count} constants: {string.Join(", ", model.Macros.Select(m => m.Name))}");
            if (model.Functions.Count == 0)
            {
                throw new GeneratorException($"No function marked MINIUPNP_LIBSPEC in {includeDirectory}.");
            }

            var files = new Emitter(model, typeMap).EmitAll();
            Directory.CreateDirectory(outputDirectory);
            var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
            foreach (var (name, content) in files)
            {
                File.WriteAllText(Path.Combine(outputDirectory, name), content, utf8);
                Console.WriteLine($"wrote {Path.Combine(outputDirectory, name)}");
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
