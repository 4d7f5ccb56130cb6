using System;
using System.IO;
using MiniUpnp.Net.Native;

namespace MiniUpnp.Net.Tool.Natpmpc;

/// <summary>
/// natpmpc's command line (libnatpmp 20230423, natpmpc.c, main(), its argument loop), word for word: the option is
/// <c>argv[i][1]</c> alone (<c>-hello</c> is <c>-h</c>), numbers are read as <c>sscanf("%hu")</c> / <c>sscanf("%u")</c>
/// read them, the protocol with <c>strcasecmp</c>, the gateway with <c>inet_addr</c>; messages, streams and exit codes
/// are natpmpc's. One difference: natpmpc's check for <c>-g</c>'s address (<c>argc &lt; i + 1</c>) is never true, so
/// <c>-g</c> as the last word passes NULL to <c>inet_addr</c> and natpmpc crashes (SIGSEGV); here it is reported as the
/// check meant to ("Not enough arguments for option -g", exit 1).
/// </summary>
internal sealed class NatpmpcArguments
{
    /// <summary>0 (the public address only) or 'a' (then a mapping).</summary>
    internal int Command { get; private set; }

    internal int ForceGateway { get; private set; }

    /// <summary>What <c>inet_addr</c> returned: network byte order, <c>INADDR_NONE</c> (0xffffffff) for an invalid address.</summary>
    internal uint Gateway { get; private set; }

    internal int Protocol { get; private set; }

    internal ushort PrivatePort { get; private set; }

    internal ushort PublicPort { get; private set; }

    internal uint Lifetime { get; private set; } = 3600;

    /// <summary>
    /// Reads the arguments (without the program name). Returns null when natpmpc would go on to initnatpmp, or the exit
    /// code when it stops here (help: 0; an error: 1, its message already written).
    /// </summary>
    internal static int? Parse(string argv0, string[] args, TextWriter stdout, TextWriter stderr, out NatpmpcArguments parsed)
    {
        var a = parsed = new NatpmpcArguments();
        int argc = args.Length + 1;
        string Argv(int i) => args[i - 1];
        for (int i = 1; i < argc; i++)
        {
            string arg = Argv(i);
            if (arg.Length > 0 && arg[0] == '-')
            {
                char letter = arg.Length > 1 ? arg[1] : '\0';
                switch (letter)
                {
                    case 'h':
                        NatpmpcUsage.Write(stdout, argv0);
                        return 0;
                    case 'g':
                        a.ForceGateway = 1;
                        if (argc < i + 2) // natpmpc: argc < i + 1, never true (then inet_addr(NULL): SIGSEGV)
                        {
                            stderr.Write($"Not enough arguments for option -{letter}\n");
                            return 1;
                        }
                        a.Gateway = InetAddr(Argv(++i));
                        break;
                    case 'a':
                        a.Command = 'a';
                        if (argc < i + 4)
                        {
                            stderr.Write($"Not enough arguments for option -{letter}\n");
                            return 1;
                        }
                        i++;
                        if (!ScanUnsigned(Argv(i), out ulong publicPort))
                        {
                            stderr.Write($"{Argv(i)} is not a correct 16bits unsigned integer\n");
                            return 1;
                        }
                        a.PublicPort = unchecked((ushort)publicPort);
                        i++;
                        if (!ScanUnsigned(Argv(i), out ulong privatePort))
                        {
                            stderr.Write($"{Argv(i)} is not a correct 16bits unsigned integer\n");
                            return 1;
                        }
                        a.PrivatePort = unchecked((ushort)privatePort);
                        i++;
                        if (AsciiEqualsIgnoreCase(Argv(i), "tcp"))
                        {
                            a.Protocol = Libnatpmp.NATPMP_PROTOCOL_TCP;
                        }
                        else if (AsciiEqualsIgnoreCase(Argv(i), "udp"))
                        {
                            a.Protocol = Libnatpmp.NATPMP_PROTOCOL_UDP;
                        }
                        else
                        {
                            stderr.Write($"{Argv(i)} is not a valid protocol\n");
                            return 1;
                        }
                        if (argc > i + 1)
                        {
                            if (!ScanUnsigned(Argv(i + 1), out ulong lifetime))
                            {
                                // natpmpc names argv[i] (the protocol), not the word it could not read, and goes on:
                                // that word is then read as the next option.
                                stderr.Write($"{Argv(i)} is not a correct 32bits unsigned integer\n");
                            }
                            else
                            {
                                a.Lifetime = unchecked((uint)lifetime);
                                i++;
                            }
                        }
                        break;
                    default:
                        stderr.Write($"Unknown option {arg}\n");
                        NatpmpcUsage.Write(stderr, argv0);
                        return 1;
                }
            }
            else
            {
                stderr.Write($"Unknown option {arg}\n");
                NatpmpcUsage.Write(stderr, argv0);
                return 1;
            }
        }
        return null;
    }

