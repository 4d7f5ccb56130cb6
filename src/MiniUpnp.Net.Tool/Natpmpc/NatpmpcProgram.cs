using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Tool.Output;
using static MiniUpnp.Net.Native.Libnatpmp;

namespace MiniUpnp.Net.Tool.Natpmpc;

/// <summary>
/// <c>upnpc-net natpmpc ...</c>: natpmpc.c's main() (libnatpmp 20230423) line by line on the C-named
/// <see cref="Libnatpmp"/>: the same calls in the same order, the same wait (select() on the socket until
/// getnatpmprequesttimeout's time), the same lines on the same streams and the same exit codes.
/// </summary>
/// <remarks>
/// natpmpc.c prints strnatpmperr's text only when it is compiled with ENABLE_STRNATPMPERR; upstream's build defines it
/// for the library alone (CMakeLists.txt: PRIVATE), and so does ours (native/libnatpmp), so the reference natpmpc does
/// not print those lines, and neither does this. Differences: <c>-g</c> without an address (see
/// <see cref="NatpmpcArguments"/>), and a native library that cannot be loaded, reported in one line (exit 1).
/// </remarks>
internal static class NatpmpcProgram
{
    internal const string Name = "natpmpc";

    /// <summary>argv[0] in the usage: how this command is typed.</summary>
    internal const string ProgramName = ToolConsole.ProgramName + " " + Name;

    internal static int Run(string[] args) => Run(args, ToolConsole.Out, ToolConsole.Error);

