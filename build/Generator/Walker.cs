using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using static MiniUpnp.Net.Generator.Libclang;

namespace MiniUpnp.Net.Generator;

/// <summary>Parses every header of the include directory in one translation unit and collects what the emitter needs.</summary>
internal static unsafe partial class Walker
{
    /// <summary>
    /// Fixed target, so that sizes and predefined macros never depend on the host. -nostdinc keeps the host's C headers
    /// out: the miniupnpc headers include none (the one standard type they use, size_t, comes from the library's
    /// prelude), and the C library headers natpmp.h includes come from build/Generator/stubs, declarations of ours
    /// written for this fixed target.
    /// </summary>
    private static readonly string[] ClangArguments = ["-x", "c", "-std=c99", "--target=x86_64-pc-linux-gnu", "-nostdinc"];

    public static HeaderModel Parse(Library library, string includeDirectory, IReadOnlyList<string> wantedStructs)
    {
        includeDirectory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(includeDirectory));
        var headers = library.Headers?.ToList() ?? Directory.GetFiles(includeDirectory, "*.h")
            .Select(Path.GetFileName)
            .OfType<string>()
            .Order(StringComparer.Ordinal)
            .ToList();
        if (headers.Count == 0)
        {
            throw new GeneratorException($"No *.h file in {includeDirectory}.");
        }
        var absent = headers.Where(h => !File.Exists(Path.Combine(includeDirectory, h))).ToList();
        if (absent.Count > 0)
        {
            throw new GeneratorException($"{library.Name}: {string.Join(", ", absent)} not found in {includeDirectory}.");
        }
        var source = library.Prelude + string.Concat(headers.Select(h => $"#include \"{h}\"\n"));
        string[] arguments = [.. ClangArguments, .. library.ExtraArguments];
        if (library.UsesSystemHeaders)
        {
            arguments = [.. arguments, "-isystem", Path.Combine(AppContext.BaseDirectory, "stubs")];
        }

