// The small part of the libclang C API (clang-c/Index.h) that the generator uses, declared by hand.
// Struct layouts follow clang-c/Index.h and clang-c/CXString.h; they are stable across libclang versions.
using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MiniUpnp.Net.Generator;

internal enum CXErrorCode { Success = 0, Failure = 1, Crashed = 2, InvalidArguments = 3, ASTReadError = 4 }

internal enum CXDiagnosticSeverity { Ignored = 0, Note = 1, Warning = 2, Error = 3, Fatal = 4 }

internal enum CXChildVisitResult { Break = 0, Continue = 1, Recurse = 2 }

internal enum CXTokenKind { Punctuation = 0, Keyword = 1, Identifier = 2, Literal = 3, Comment = 4 }

internal enum CXCursorKind
{
    StructDecl = 2,
    UnionDecl = 3,
    EnumDecl = 5,
    FieldDecl = 6,
    FunctionDecl = 8,
    ParmDecl = 10,
    TypedefDecl = 20,
    MacroDefinition = 501,
}

internal enum CXTypeKind
{
    Void = 2,
    Pointer = 101,
    Record = 105,
    Enum = 106,
    ConstantArray = 112,
    IncompleteArray = 114,
    Elaborated = 119,
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXString
{
    public void* Data;
    public uint PrivateFlags;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXCursor
{
    public CXCursorKind Kind;
    public int Xdata;
    public void* Data0, Data1, Data2;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXType
{
    public CXTypeKind Kind;
    public void* Data0, Data1;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXSourceLocation
{
    public void* PtrData0, PtrData1;
    public uint IntData;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXSourceRange
{
    public void* PtrData0, PtrData1;
    public uint BeginIntData, EndIntData;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXToken
{
    public uint IntData0, IntData1, IntData2, IntData3;
    public void* PtrData;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXUnsavedFile
{
    public byte* Filename;
    public byte* Contents;
    public nuint Length;
}

internal static unsafe partial class Libclang
{
    private const string Lib = "libclang";

    /// <summary>CXTranslationUnit_DetailedPreprocessingRecord: keep macro definitions as cursors.</summary>
    public const uint DetailedPreprocessingRecord = 0x01;

    /// <summary>Where to look for libclang: $LIBCLANG_PATH first, then Debian's LLVM 16, then the loader's search path.</summary>
    private static readonly string[] Candidates =
    [
        "/usr/lib/llvm-16/lib/libclang-16.so.1",
        "libclang-16.so.1",
        "libclang.so.1",
        "libclang",
    ];

    static Libclang()
    {
        NativeLibrary.SetDllImportResolver(typeof(Libclang).Assembly, Resolve);
    }

    /// <summary>Makes sure the resolver is installed before the first call (it is installed by the static constructor).</summary>
    public static void EnsureLoaded() => RuntimeHelpers.RunClassConstructor(typeof(Libclang).TypeHandle);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Lib)
        {
            return IntPtr.Zero;
        }
        var fromEnvironment = Environment.GetEnvironmentVariable("LIBCLANG_PATH");
        var candidates = string.IsNullOrEmpty(fromEnvironment) ? Candidates : [fromEnvironment, .. Candidates];
        foreach (var candidate in candidates)
        {
            if (NativeLibrary.TryLoad(candidate, out var handle))
            {
                return handle;
            }
        }
        throw new DllNotFoundException(
            "libclang not found: install libclang1-16 (Debian: apt-get install libclang1-16) or set LIBCLANG_PATH. Tried: "
            + string.Join(", ", candidates));
    }

    [LibraryImport(Lib)] public static partial IntPtr clang_createIndex(int excludeDeclarationsFromPch, int displayDiagnostics);
    [LibraryImport(Lib)] public static partial void clang_disposeIndex(IntPtr index);

    [LibraryImport(Lib)]
    public static partial CXErrorCode clang_parseTranslationUnit2(
        IntPtr index, byte* sourceFilename, byte** commandLineArgs, int numCommandLineArgs,
        CXUnsavedFile* unsavedFiles, uint numUnsavedFiles, uint options, IntPtr* translationUnit);

    [LibraryImport(Lib)] public static partial void clang_disposeTranslationUnit(IntPtr translationUnit);

    [LibraryImport(Lib)] public static partial uint clang_getNumDiagnostics(IntPtr translationUnit);
    [LibraryImport(Lib)] public static partial IntPtr clang_getDiagnostic(IntPtr translationUnit, uint index);
    [LibraryImport(Lib)] public static partial CXDiagnosticSeverity clang_getDiagnosticSeverity(IntPtr diagnostic);
    [LibraryImport(Lib)] public static partial CXString clang_formatDiagnostic(IntPtr diagnostic, uint options);
    [LibraryImport(Lib)] public static partial uint clang_defaultDiagnosticDisplayOptions();
    [LibraryImport(Lib)] public static partial void clang_disposeDiagnostic(IntPtr diagnostic);

    [LibraryImport(Lib)] public static partial CXCursor clang_getTranslationUnitCursor(IntPtr translationUnit);
    [LibraryImport(Lib)]
    public static partial uint clang_visitChildren(
        CXCursor parent, delegate* unmanaged<CXCursor, CXCursor, IntPtr, CXChildVisitResult> visitor, IntPtr clientData);

    [LibraryImport(Lib)] public static partial CXString clang_getCursorSpelling(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXType clang_getCursorType(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXType clang_getCursorResultType(CXCursor cursor);
    [LibraryImport(Lib)] public static partial int clang_Cursor_getNumArguments(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXCursor clang_Cursor_getArgument(CXCursor cursor, uint index);
    [LibraryImport(Lib)] public static partial uint clang_isCursorDefinition(CXCursor cursor);
    [LibraryImport(Lib)] public static partial uint clang_Cursor_isMacroFunctionLike(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXString clang_Cursor_getRawCommentText(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXSourceRange clang_getCursorExtent(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXSourceLocation clang_getCursorLocation(CXCursor cursor);

    [LibraryImport(Lib)] public static partial CXString clang_getTypeSpelling(CXType type);
    [LibraryImport(Lib)] public static partial CXType clang_getCanonicalType(CXType type);
    [LibraryImport(Lib)] public static partial long clang_Type_getSizeOf(CXType type);
    [LibraryImport(Lib)] public static partial long clang_getArraySize(CXType type);
    [LibraryImport(Lib)] public static partial CXCursor clang_getTypeDeclaration(CXType type);
    [LibraryImport(Lib)] public static partial CXType clang_getTypedefDeclUnderlyingType(CXCursor cursor);
    [LibraryImport(Lib)] public static partial uint clang_Cursor_isAnonymous(CXCursor cursor);
    [LibraryImport(Lib)] public static partial long clang_Cursor_getOffsetOfField(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXType clang_getArrayElementType(CXType type);

    [LibraryImport(Lib)] public static partial int clang_Location_isFromMainFile(CXSourceLocation location);
    [LibraryImport(Lib)]
    public static partial void clang_getExpansionLocation(
        CXSourceLocation location, IntPtr* file, uint* line, uint* column, uint* offset);
    [LibraryImport(Lib)] public static partial CXString clang_getFileName(IntPtr file);
    [LibraryImport(Lib)] public static partial CXSourceLocation clang_getRangeStart(CXSourceRange range);
    [LibraryImport(Lib)] public static partial CXSourceLocation clang_getRangeEnd(CXSourceRange range);
    [LibraryImport(Lib)] public static partial CXSourceRange clang_getRange(CXSourceLocation begin, CXSourceLocation end);
    [LibraryImport(Lib)]
    public static partial CXSourceLocation clang_getLocationForOffset(IntPtr translationUnit, IntPtr file, uint offset);

    [LibraryImport(Lib)]
    public static partial void clang_tokenize(IntPtr translationUnit, CXSourceRange range, CXToken** tokens, uint* numTokens);
    [LibraryImport(Lib)] public static partial CXTokenKind clang_getTokenKind(CXToken token);
    [LibraryImport(Lib)] public static partial CXString clang_getTokenSpelling(IntPtr translationUnit, CXToken token);
    [LibraryImport(Lib)] public static partial void clang_disposeTokens(IntPtr translationUnit, CXToken* tokens, uint numTokens);

    [LibraryImport(Lib)] public static partial byte* clang_getCString(CXString text);
    [LibraryImport(Lib)] public static partial void clang_disposeString(CXString text);

    // ---- Managed conveniences ----

    /// <summary>Copies a CXString into a managed string and disposes it.</summary>
    public static string ToManaged(CXString text)
    {
        var result = Marshal.PtrToStringUTF8((IntPtr)clang_getCString(text)) ?? "";
        clang_disposeString(text);
        return result;
    }

    public static string Spelling(CXCursor cursor) => ToManaged(clang_getCursorSpelling(cursor));

    public static string Spelling(CXType type) => ToManaged(clang_getTypeSpelling(type));

    /// <summary>The raw doc comment (<c>/*! … */</c>, <c>/** … */</c>, <c>///</c>, <c>/*!&lt; … */</c>) attached to a declaration, or null.</summary>
    public static string? RawComment(CXCursor cursor)
    {
        var text = ToManaged(clang_Cursor_getRawCommentText(cursor));
        return text.Length == 0 ? null : text;
    }

    /// <summary>The direct children of a cursor, in source order.</summary>
    public static List<CXCursor> Children(CXCursor parent)
    {
        var children = new List<CXCursor>();
        var handle = GCHandle.Alloc(children);
        try
        {
            clang_visitChildren(parent, &CollectChild, GCHandle.ToIntPtr(handle));
        }
        finally
        {
            handle.Free();
        }
        return children;
    }

    [UnmanagedCallersOnly]
    private static CXChildVisitResult CollectChild(CXCursor cursor, CXCursor parent, IntPtr clientData)
    {
        ((List<CXCursor>)GCHandle.FromIntPtr(clientData).Target!).Add(cursor);
        return CXChildVisitResult.Continue;
    }

    /// <summary>Where a cursor is (after macro expansion): the full path of its file (null for built-ins and the main file) and its offset and line.</summary>
    public static (string? File, uint Offset, uint Line) Location(CXCursor cursor)
    {
        var location = clang_getCursorLocation(cursor);
        if (clang_Location_isFromMainFile(location) != 0)
        {
            return (null, 0, 0);
        }
        IntPtr file;
        uint line, column, offset;
        clang_getExpansionLocation(location, &file, &line, &column, &offset);
        if (file == IntPtr.Zero)
        {
            return (null, 0, 0);
        }
        return (Path.GetFullPath(ToManaged(clang_getFileName(file))), offset, line);
    }

    /// <summary>
    /// The source tokens (before macro expansion) of a cursor's extent, comments excluded. An extent that starts inside
    /// a macro expansion (<c>MINIUPNP_LIBSPEC int f(...)</c> starts in the expansion of MINIUPNP_LIBSPEC) is widened
    /// to the expansion site, so that the macro's own name is among the tokens.
    /// </summary>
    public static List<(CXTokenKind Kind, string Text)> Tokens(IntPtr translationUnit, CXCursor cursor)
    {
        var extent = clang_getCursorExtent(cursor);
        IntPtr beginFile, endFile;
        uint beginOffset, endOffset;
        clang_getExpansionLocation(clang_getRangeStart(extent), &beginFile, null, null, &beginOffset);
        clang_getExpansionLocation(clang_getRangeEnd(extent), &endFile, null, null, &endOffset);
        if (beginFile != IntPtr.Zero && beginFile == endFile)
        {
            extent = clang_getRange(
                clang_getLocationForOffset(translationUnit, beginFile, beginOffset),
                clang_getLocationForOffset(translationUnit, endFile, endOffset));
        }
        CXToken* tokens;
        uint count;
        clang_tokenize(translationUnit, extent, &tokens, &count);
        var result = new List<(CXTokenKind, string)>((int)count);
        for (uint i = 0; i < count; i++)
        {
            if (clang_getTokenKind(tokens[i]) == CXTokenKind.Comment)
            {
                continue;
            }
            result.Add((clang_getTokenKind(tokens[i]), ToManaged(clang_getTokenSpelling(translationUnit, tokens[i]))));
        }
        if (tokens != null)
        {
            clang_disposeTokens(translationUnit, tokens, count);
        }
        return result;
    }
}