    internal static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (NatpmpcArguments.Parse(ProgramName, args, stdout, stderr, out var arguments) is int code)
        {
            return code;
        }
        try
        {
            return NatpmpcMain(arguments, stdout, stderr);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or TypeInitializationException)
        {
            stderr.Write($"{ProgramName}: {e.Message.ReplaceLineEndings(" ").Trim()}\n");
            return 1;
        }
    }

    private static int NatpmpcMain(NatpmpcArguments a, TextWriter stdout, TextWriter stderr)
    {
        using var natpmp = new SafeNatpmpHandle();
        natpmpresp_t response;

        int r = initnatpmp(natpmp, a.ForceGateway, a.Gateway);
        stdout.Write($"initnatpmp() returned {r} ({(r != 0 ? "FAILED" : "SUCCESS")})\n");
        if (r < 0)
        {
            return 1;
        }

        stdout.Write($"using gateway : {InetNtoa(natpmp.gateway)}\n");

        r = sendpublicaddressrequest(natpmp);
        stdout.Write($"sendpublicaddressrequest returned {r} ({(r == 2 ? "SUCCESS" : "FAILED")})\n");
        if (r < 0)
        {
            return 1;
        }

        // natpmpc's select() on natpmp.s: the same descriptor, not owned (closenatpmp closes it).
        using var socket = new Socket(new SafeSocketHandle(natpmp.s, ownsHandle: false));
        int tries = 1; // natpmp_t.try_number, as far as it can be followed from outside (see HandleBadReplyType)
        do
        {
            if (!Select(natpmp, socket, ref tries))
            {
                stderr.Write("select()"); // sic: no newline
                return 1;
            }
            r = readnatpmpresponseorretry(natpmp, out response);
            // C's errno right after the call (the C-named layer does not capture it; nothing between sets it in practice).
            int savErrno = System.Runtime.InteropServices.Marshal.GetLastSystemError();
            stdout.Write($"readnatpmpresponseorretry returned {r} ({Outcome(r)})\n");
            if (r < 0 && r != NATPMP_TRYAGAIN)
            {
                stderr.Write($"  errno={savErrno} '{StrError(savErrno)}'\n");
            }
            if (r >= 0 && response.type != 0)
            {
                HandleBadReplyType(ref tries, response, ref r, stdout, () => sendpublicaddressrequest(natpmp));
            }
        } while (r == NATPMP_TRYAGAIN);
        if (r < 0)
        {
            return 1;
        }

        if (response.type != NATPMP_RESPTYPE_PUBLICADDRESS)
        {
            stderr.Write($"readnatpmpresponseorretry() failed : invalid response type {response.type}\n");
            return 1;
        }

        IPAddress publicAddress = response.publicaddress!;
        if (IsReserved(publicAddress))
        {
            stderr.Write($"readnatpmpresponseorretry() failed : invalid Public IP address {publicAddress}\n");
            return 1;
        }

        stdout.Write($"Public IP address : {publicAddress}\n");
        stdout.Write($"epoch = {response.epoch}\n");

        if (a.Command == 'a')
        {
            tries = 1;
            r = sendnewportmappingrequest(natpmp, a.Protocol, a.PrivatePort, a.PublicPort, a.Lifetime);
            stdout.Write($"sendnewportmappingrequest returned {r} ({(r == 12 ? "SUCCESS" : "FAILED")})\n");
            if (r < 0)
            {
                return 1;
            }

            do
            {
                Select(natpmp, socket, ref tries); // natpmpc ignores select()'s result here
                r = readnatpmpresponseorretry(natpmp, out response);
                stdout.Write($"readnatpmpresponseorretry returned {r} ({Outcome(r)})\n");
                if (r >= 0 && (a.Protocol == NATPMP_PROTOCOL_TCP && response.type != NATPMP_RESPTYPE_TCPPORTMAPPING ||
                               a.Protocol == NATPMP_PROTOCOL_UDP && response.type != NATPMP_RESPTYPE_UDPPORTMAPPING))
                {
                    HandleBadReplyType(ref tries, response, ref r, stdout,
                        () => sendnewportmappingrequest(natpmp, a.Protocol, a.PrivatePort, a.PublicPort, a.Lifetime));
                }
            } while (r == NATPMP_TRYAGAIN);
            if (r < 0)
            {
                return 1;
            }

            string protocol = response.type == NATPMP_RESPTYPE_UDPPORTMAPPING ? "UDP"
                : response.type == NATPMP_RESPTYPE_TCPPORTMAPPING ? "TCP" : "UNKNOWN";
            stdout.Write($"Mapped public port {response.mappedpublicport} protocol {protocol} to local port {response.privateport} " +
                         $"lifetime {response.lifetime}\n");
            stdout.Write($"epoch = {response.epoch}\n");
        }

        r = closenatpmp(natpmp);
        stdout.Write($"closenatpmp() returned {r} ({(r == 0 ? "SUCCESS" : "FAILED")})\n");
        return r < 0 ? 1 : 0;
    }

    private static string Outcome(int r) => r == 0 ? "OK" : r == NATPMP_TRYAGAIN ? "TRY AGAIN" : "FAILED";

    /// <summary>
    /// <c>FD_SET(natpmp.s); getnatpmprequesttimeout(&amp;natpmp, &amp;timeout); select(...)</c>: waits until the socket
    /// is readable or the retry time has come. False where select() fails: a negative timeout (the retry time has
    /// passed) is EINVAL for Linux's select().
    /// </summary>
    /// <remarks><paramref name="tries"/> counts the retries libnatpmp sends: one when the wait ends without an answer.</remarks>
    private static bool Select(SafeNatpmpHandle natpmp, Socket socket, ref int tries)
    {
        getnatpmprequesttimeout(natpmp, out TimeSpan timeout);
        if (timeout < TimeSpan.Zero)
        {
            return false;
        }
        if (!socket.Poll(timeout, SelectMode.SelectRead))
        {
            tries++;
        }
        return true;
    }

    /// <summary>
    /// natpmpc.c handlenatpmpbadreplytype: an answer of another type than the request's is retried while
    /// <c>try_number &lt;= 9</c>. natpmpc sets <c>has_pending_request</c> back to 1 in its <c>natpmp_t</c>, whose fields the
    /// C-named layer keeps to itself (only <c>s</c> and <c>gateway</c> are public): the request is sent again instead (one
    /// more datagram, the same answer awaited), and <paramref name="tries"/> goes on counting from where it was.
    /// </summary>
    private static void HandleBadReplyType(ref int tries, natpmpresp_t response, ref int r, TextWriter stdout, Func<int> sendAgain)
    {
        bool retry = tries <= 9;
        stdout.Write($"readnatpmpresponseorretry received unexpected reply type {response.type} , {(retry ? "retrying" : "no more retry")}...\n");
        if (retry)
        {
            r = NATPMP_TRYAGAIN;
            tries++;
            sendAgain();
        }
    }

    /// <summary>natpmpc.c's table of address blocks that cannot be a public address (addr_is_reserved).</summary>
    private static readonly (uint Address, int Mask)[] s_reserved =
    [
        (Ip(0, 0, 0, 0), 8), (Ip(10, 0, 0, 0), 8), (Ip(100, 64, 0, 0), 10), (Ip(127, 0, 0, 0), 8),
        (Ip(169, 254, 0, 0), 16), (Ip(172, 16, 0, 0), 12), (Ip(192, 0, 0, 0), 24), (Ip(192, 0, 2, 0), 24),
        (Ip(192, 31, 196, 0), 24), (Ip(192, 52, 193, 0), 24), (Ip(192, 88, 99, 0), 24), (Ip(192, 168, 0, 0), 16),
        (Ip(192, 175, 48, 0), 24), (Ip(198, 18, 0, 0), 15), (Ip(198, 51, 100, 0), 24), (Ip(203, 0, 113, 0), 24),
        (Ip(224, 0, 0, 0), 4), (Ip(240, 0, 0, 0), 4),
    ];

    private static uint Ip(uint a, uint b, uint c, uint d) => (a << 24) + (b << 16) + (c << 8) + d;

    internal static bool IsReserved(IPAddress address)
    {
        byte[] b = address.GetAddressBytes();
        uint host = Ip(b[0], b[1], b[2], b[3]);
        foreach (var (block, mask) in s_reserved)
        {
            int shift = 32 - mask;
            if (host >> shift == block >> shift)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary><c>inet_ntoa</c> of an address in network byte order.</summary>
    private static string InetNtoa(uint networkOrder) => new IPAddress(networkOrder).ToString();

    /// <summary><c>strerror</c>: .NET's text for an errno is the C library's own on Unix.</summary>
    private static string StrError(int errno) => errno == 0 ? "Success" : new System.ComponentModel.Win32Exception(errno).Message;
}
