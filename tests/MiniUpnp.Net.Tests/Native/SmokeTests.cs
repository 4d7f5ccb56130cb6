using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Native;

/// <summary>The native library built by ./build.sh native loads from the build output and answers a call.</summary>
public class SmokeTests
{
    [Test]
    public void StrupnperrorCallsIntoTheNativeLibrary()
    {
        Assert.That(Miniupnpc.strupnperror(718), Is.EqualTo("ConflictInMappingEntry"));
    }
}
