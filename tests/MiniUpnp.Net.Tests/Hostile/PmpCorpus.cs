using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Net;
using MiniUpnp.Net.Tests.Pcp;

namespace MiniUpnp.Net.Tests.Hostile;

/// <summary>Which protocol a request to UDP 5351 speaks (its first byte: 0 NAT-PMP, 2 PCP).</summary>
internal enum PmpProtocol
{
    Natpmp,
    Pcp,
}

/// <summary>One request the hostile server received: its bytes and its index among the requests of the cell.</summary>
internal sealed record PmpRequest(byte[] Bytes, int Index)
{
    internal PmpProtocol Protocol => Bytes.Length > 0 && Bytes[0] == PcpMessage.Version ? PmpProtocol.Pcp : PmpProtocol.Natpmp;

    /// <summary>True for a mapping request (NAT-PMP opcode 1 or 2, PCP MAP), false for a public address request or ANNOUNCE.</summary>
    internal bool IsMapping => Bytes.Length > 1 && Bytes[1] != 0;
}

/// <summary>One datagram the hostile server sends back, after <see cref="Delay"/>; <see cref="FromOther"/>: from another
/// loopback address (port 5351 too) than the gateway's.</summary>
internal sealed record PmpReply(byte[] Bytes, TimeSpan Delay = default, bool FromOther = false);

/// <summary>
/// One hostile NAT-PMP / PCP server behaviour, and what each family of members must make of it (see
/// <see cref="PmpMember.Family"/> and the outcome strings of <see cref="PmpOutcomes"/>).
/// </summary>
internal sealed class PmpCase
{
    internal PmpCase(string name, string what, Func<PmpRequest, IReadOnlyList<PmpReply>> replies)
    {
        Name = name;
        What = what;
        Replies = replies;
    }

    internal string Name { get; }
    internal string What { get; }

    /// <summary>The datagrams sent back to one request.</summary>
    internal Func<PmpRequest, IReadOnlyList<PmpReply>> Replies { get; }

    /// <summary>Nothing listens on the gateway's address: the kernel answers ICMP port unreachable.</summary>
    internal bool Refuse { get; init; }

    /// <summary>The member makes this many calls on one client (the epoch and stale-datagram cases: 2).</summary>
    internal int Calls { get; init; } = 1;

    /// <summary>Only mapping members are relevant (the case changes what only a mapping answer carries).</summary>
    internal bool MappingOnly { get; init; }

    /// <summary>The expected outcome for a member (one of <see cref="PmpOutcomes"/>' strings).</summary>
    internal required Func<PmpMember, string> Expect { get; init; }

    public override string ToString() => Name;
}

/// <summary>The answers the hostile server builds: valid ones, and the marked ones hostile cases send instead.</summary>
internal static class PmpAnswers
{
    internal static readonly IPAddress PublicAddress = IPAddress.Parse("100.64.0.1");
    internal const int ExternalPort = 40000;
    internal const uint Epoch = 1000;

    /// <summary>What a hostile datagram carries where a valid answer carries <see cref="PublicAddress"/> and
    /// <see cref="ExternalPort"/>: a value taken from it shows which datagram was read.</summary>
    internal static readonly IPAddress MarkedAddress = IPAddress.Parse("100.64.0.99");
    internal const int MarkedPort = 40001;

