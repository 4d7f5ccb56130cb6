using System;
using System.Collections.Generic;
using System.Linq;

namespace MiniUpnp.Net.Generator;

/// <summary>A failure the generator reports as a one-line message and a non-zero exit code.</summary>
internal sealed class GeneratorException(string message) : Exception(message);

/// <summary>Where a declaration is: the header's file name (never a path) and its offset, the sort key of all output.</summary>
internal readonly record struct SourcePosition(string Header, uint Offset) : IComparable<SourcePosition>
{
    public int CompareTo(SourcePosition other)
    {
        var byHeader = string.CompareOrdinal(Header, other.Header);
        return byHeader != 0 ? byHeader : Offset.CompareTo(other.Offset);
    }
}

internal sealed record CParameter(string Name, string CType);

/// <summary>A function declared with MINIUPNP_LIBSPEC.</summary>
internal sealed record CFunction(SourcePosition Position, string Name, string ReturnType, IReadOnlyList<CParameter> Parameters, string? Comment)
{
    /// <summary>The C declaration, for documentation: <c>int f(const char * a, int b)</c>.</summary>
    public string Signature =>
        $"{ReturnType} {Name}({(Parameters.Count == 0 ? "void" : string.Join(", ", Parameters.Select(p => p.CType.EndsWith("[]", StringComparison.Ordinal) ? $"{p.CType[..^2]} {p.Name}[]" : $"{p.CType} {p.Name}")))})";
}

internal enum FieldShape
{
    /// <summary>A scalar, pointer, enum or nested struct.</summary>
    Plain,

    /// <summary><c>T name[N]</c>.</summary>
    FixedArray,

    /// <summary><c>T name[]</c> at the end of the struct (C99 flexible array member).</summary>
    FlexibleArray,
}

/// <summary>
/// A struct field. For arrays, <see cref="CType"/> is the element type. <see cref="CPath"/> is its C member path
/// (<c>pnu.newportmapping.lifetime</c> for a member of an unnamed union), <see cref="Name"/> that path with underscores,
/// <see cref="Offset"/> its offset in bytes on the generator's fixed target.
/// </summary>
internal sealed record CField(
    string CPath, FieldShape Shape, string CType, bool IsEnum, long ArrayLength, string? ArrayLengthMacro, string? Comment, long Offset)
{
    public string Name => CPath.Replace('.', '_');
}

/// <summary>A C struct; <see cref="IsTypedef"/> for <c>typedef struct { … } NAME;</c>; <see cref="HasUnion"/> when
/// members of an unnamed union were flattened (the struct then needs an explicit layout).</summary>
internal sealed record CStruct(
    SourcePosition Position, string Name, long Size, IReadOnlyList<CField> Fields, string? Comment, bool IsTypedef, bool HasUnion);

/// <summary>An object-like macro whose value is an integer or string literal. <see cref="Value"/> is an int or a string.</summary>
internal sealed record CMacro(SourcePosition Position, string Name, object Value, string? Comment);

internal sealed record HeaderModel(
    IReadOnlyList<CFunction> Functions, IReadOnlyList<CStruct> Structs, IReadOnlyList<CMacro> Macros);
