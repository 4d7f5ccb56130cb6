using System;
using System.IO;
using System.Runtime.InteropServices;
using MiniUpnp.Net.Interop;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Interop;

/// <summary>The binding refuses a miniupnpc that is not API 21 before calling anything in it.</summary>
public class AbiGuardTests
{
    // Debian's libminiupnpc17 (miniupnpc 2.2.4, API 17): ./build.sh deps installs it for this test.
    private static readonly string[] Api17Candidates =
    {
        "/usr/lib/x86_64-linux-gnu/libminiupnpc.so.17",
        "/usr/lib/aarch64-linux-gnu/libminiupnpc.so.17",
    };

    [Test]
    [Platform("Linux")]
    public void AnApi17LibraryIsRefusedWithAClearMessage()
    {
        string? api17 = Array.Find(Api17Candidates, File.Exists);
        Assert.That(api17, Is.Not.Null, "Debian's libminiupnpc17 is installed (./build.sh deps)");
        var e = Assert.Throws<IncompatibleNativeLibraryException>(() => NativeLibraryLoader.LoadFrom(api17!));
        Assert.That(e!.Message, Does.Contain("not API version 21"));
        Assert.That(e.Message, Does.Contain("2.3.3"));
        Assert.That(e.Message, Does.Contain(api17));
    }

    [Test]
    public void OurLibraryIsAccepted()
    {
        IntPtr library = NativeLibraryLoader.LoadFrom(TestPaths.NativeLibraryFile);
        Assert.That(library, Is.Not.EqualTo(IntPtr.Zero));
        NativeLibrary.Free(library);
    }
}
