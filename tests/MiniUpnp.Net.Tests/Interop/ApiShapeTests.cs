using System;
using System.Linq;
using MiniUpnp.Net.Native;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Interop;

/// <summary>The public API's shape: one namespace per style, no simple type name used twice (public or internal), and
/// nothing a user could subclass or construct that only the library may.</summary>
public class ApiShapeTests
{
    private static readonly Type[] AllTypes = typeof(Miniupnpc).Assembly.GetTypes().Where(t => !t.IsNested && !t.Name.StartsWith('<')).ToArray();

    [Test]
    public void EveryPublicTypeIsInOneOfTheThreeNamespaces()
    {
        var outside = typeof(Miniupnpc).Assembly.GetExportedTypes()
            .Where(t => t.Namespace is not ("MiniUpnp.Net" or "MiniUpnp.Net.Native" or "MiniUpnp.Net.Python"))
            .Select(t => t.FullName);
        Assert.That(outside, Is.Empty);
    }

    [Test]
    public void NoSimpleTypeNameIsUsedTwice()
    {
        var twice = AllTypes.Where(t => t.Namespace?.StartsWith("MiniUpnp.Net", StringComparison.Ordinal) == true)
            .GroupBy(t => t.Name).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(t => t.FullName))}");
        Assert.That(twice, Is.Empty);
    }

    [Test]
    public void HandlesCannotBeDerivedOrMadeWhereOnlyTheLibraryMay()
    {
        Assert.Multiple(() =>
        {
            Assert.That(typeof(MiniupnpcSafeHandle).GetConstructors(), Is.Empty, "no public or protected constructor: not derivable outside");
            Assert.That(typeof(MiniupnpcSafeHandle).GetConstructors(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)
                .Any(c => c.IsFamily), Is.False, "private protected, not protected");
            Assert.That(typeof(SafeMallocHandle).GetConstructors(), Is.Empty, "a malloc'd buffer comes only from miniwget");
            Assert.That(typeof(SafeDeviceListHandle).GetConstructors(), Is.Empty, "a device list comes only from upnpDiscover*");
            Assert.That(typeof(SafeUrlsHandle).GetConstructor(Type.EmptyTypes), Is.Not.Null, "URLs are the caller's, as in C");
            Assert.That(typeof(SafePortListingHandle).GetConstructor(Type.EmptyTypes), Is.Not.Null, "a port listing is the caller's, as in C");
        });
    }
}
