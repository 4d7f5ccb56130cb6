namespace System.Runtime.InteropServices;

/// <summary>
/// netstandard2.0 stand-in for .NET 6's CLong as Interop/Timeval.cs reads it: a C <c>long</c>'s value. Unlike the
/// real one it is not itself a field of a native layout (its size cannot follow the platform here): timevalStruct's
/// netstandard2.0 layout decodes it.
/// </summary>
internal readonly struct CLong(nint value)
{
    public nint Value { get; } = value;
}