    /// <summary>The valid answer to <paramref name="request"/>, with the fields given changed.</summary>
    internal static byte[] Valid(PmpRequest request, ushort result = 0, uint? lifetime = null, uint epoch = Epoch, bool marked = false,
        int? opcode = null, int length = 0)
    {
        var r = request.Bytes;
        if (request.Protocol == PmpProtocol.Pcp)
        {
            var reply = PcpResponder.Answer(r, (byte)result, lifetime, epoch, marked ? MarkedPort : ExternalPort,
                (marked ? MarkedAddress : PublicAddress).ToString(), length);
            if (opcode is { } op)
            {
                reply[1] = (byte)(0x80 | op);
            }
            return reply;
        }
        int code = opcode ?? (r.Length > 1 ? r[1] : 0);
        byte[] answer;
        if (code == 0)
        {
            // RFC 6886 §3.2: version, 128, result, epoch, public address.
            answer = new byte[Math.Max(12, length)];
            (marked ? MarkedAddress : PublicAddress).GetAddressBytes().CopyTo(answer, 8);
        }
        else
        {
            // §3.3: version, 128 + opcode, result, epoch, internal port, mapped port, lifetime.
            answer = new byte[Math.Max(16, length)];
            answer[8] = r.Length >= 6 ? r[4] : (byte)0x0F;
            answer[9] = r.Length >= 6 ? r[5] : (byte)0xA0;
            BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(10), (ushort)(marked ? MarkedPort : ExternalPort));
            BinaryPrimitives.WriteUInt32BigEndian(answer.AsSpan(12), lifetime ?? (r.Length >= 12 ? BinaryPrimitives.ReadUInt32BigEndian(r.AsSpan(8)) : 3600));
        }
        answer[1] = (byte)(0x80 | code);
        BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(2), result);
        BinaryPrimitives.WriteUInt32BigEndian(answer.AsSpan(4), epoch);
        return answer;
    }

    /// <summary>The opcode of the other request of the same protocol (public address ↔ UDP mapping, ANNOUNCE ↔ MAP).</summary>
    internal static int OtherOpcode(PmpRequest request) => request.IsMapping ? 0 : 1;

    /// <summary>Deterministic garbage: even datagrams start with a version that is neither NAT-PMP's nor PCP's (3–252),
    /// odd ones with version 0 and an opcode without the response bit; lengths 1–300, the first at least 8.</summary>
    internal static IReadOnlyList<byte[]> Garbage(int count, int seed)
    {
        var random = new Random(seed);
        var list = new List<byte[]>(count);
        for (int i = 0; i < count; i++)
        {
            var bytes = new byte[i == 0 ? 8 + random.Next(200) : 1 + random.Next(300)];
            random.NextBytes(bytes);
            if (i % 2 == 0)
            {
                bytes[0] = (byte)(3 + random.Next(250));
            }
            else
            {
                bytes[0] = 0;
                if (bytes.Length > 1)
                {
                    bytes[1] = (byte)random.Next(0x80);
                }
            }
            list.Add(bytes);
        }
        return list;
    }

    internal static IReadOnlyList<PmpReply> One(byte[] bytes) => new[] { new PmpReply(bytes) };

    /// <summary>A hostile datagram, then (after <paramref name="gap"/>) the valid answer: a member that ignores the first
    /// takes the second.</summary>
    internal static IReadOnlyList<PmpReply> ThenValid(PmpRequest request, byte[] hostile, bool fromOther = false, int gapMs = 30) =>
        new[] { new PmpReply(hostile, FromOther: fromOther), new PmpReply(Valid(request), TimeSpan.FromMilliseconds(gapMs)) };
}

/// <summary>
/// What a cell ends with, as the table shows it. "value": the valid answer's content; "value(hostile)": content read
/// from the hostile datagram (its marked address or port); "value lost": with the epoch showing state loss; "natpmp N":
/// <see cref="NatpmpException"/> (or the C names' return code) N; "pcp Name": <see cref="PcpException"/>; "timeout";
/// "canceled"; "disposed".
/// </summary>
internal static class PmpOutcomes
{
    internal const string Value = "value";
    internal const string Hostile = "value(hostile)";
    internal const string Lost = "value lost";
    internal const string Timeout = "timeout";

    internal static string Natpmp(int code) => $"natpmp {code}";

    internal static string Pcp(PcpResultCode code) => $"pcp {code}";
}

/// <summary>The NAT-PMP / PCP corpus: every way a server on UDP 5351 can answer badly, or not at all.</summary>
internal static class PmpCorpus
{
    private static Func<PmpMember, string> Same(string outcome) => _ => outcome;

    /// <summary>By family: PCP (P), NatpmpClient (N), the NATPMP port (F) and the C names (C), F and C both libnatpmp's.</summary>
    private static Func<PmpMember, string> By(string pcp, string net, string libnatpmp, string? port = null) => m => m.Family switch
    {
        'P' => pcp,
        'N' => net,
        'F' => port ?? libnatpmp,
        _ => libnatpmp,
    };

    internal static IReadOnlyList<PmpCase> All { get; } = Build();