        var index = clang_createIndex(0, 0);
        var translationUnit = IntPtr.Zero;
        try
        {
            translationUnit = ParseTranslationUnit(index, includeDirectory, source, arguments);
            return Collect(library, translationUnit, includeDirectory, wantedStructs);
        }
        finally
        {
            if (translationUnit != IntPtr.Zero)
            {
                clang_disposeTranslationUnit(translationUnit);
            }
            clang_disposeIndex(index);
        }
    }

    private static IntPtr ParseTranslationUnit(IntPtr index, string includeDirectory, string source, string[] clangArguments)
    {
        // The unsaved file lives (virtually) in the include directory; it never touches the disk.
        var mainFile = Path.Combine(includeDirectory, "__generator_all_headers.c");
        string[] arguments = [.. clangArguments, "-I" + includeDirectory];
        var native = new List<IntPtr>();
        IntPtr Utf8(string s)
        {
            var p = Marshal.StringToCoTaskMemUTF8(s);
            native.Add(p);
            return p;
        }
        try
        {
            var argv = arguments.Select(Utf8).ToArray();
            var unsaved = new CXUnsavedFile
            {
                Filename = (byte*)Utf8(mainFile),
                Contents = (byte*)Utf8(source),
                Length = (nuint)Encoding.UTF8.GetByteCount(source),
            };
            IntPtr translationUnit;
            CXErrorCode error;
            fixed (IntPtr* argvPointer = argv)
            {
                error = clang_parseTranslationUnit2(
                    index, unsaved.Filename, (byte**)argvPointer, argv.Length, &unsaved, 1, DetailedPreprocessingRecord, &translationUnit);
            }
            if (error != CXErrorCode.Success)
            {
                throw new GeneratorException($"libclang could not parse the headers: {error}.");
            }
            CheckDiagnostics(translationUnit, includeDirectory);
            return translationUnit;
        }
        finally
        {
            native.ForEach(Marshal.FreeCoTaskMem);
        }
    }

    private static void CheckDiagnostics(IntPtr translationUnit, string includeDirectory)
    {
        var errors = new List<string>();
        var count = clang_getNumDiagnostics(translationUnit);
        for (uint i = 0; i < count; i++)
        {
            var diagnostic = clang_getDiagnostic(translationUnit, i);
            var severity = clang_getDiagnosticSeverity(diagnostic);
            var text = ToManaged(clang_formatDiagnostic(diagnostic, clang_defaultDiagnosticDisplayOptions()));
            clang_disposeDiagnostic(diagnostic);
            if (severity >= CXDiagnosticSeverity.Error)
            {
                errors.Add(text);
            }
            else if (severity == CXDiagnosticSeverity.Warning)
            {
                Console.Error.WriteLine($"warning from libclang: {text}");
            }
        }
        if (errors.Count > 0)
        {
            throw new GeneratorException(
                $"The headers in {includeDirectory} do not parse:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", errors));
        }
    }

    private static HeaderModel Collect(Library library, IntPtr translationUnit, string includeDirectory, IReadOnlyList<string> wantedStructs)
    {
        // Top-level cursors of the headers, in the output's order: header file name, then position in the header.
        var cursors = new List<(SourcePosition Position, string Path, uint Line, CXCursor Cursor)>();
        foreach (var cursor in Children(clang_getTranslationUnitCursor(translationUnit)))
        {
            var (file, offset, line) = Location(cursor);
            if (file is null || !string.Equals(Path.GetDirectoryName(file), includeDirectory, StringComparison.Ordinal))
            {
                continue;
            }
            cursors.Add((new SourcePosition(Path.GetFileName(file), offset), file, line, cursor));
        }
        cursors.Sort((a, b) => a.Position.CompareTo(b.Position));

        // Macros first: struct fields refer to them for their array lengths.
        var macros = new List<CMacro>();
        foreach (var (position, path, line, cursor) in cursors.Where(c => c.Cursor.Kind == CXCursorKind.MacroDefinition))
        {
            if (clang_Cursor_isMacroFunctionLike(cursor) == 0
                && ReadMacro(position, line, path, Tokens(translationUnit, cursor), library.PlainComments) is { } macro)
            {
                macros.Add(macro);
            }
        }

        var functions = new List<CFunction>();
        var structs = new List<CStruct>();
        foreach (var (position, _, _, cursor) in cursors)
        {
            if (cursor.Kind == CXCursorKind.FunctionDecl
                && Tokens(translationUnit, cursor).Any(t => t.Kind == CXTokenKind.Identifier && t.Text == library.ExportMarker)
                && !functions.Exists(f => f.Name == Spelling(cursor)))
            {
                var function = ReadFunction(position, cursor);
                functions.Add(library.PlainComments ? function with { Comment = PlainFunctionComment(function.Name, function.Comment) } : function);
            }
            else if (cursor.Kind == CXCursorKind.StructDecl
                && clang_isCursorDefinition(cursor) != 0
                && wantedStructs.Contains(Spelling(cursor)))
            {
                // libclang spells `typedef struct { ... } natpmp_t;` by its typedef name; its tokens start `struct {`.
                var untagged = Tokens(translationUnit, cursor) is [_, (_, "{"), ..];
                structs.Add(ReadStruct(translationUnit, position, cursor, Spelling(cursor), isTypedef: untagged, macros));
            }
        }

        var missing = wantedStructs.Where(s => !structs.Exists(found => found.Name == s)).ToList();
        if (missing.Count > 0)
        {
            throw new GeneratorException($"typemap.txt asks for struct(s) the headers do not define: {string.Join(", ", missing)}.");
        }
        return new HeaderModel(functions, structs, macros);
    }

    private static CFunction ReadFunction(SourcePosition position, CXCursor cursor)
    {
        var parameters = new List<CParameter>();
        var count = clang_Cursor_getNumArguments(cursor);
        for (uint i = 0; i < count; i++)
        {
            var parameter = clang_Cursor_getArgument(cursor, i);
            var name = Spelling(parameter);
            parameters.Add(new CParameter(name.Length > 0 ? name : $"arg{i}", Spelling(clang_getCursorType(parameter))));
        }
        return new CFunction(position, Spelling(cursor), Spelling(clang_getCursorResultType(cursor)), parameters, RawComment(cursor));
    }

    private static CStruct ReadStruct(
        IntPtr translationUnit, SourcePosition position, CXCursor cursor, string name, bool isTypedef, List<CMacro> macros)
    {
        var fields = new List<CField>();
        ReadFields(translationUnit, cursor, name, "", 0, fields, macros);
        var size = clang_Type_getSizeOf(clang_getCursorType(cursor));
        var hasUnion = fields.Exists(f => f.CPath.Contains('.', StringComparison.Ordinal));
        return new CStruct(position, name, size, fields, RawComment(cursor), isTypedef, hasUnion);
    }

    /// <summary>
    /// The fields of a struct, in order. A member of an unnamed struct or union type (<c>union { struct { … } publicaddress;
    /// … } pnu;</c>) is flattened into fields named by their C path with underscores (<c>pnu_publicaddress_addr</c>), each
    /// with its offset in the outermost struct: such a struct is emitted with an explicit layout.
    /// </summary>
    private static void ReadFields(
        IntPtr translationUnit, CXCursor record, string structName, string prefix, long baseOffset, List<CField> fields, List<CMacro> macros)
    {
        var fieldCursors = Children(record).Where(c => c.Kind == CXCursorKind.FieldDecl).ToList();
        foreach (var field in fieldCursors)
        {
            var fieldName = Spelling(field);
            var path = prefix.Length == 0 ? fieldName : $"{prefix}.{fieldName}";
            var offset = baseOffset + clang_Cursor_getOffsetOfField(field) / 8;
            var type = clang_getCursorType(field);
            var comment = RawComment(field);
            var canonical = clang_getCanonicalType(type);
            var isEnum = canonical.Kind == CXTypeKind.Enum;
            if (canonical.Kind == CXTypeKind.Record
                && clang_getTypeDeclaration(canonical) is var declaration
                && (declaration.Kind == CXCursorKind.UnionDecl || clang_Cursor_isAnonymous(declaration) != 0))
            {
                if (clang_Cursor_isAnonymous(declaration) == 0)
                {
                    throw new GeneratorException($"{structName}.{path}: a named union (`{Spelling(type)}`) is not supported.");
                }
                ReadFields(translationUnit, declaration, structName, path, offset, fields, macros);
                continue;
            }
            switch (type.Kind)
            {
                case CXTypeKind.ConstantArray:
                    var length = clang_getArraySize(type);
                    var macro = ArrayLengthMacro(Tokens(translationUnit, field), structName, path, length, macros);
                    fields.Add(new CField(path, FieldShape.FixedArray, Spelling(clang_getArrayElementType(type)), false, length, macro, comment, offset));
                    break;
                case CXTypeKind.IncompleteArray:
                    if (prefix.Length > 0 || !field.Equals(fieldCursors[^1]))
                    {
                        throw new GeneratorException($"{structName}.{path}: an array without length that is not the last field.");
                    }
                    fields.Add(new CField(path, FieldShape.FlexibleArray, Spelling(clang_getArrayElementType(type)), false, 0, null, comment, offset));
                    break;
                default:
                    fields.Add(new CField(path, FieldShape.Plain, Spelling(type), isEnum, 0, null, comment, offset));
                    break;
            }
        }
    }

    /// <summary>
    /// natpmp.h documents a function in a plain comment: its name with <c>()</c>, what it does, then "Arguments :" and
    /// "Return values :" lines. Rewritten as the Doxygen comment DocComment reads: \\brief, the arguments as details,
    /// the return values in \\return with their constants linked (<c>#NATPMP_ERR_SENDERR</c>).
    /// </summary>
    private static string? PlainFunctionComment(string name, string? raw)
    {
        if (raw is null)
        {
            return null;
        }
        var lines = raw.Split('\n').Select(l => l.Trim().TrimStart('/', '*').TrimEnd('/').TrimEnd('*').Trim()).Where(l => l.Length > 0).ToList();
        var brief = new List<string>();
        var arguments = new List<string>();
        var returns = new List<string>();
        var section = brief;
        foreach (var line in lines.Where(l => l != name + "()"))
        {
            if (line.StartsWith("Return values", StringComparison.Ordinal))
            {
                section = returns;
                continue;
            }
            if (line.StartsWith("Arguments", StringComparison.Ordinal))
            {
                section = arguments;
                continue;
            }
            section.Add(section == returns ? ConstantNameRegex().Replace(line, "#$0") : line);
        }
        var text = new StringBuilder("/*! \\brief ").Append(string.Join(' ', brief)).Append("\n\n");
        if (arguments.Count > 0)
        {
            text.Append(string.Join(' ', arguments)).Append("\n\n");
        }
        if (returns.Count > 0)
        {
            text.Append("\\return ").Append(string.Join(", ", returns)).Append('\n');
        }
        return text.Append("*/").ToString();
    }

    [GeneratedRegex(@"\bNATPMP_[A-Z_]+\b")]
    private static partial Regex ConstantNameRegex();

    /// <summary>The macro written between the brackets of <c>char name[MACRO]</c>, or null when the length is a literal.</summary>
    private static string? ArrayLengthMacro(
        List<(CXTokenKind Kind, string Text)> tokens, string structName, string fieldName, long length, List<CMacro> macros)
    {
        var open = tokens.FindIndex(t => t.Text == "[");
        var close = tokens.FindIndex(t => t.Text == "]");
        if (open < 0 || close != open + 2 || tokens[open + 1].Kind != CXTokenKind.Identifier)
        {
            return null;
        }
        var name = tokens[open + 1].Text;
        var macro = macros.Find(m => m.Name == name);
        if (macro?.Value is not int value || value != length)
        {
            throw new GeneratorException(
                $"{structName}.{fieldName}: the array length {name} is not an integer constant of the headers equal to {length}.");
        }
        return name;
    }

    /// <summary>An object-like macro whose value is a literal; null (with a note) for anything else.</summary>
    private static CMacro? ReadMacro(SourcePosition position, uint line, string path, List<(CXTokenKind Kind, string Text)> tokens, bool plainComments)
    {
        var name = tokens[0].Text;
        var body = tokens.Skip(1).ToList();
        if (body.Count == 0)
        {
            return null; // include guards and flags
        }
        while (body.Count >= 2 && body[0].Text == "(" && body[^1].Text == ")")
        {
            body = body[1..^1];
        }
        object? value = null;
        if (body.Count == 1 && body[0].Kind == CXTokenKind.Literal && body[0].Text.StartsWith('"'))
        {
            value = ParseString(name, body[0].Text);
        }
        else if (body.Count == 1 && body[0].Kind == CXTokenKind.Literal)
        {
            value = ParseInteger(name, body[0].Text, negative: false);
        }
        else if (body.Count == 2 && body[0].Text == "-" && body[1].Kind == CXTokenKind.Literal)
        {
            value = ParseInteger(name, body[1].Text, negative: true);
        }
        if (value is null)
        {
            Console.WriteLine($"  skipped macro {name} ({position.Header}): its value `{string.Join(" ", body.Select(t => t.Text))}` is not a literal");
            return null;
        }
        return new CMacro(position, name, value, MacroComment(path, line, plainComments));
    }

    private static int? ParseInteger(string name, string literal, bool negative)
    {
        var match = IntegerLiteralRegex().Match(literal);
        if (!match.Success)
        {
            return null;
        }
        var digits = match.Groups["digits"].Value;
        var value = digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.Parse(digits[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)
            : digits.Length > 1 && digits[0] == '0' ? Convert.ToInt64(digits, 8) : long.Parse(digits, CultureInfo.InvariantCulture);
        value = negative ? -value : value;
        if (value is < int.MinValue or > int.MaxValue)
        {
            throw new GeneratorException($"Macro {name} = {value} does not fit in an int.");
        }
        return (int)value;
    }

    private static string ParseString(string name, string literal)
    {
        var text = new StringBuilder();
        for (var i = 1; i < literal.Length - 1; i++)
        {
            if (literal[i] != '\\')
            {
                text.Append(literal[i]);
                continue;
            }
            i++;
            text.Append(literal[i] switch
            {
                '\\' => '\\',
                '"' => '"',
                '\'' => '\'',
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                _ => throw new GeneratorException($"Macro {name}: unsupported escape sequence in {literal}."),
            });
        }
        return text.ToString();
    }

    /// <summary>
    /// libclang attaches no comment to macros: read the doc comment (<c>/*! … */</c>, <c>/** … */</c> or <c>///</c> lines)
    /// that ends on the line right above the #define, or a trailing <c>/*!&lt; … */</c> on the #define's own line. With
    /// <paramref name="plainComments"/> (headers without Doxygen comments, like natpmp.h), a plain <c>/* … */</c> too.
    /// </summary>
    private static string? MacroComment(string path, uint line, bool plainComments)
    {
        var lines = File.ReadAllLines(path);
        var defineLine = lines[line - 1];
        var trailing = defineLine.IndexOf("/*!<", StringComparison.Ordinal);
        if (trailing < 0)
        {
            trailing = defineLine.IndexOf("/**<", StringComparison.Ordinal);
        }
        if (trailing >= 0 && defineLine.IndexOf("*/", trailing, StringComparison.Ordinal) > trailing)
        {
            return defineLine[trailing..];
        }
        var last = (int)line - 2;
        if (last < 0)
        {
            return null;
        }
        if (lines[last].TrimStart().StartsWith("///", StringComparison.Ordinal) || lines[last].TrimStart().StartsWith("//!", StringComparison.Ordinal))
        {
            var first = last;
            while (first > 0 && (lines[first - 1].TrimStart().StartsWith("///", StringComparison.Ordinal) || lines[first - 1].TrimStart().StartsWith("//!", StringComparison.Ordinal)))
            {
                first--;
            }
            return string.Join("\n", lines[first..(last + 1)]);
        }
        if (!lines[last].TrimEnd().EndsWith("*/", StringComparison.Ordinal))
        {
            return null;
        }
        var start = last;
        while (start >= 0 && !lines[start].Contains("/*", StringComparison.Ordinal))
        {
            start--;
        }
        if (start < 0)
        {
            return null;
        }
        var opening = lines[start].TrimStart();
        var isDoc = opening.StartsWith("/*!", StringComparison.Ordinal)
            || (opening.StartsWith("/**", StringComparison.Ordinal) && !opening.StartsWith("/**/", StringComparison.Ordinal));
        return isDoc || plainComments ? string.Join("\n", lines[start..(last + 1)]) : null;
    }

    [GeneratedRegex(@"^(?<digits>0[xX][0-9a-fA-F]+|[0-9]+)(?:[uU]?[lL]{0,2}|[lL]{1,2}[uU])$")]
    private static partial Regex IntegerLiteralRegex();
}
