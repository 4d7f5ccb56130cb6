using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Natpmp;

/// <summary>Paths of the libnatpmp build, and the loopback set-up of the natpmp tests.</summary>
internal static class NatpmpPaths
{
    internal static string Source => Path.Combine(TestPaths.RepoRoot, "artifacts", "src", "libnatpmp-20230423");

    internal static string LibraryFile => Path.Combine(TestPaths.NativeDir,
        OperatingSystem.IsWindows() ? "libnatpmp.dll" : OperatingSystem.IsMacOS() ? "libnatpmp.dylib" : "libnatpmp.so");
}

/// <summary>
/// A NAT-PMP "gateway" that is a UDP socket of the test on 127.0.0.1 (ephemeral port), and a natpmp_t talking to it:
/// initnatpmp forces the gateway 127.0.0.1 (it connects to port 5351, fixed in libnatpmp), then the test connects the
/// same socket to the responder's port, as tests/native/natpmp_loopback.h does: readnatpmpresponse checks only the
/// source address of an answer, not its port. Loopback only; every wait is bounded.
/// </summary>
internal sealed unsafe partial class NatpmpLoopback : IDisposable
{
    /// <summary>127.0.0.1 as a C in_addr_t (network byte order).</summary>
    internal static readonly uint LoopbackInAddr = BitConverter.ToUInt32(IPAddress.Loopback.GetAddressBytes());

    private EndPoint _client = new IPEndPoint(IPAddress.Any, 0);

    internal Socket Responder { get; } = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 2000 };

    internal SafeNatpmpHandle Handle { get; } = new();

    internal NatpmpLoopback()
    {
        Responder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Assert.That(Libnatpmp.initnatpmp(Handle, 1, LoopbackInAddr), Is.Zero, "initnatpmp with forcedgw 127.0.0.1");
        var port = ((IPEndPoint)Responder.LocalEndPoint!).Port;
        byte* address = stackalloc byte[16]; // struct sockaddr_in (Linux)
        new Span<byte>(address, 16).Clear();
        address[0] = 2; // AF_INET, little-endian sa_family_t
        address[2] = (byte)(port >> 8);
        address[3] = (byte)port;
        IPAddress.Loopback.GetAddressBytes().CopyTo(new Span<byte>(address + 4, 4));
        Assert.That(connect(Handle.s, address, 16), Is.Zero, $"connect the library's socket to the responder (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>Receives the library's request (bounded wait).</summary>
    internal byte[] Request()
    {
        var buffer = new byte[64];
        int n = Responder.ReceiveFrom(buffer, ref _client);
        return buffer[..n];
    }

    internal void Answer(byte[] answer) => Responder.SendTo(answer, _client);

    /// <summary>readnatpmpresponseorretry until it says something else than NATPMP_TRYAGAIN (at most 2 s).</summary>
    internal int Read(out natpmpresp_t response)
    {
        int r = Libnatpmp.NATPMP_TRYAGAIN;
        response = null!;
        for (int i = 0; i < 200 && r == Libnatpmp.NATPMP_TRYAGAIN; i++)
        {
            if (i > 0)
            {
                System.Threading.Thread.Sleep(10);
            }
            r = Libnatpmp.readnatpmpresponseorretry(Handle, out response);
        }
        return r;
    }

    public void Dispose()
    {
        Handle.Dispose();
        Responder.Dispose();
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int connect(int socket, byte* address, int length);
}