    private static List<PmpCase> Build()
    {
        var cases = new List<PmpCase>
        {
            new("valid", "a valid answer (the baseline)", r => PmpAnswers.One(PmpAnswers.Valid(r))) { Expect = Same(PmpOutcomes.Value) },

            new("short-3", "3 bytes, then the valid answer",
                r => PmpAnswers.ThenValid(r, PmpAnswers.Valid(r)[..3])) { Expect = Same(PmpOutcomes.Value) },

            // NAT-PMP: a success cut after the header (8 bytes); PCP: cut inside the common header (23 bytes).
            new("short-header", "a success cut short (NAT-PMP: the 8-byte header; PCP: 23 bytes), then the valid answer",
                r => PmpAnswers.ThenValid(r, PmpAnswers.Valid(r, marked: true)[..(r.Protocol == PmpProtocol.Pcp ? 23 : 8)]))
                { Expect = Same(PmpOutcomes.Value) },

            // libnatpmp reads 16 bytes of any datagram: the first 16 of a 1200-byte one are a complete answer.
            new("oversized", "a 1200-byte answer (marked), then the valid answer",
                r => PmpAnswers.ThenValid(r, PmpAnswers.Valid(r, marked: true, length: 1200)))
                { Expect = By(pcp: PmpOutcomes.Value, net: PmpOutcomes.Hostile, libnatpmp: PmpOutcomes.Hostile) },

            new("wrong-version", "the answer with version 7 (marked), then the valid answer",
                r => PmpAnswers.ThenValid(r, With(PmpAnswers.Valid(r, marked: true), 0, 7)))
                { Expect = By(PmpOutcomes.Value, PmpOutcomes.Value, PmpOutcomes.Natpmp(-14)) },

            // RFC 6887 §9: a NAT-PMP-only server answers a PCP request with NAT-PMP's UNSUPP_VERSION (version 0, result 1).
            new("natpmp-only-server", "PCP requests get NAT-PMP's UNSUPP_VERSION; NAT-PMP requests are answered",
                r => PmpAnswers.One(r.Protocol == PmpProtocol.Pcp
                    ? new byte[] { 0, (byte)(0x80 | r.Bytes[1]), 0, 1, 0, 0, 0x03, 0xE8 }
                    : PmpAnswers.Valid(r)))
                { Expect = By(PmpOutcomes.Pcp(PcpResultCode.UnsuppVersion), PmpOutcomes.Value, PmpOutcomes.Value) },

            // The request echoed: no response bit. libnatpmp ignores a 2-byte echo (too short) and errors on a 12-byte one.
            new("request-echo", "the request sent back (opcode without the response bit), then the valid answer",
                r => PmpAnswers.ThenValid(r, (byte[])r.Bytes.Clone()))
                { Expect = m => m.Family is 'F' or 'C' && m.Mapping ? PmpOutcomes.Natpmp(-15) : PmpOutcomes.Value },

            new("other-opcode-success", "a success answering the other request (marked), then the valid answer",
                r => PmpAnswers.ThenValid(r, PmpAnswers.Valid(r, marked: true, opcode: PmpAnswers.OtherOpcode(r))))
                { Expect = Same(PmpOutcomes.Value) },

            // libnatpmp checks the result code before the opcode: another request's error is taken as this one's.
            new("other-opcode-error", "NOT_AUTHORIZED answering the other request, then the valid answer",
                r => PmpAnswers.ThenValid(r, PmpAnswers.Valid(r, result: 2, opcode: PmpAnswers.OtherOpcode(r))))
                { Expect = By(PmpOutcomes.Value, PmpOutcomes.Value, PmpOutcomes.Natpmp(-51)) },

            new("error-unknown-code", "an error answer with result code 99",
                r => PmpAnswers.One(PmpAnswers.Valid(r, result: 99)))
                { Expect = By(PmpOutcomes.Pcp((PcpResultCode)99), PmpOutcomes.Natpmp(-49), PmpOutcomes.Natpmp(-49)) },

            // PCP: another nonce; NAT-PMP: another internal port (what identifies the mapping in each).
            new("wrong-mapping", "a MAP answer with another nonce (PCP) / a mapping answer for another internal port (NAT-PMP), marked, then the valid answer",
                r => PmpAnswers.ThenValid(r, OtherMapping(r)))
                { MappingOnly = true, Expect = Same(PmpOutcomes.Value) },

            new("wrong-mapping-error", "NOT_AUTHORIZED for another nonce (PCP) / another internal port (NAT-PMP), then the valid answer",
                r => PmpAnswers.ThenValid(r, OtherMapping(r, result: 2)))
                { MappingOnly = true, Expect = By(PmpOutcomes.Value, PmpOutcomes.Value, PmpOutcomes.Natpmp(-51)) },

            new("epoch-back", "two calls: epoch 5000, then 10 (the server lost its state)",
                r => PmpAnswers.One(PmpAnswers.Valid(r, epoch: r.Index == 0 ? 5000u : 10u)))
                { Calls = 2, Expect = By(PmpOutcomes.Lost, PmpOutcomes.Lost, "value epoch-back", port: PmpOutcomes.Value) },

            new("lifetime-zero", "a mapping success with lifetime 0, then the valid answer",
                r => PmpAnswers.ThenValid(r, PmpAnswers.Valid(r, lifetime: 0)))
                { MappingOnly = true, Expect = By(PmpOutcomes.Value, PmpOutcomes.Natpmp(-15), "value lifetime 0", port: PmpOutcomes.Value) },

            new("lifetime-huge", "a mapping success with lifetime 0xFFFFFFFF",
                r => PmpAnswers.One(PmpAnswers.Valid(r, lifetime: uint.MaxValue)))
                { MappingOnly = true, Expect = By("value capped", "value capped", "value lifetime 4294967295", port: PmpOutcomes.Value) },

            new("silent", "receives every request and never answers", _ => Array.Empty<PmpReply>()) { Expect = Same(PmpOutcomes.Timeout) },

            new("garbage-drip", "12 garbage datagrams 30 ms apart, then the valid answer",
                r =>
                {
                    var list = new List<PmpReply>();
                    foreach (var g in PmpAnswers.Garbage(12, 86 + r.Index))
                    {
                        list.Add(new PmpReply(g, TimeSpan.FromMilliseconds(30)));
                    }
                    list.Add(new PmpReply(PmpAnswers.Valid(r), TimeSpan.FromMilliseconds(30)));
                    return list;
                })
                { Expect = By(PmpOutcomes.Value, PmpOutcomes.Value, PmpOutcomes.Natpmp(-14)) },

            new("other-sender", "the answer (marked) from another loopback address to the client's port, then the valid answer",
                r => PmpAnswers.ThenValid(r, PmpAnswers.Valid(r, marked: true), fromOther: true)) { Expect = Same(PmpOutcomes.Value) },

            new("other-sender-error", "NOT_AUTHORIZED from another loopback address, then the valid answer",
                r => PmpAnswers.ThenValid(r, PmpAnswers.Valid(r, result: 2), fromOther: true)) { Expect = Same(PmpOutcomes.Value) },

            // RFC 6887 §8.1.1 retransmits through ICMP errors: PcpClient waits out its timeout (its message names the ICMP).
            new("port-unreachable", "nothing listens on the gateway's port 5351 (ICMP port unreachable)", _ => Array.Empty<PmpReply>())
                { Refuse = true, Expect = By(PmpOutcomes.Timeout, PmpOutcomes.Natpmp(-7), PmpOutcomes.Natpmp(-7)) },

            // A second answer queued after the first call's: the second call must not read it as its own.
            new("stale-error", "two calls: the first is answered, then NOT_AUTHORIZED for the same request at once; the second is answered",
                r => r.Index == 0
                    ? new[] { new PmpReply(PmpAnswers.Valid(r)), new PmpReply(PmpAnswers.Valid(r, result: 2)) }
                    : PmpAnswers.One(PmpAnswers.Valid(r)))
                { Calls = 2, Expect = By(PmpOutcomes.Value, PmpOutcomes.Value, PmpOutcomes.Natpmp(-51), port: PmpOutcomes.Value) },

            new("stale-success", "two calls: the first is answered twice (the second marked); the second is answered",
                r => r.Index == 0
                    ? new[] { new PmpReply(PmpAnswers.Valid(r)), new PmpReply(PmpAnswers.Valid(r, marked: true)) }
                    : PmpAnswers.One(PmpAnswers.Valid(r)))
                { Calls = 2, Expect = By(PmpOutcomes.Value, PmpOutcomes.Value, PmpOutcomes.Hostile, port: PmpOutcomes.Value) },
        };
        return cases;
    }

    private static byte[] With(byte[] bytes, int index, byte value)
    {
        bytes[index] = value;
        return bytes;
    }

    private static byte[] OtherMapping(PmpRequest r, ushort result = 0)
    {
        var answer = PmpAnswers.Valid(r, result: result, marked: true);
        if (r.Protocol == PmpProtocol.Pcp)
        {
            answer[24] ^= 0xFF; // the nonce's first byte
        }
        else
        {
            answer[9] ^= 0x01; // the internal port
        }
        return answer;
    }
}
