using System;
using System.IO;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Tests.Natpmp;
using NUnit.Framework;
using static MiniUpnp.Net.Native.Libnatpmp;

namespace MiniUpnp.Net.Tests.Handles;

/// <summary>SafeNatpmpHandle: a natpmp_t of ours whose socket is closed exactly once, whatever initnatpmp returned.</summary>
public class NatpmpHandleTests
{
    /// <summary>255.255.255.255: connect() of a UDP socket without SO_BROADCAST fails (EACCES) and sends nothing.</summary>
    private const uint Broadcast = 0xffffffff;

    [Test]
    public void ANewHandleHasNoSocketAndDisposesWithoutLoadingAnything()
    {
        var handle = new SafeNatpmpHandle();
        Assert.That(handle.s, Is.EqualTo(-1), "not 0: a zeroed natpmp_t would name stdin");
        handle.Dispose();
        Assert.DoesNotThrow(handle.Dispose, "a second dispose is harmless");
        Assert.That(handle.IsClosed, Is.True);
    }

    [Test]
    public void ADisposedHandleThrowsObjectDisposed()
    {
        var handle = new SafeNatpmpHandle();
        handle.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _ = handle.s);
        Assert.Throws<ObjectDisposedException>(() => _ = handle.gateway);
        Assert.Throws<ObjectDisposedException>(() => initnatpmp(handle, 1, NatpmpLoopback.LoopbackInAddr));
        Assert.Throws<ObjectDisposedException>(() => sendpublicaddressrequest(handle));
        Assert.Throws<ObjectDisposedException>(() => sendnewportmappingrequest(handle, NATPMP_PROTOCOL_TCP, 1, 1, 1));
        Assert.Throws<ObjectDisposedException>(() => getnatpmprequesttimeout(handle, out _));
        Assert.Throws<ObjectDisposedException>(() => readnatpmpresponseorretry(handle, out _));
        Assert.Throws<ObjectDisposedException>(() => closenatpmp(handle));
    }

    [Test]
    [Platform("Linux")]
    public void DisposeClosesTheSocket()
    {
        var handle = new SafeNatpmpHandle();
        Assert.That(initnatpmp(handle, 1, NatpmpLoopback.LoopbackInAddr), Is.Zero);
        Assert.That(handle.gateway, Is.EqualTo(NatpmpLoopback.LoopbackInAddr));
        var (fd, socket) = Descriptor(handle);
        handle.Dispose();
        Assert.That(IsOpen(fd, socket), Is.False, "the socket is closed on dispose");
    }

    [Test]
    [Platform("Linux")]
    public void AFailedInitnatpmpLeavesNoSocketOpenOnceDisposed()
    {
        // Upstream's initnatpmp opens its socket, then returns NATPMP_ERR_CONNECTERR without closing it.
        var handle = new SafeNatpmpHandle();
        Assert.That(initnatpmp(handle, 1, Broadcast), Is.EqualTo(NATPMP_ERR_CONNECTERR));
        var (fd, socket) = Descriptor(handle);
        Assert.That(IsOpen(fd, socket), Is.True, "upstream leaves it open");
        handle.Dispose();
        Assert.That(IsOpen(fd, socket), Is.False, "the handle closes it anyway");
    }

    [Test]
    [Platform("Linux")]
    public void ClosenatpmpClosesOnceAndInitnatpmpAgainClosesThePreviousSocket()
    {
        using var handle = new SafeNatpmpHandle();
        Assert.That(initnatpmp(handle, 1, NatpmpLoopback.LoopbackInAddr), Is.Zero);
        var first = Descriptor(handle);
        Assert.That(initnatpmp(handle, 1, NatpmpLoopback.LoopbackInAddr), Is.Zero, "initialised again");
        Assert.That(IsOpen(first.Fd, first.Socket), Is.False, "C's memset would have lost the first socket");
        var second = Descriptor(handle);
        Assert.That(closenatpmp(handle), Is.Zero);
        Assert.That(handle.s, Is.EqualTo(-1));
        Assert.That(IsOpen(second.Fd, second.Socket), Is.False);
        Assert.That(closenatpmp(handle), Is.EqualTo(NATPMP_ERR_CLOSEERR), "a second close closes nothing");
        Assert.That(sendpublicaddressrequest(handle), Is.EqualTo(NATPMP_ERR_SENDERR), "no socket: libnatpmp's own error");
    }

    /// <summary>The handle's descriptor and what it is ("socket:[inode]"), to tell it from a later reuse of the number.</summary>
    private static (int Fd, string Socket) Descriptor(SafeNatpmpHandle handle)
    {
        int fd = handle.s;
        Assert.That(fd, Is.GreaterThanOrEqualTo(0));
        var target = new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        Assert.That(target, Does.StartWith("socket:"));
        return (fd, target!);
    }

    private static bool IsOpen(int fd, string socket) =>
        new FileInfo($"/proc/self/fd/{fd}") is { Exists: true } link && link.LinkTarget == socket;
}