    /// <summary>
    /// <c>sscanf(s, "%hu"/"%u", &amp;v) == 1</c> with glibc: white space, an optional sign, decimal digits, anything
    /// after; the digits go through <c>strtoul</c> (64-bit: saturates at ULONG_MAX, a '-' negates modulo 2^64) and the
    /// caller keeps the low 16 or 32 bits.
    /// </summary>
    internal static bool ScanUnsigned(string s, out ulong value)
    {
        value = 0;
        int i = 0;
        while (i < s.Length && s[i] is ' ' or '\t' or '\n' or '\v' or '\f' or '\r')
        {
            i++;
        }
        bool negative = false;
        if (i < s.Length && s[i] is '+' or '-')
        {
            negative = s[i] == '-';
            i++;
        }
        int start = i;
        bool overflow = false;
        while (i < s.Length && s[i] is >= '0' and <= '9')
        {
            ulong digit = (ulong)(s[i] - '0');
            if (value > (ulong.MaxValue - digit) / 10)
            {
                overflow = true;
            }
            else if (!overflow)
            {
                value = value * 10 + digit;
            }
            i++;
        }
        if (i == start)
        {
            value = 0;
            return false;
        }
        value = overflow ? ulong.MaxValue : negative ? unchecked(0UL - value) : value;
        return true;
    }

    /// <summary>
    /// glibc <c>inet_addr</c> (<c>inet_aton</c>): one to four parts separated by '.', each decimal, octal (leading 0) or
    /// hexadecimal (0x), the last part filling the remaining bytes, then optionally white space; network byte order,
    /// <c>INADDR_NONE</c> (0xffffffff) when it is not an address.
    /// </summary>
    internal static uint InetAddr(string s)
    {
        const uint none = 0xffffffff;
        Span<uint> parts = stackalloc uint[4];
        int count = 0;
        int i = 0;
        while (true)
        {
            if (i >= s.Length || !char.IsAsciiDigit(s[i]))
            {
                return none;
            }
            uint radix = 10;
            if (s[i] == '0')
            {
                radix = 8;
                i++;
                if (i < s.Length && s[i] is 'x' or 'X')
                {
                    radix = 16;
                    i++;
                }
            }
            ulong part = 0;
            while (i < s.Length && DigitValue(s[i], radix) is int d and >= 0)
            {
                part = part * radix + (uint)d;
                if (part > uint.MaxValue)
                {
                    return none;
                }
                i++;
            }
            if (count == 4)
            {
                return none;
            }
            parts[count++] = (uint)part;
            if (i < s.Length && s[i] == '.')
            {
                if (count == 4)
                {
                    return none;
                }
                i++;
                continue;
            }
            break;
        }
        if (i < s.Length && s[i] is not (' ' or '\t' or '\n' or '\v' or '\f' or '\r'))
        {
            return none;
        }
        uint host = parts[count - 1];
        uint[] limits = [uint.MaxValue, 0xffffff, 0xffff, 0xff];
        if (host > limits[count - 1])
        {
            return none;
        }
        for (int p = 0; p < count - 1; p++)
        {
            if (parts[p] > 0xff)
            {
                return none;
            }
            host |= parts[p] << (24 - 8 * p);
        }
        // Network byte order as a native uint: the first byte of the address is the lowest byte in memory.
        return BitConverter.IsLittleEndian ? System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(host) : host;
    }

    private static int DigitValue(char c, uint radix) => radix switch
    {
        16 when char.IsAsciiHexDigit(c) => Convert.ToInt32(c.ToString(), 16),
        10 when char.IsAsciiDigit(c) => c - '0',
        8 when c is >= '0' and <= '7' => c - '0',
        _ => -1,
    };

    /// <summary><c>strcasecmp(s, lower) == 0</c> in the C locale: ASCII letters only fold.</summary>
    private static bool AsciiEqualsIgnoreCase(string s, string lower)
    {
        if (s.Length != lower.Length)
        {
            return false;
        }
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i] is >= 'A' and <= 'Z' ? (char)(s[i] + 32) : s[i];
            if (c != lower[i])
            {
                return false;
            }
        }
        return true;
    }
}
