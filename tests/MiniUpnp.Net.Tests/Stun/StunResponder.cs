using System;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net.Tests.Stun;

/// <summary>
/// A small STUN server for the client's tests, on loopback addresses in 127.85.0.0/16 only: four sockets, the primary
/// address and an alternate one, each on a primary and an alternate port, as RFC 5780 §7 asks of a server. By default it
/// answers every Binding request as an RFC 5780 server does (XOR-MAPPED-ADDRESS, MAPPED-ADDRESS, OTHER-ADDRESS,
/// RESPONSE-ORIGIN, SOFTWARE; CHANGE-REQUEST honoured by answering from the socket asked for). It can instead answer as a
/// plain RFC 8489 server (no OTHER-ADDRESS, CHANGE-REQUEST ignored), play a NAT (<see cref="MappedAs"/>: the address it
/// reports per socket; <see cref="Filter"/>: answers a NAT would drop), or answer with whatever a test's function returns.
/// </summary>
internal sealed class StunResponder : IDisposable
{
    private const ushort ChangeRequestAttribute = 0x0003;

    private readonly Socket[] _sockets;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _loops;
    private readonly Func<Received, IEnumerable<Reply>>? _answer;
    private int _index = -1;

    /// <summary>One datagram received: its bytes, the socket it came to, its sender, its place in the order of arrival.</summary>
    internal readonly record struct Received(byte[] Bytes, IPEndPoint At, IPEndPoint From, int Index);

    /// <summary>One datagram to send back, from <paramref name="From"/> (one of the four sockets; null: the one the request
    /// came to).</summary>
    internal readonly record struct Reply(byte[] Bytes, IPEndPoint? From = null);

    /// <param name="primary">The primary address (127.85.x.y).</param>
    /// <param name="alternate">The alternate address (127.85.x.y), another one.</param>
    /// <param name="rfc5780">False: a plain server, without OTHER-ADDRESS and ignoring CHANGE-REQUEST.</param>
    /// <param name="answer">What to answer instead of the standard answer (nothing: silence).</param>
    internal StunResponder(string primary = "127.85.0.1", string alternate = "127.85.0.2", bool rfc5780 = true,
        Func<Received, IEnumerable<Reply>>? answer = null)
    {
        Rfc5780 = rfc5780;
        _answer = answer;
        _sockets = BindFour(IPAddress.Parse(primary), IPAddress.Parse(alternate));
        _loops = _sockets.Select(s => Task.Run(() => LoopAsync(s))).ToArray();
    }

    internal bool Rfc5780 { get; }

    /// <summary>The primary address and port (A1:P1), where clients send.</summary>
    internal IPEndPoint Primary => Local(0);

    /// <summary>A1:P2.</summary>
    internal IPEndPoint AlternatePort => Local(1);

    /// <summary>A2:P1.</summary>
    internal IPEndPoint AlternateAddress => Local(2);

    /// <summary>A2:P2: what OTHER-ADDRESS names in answers from the primary.</summary>
    internal IPEndPoint Alternate => Local(3);

    /// <summary>The mapped address reported for a request that came to <c>at</c> from <c>client</c> (a NAT's mapping);
    /// default: the client itself (no NAT).</summary>
    internal Func<IPEndPoint, IPEndPoint, IPEndPoint> MappedAs { get; init; } = (_, client) => client;

    /// <summary>False for an answer a NAT in front of the client would drop, given the socket it comes from.</summary>
    internal Func<IPEndPoint, bool> Filter { get; init; } = _ => true;

    /// <summary>Every datagram received, in order.</summary>
    internal ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>A client bound to 127.85.0.10 with short bounds.</summary>
    internal static StunClient Client(double timeoutMs = 2000, double retransmitMs = 100, int maxRequests = 7) => new()
    {
        LocalEndPoint = new IPEndPoint(IPAddress.Parse("127.85.0.10"), 0),
        OperationTimeout = TimeSpan.FromMilliseconds(timeoutMs),
        InitialRetransmissionInterval = TimeSpan.FromMilliseconds(retransmitMs),
        MaxRequests = maxRequests,
    };

    /// <summary>The standard answer to <paramref name="request"/>: from the socket CHANGE-REQUEST asks for (RFC 5780
    /// mode), with the mapped address, OTHER-ADDRESS (the socket differing from the receiving one in both address and
    /// port) and RESPONSE-ORIGIN.</summary>
    internal Reply Standard(Received request)
    {
        uint change = Rfc5780 ? ChangeFlags(request.Bytes) : 0;
        int at = Array.FindIndex(_sockets, s => Local(s).Equals(request.At));
        int from = at ^ ((change & 0x04) != 0 ? 2 : 0) ^ ((change & 0x02) != 0 ? 1 : 0);
        var mapped = MappedAs(request.At, request.From);
        var bytes = Rfc5780
            ? Success(request.Bytes, mapped, other: Local(at ^ 3), origin: Local(from))
            : Success(request.Bytes, mapped);
        return new Reply(bytes, Local(from));
    }

    /// <summary>A Binding success response to <paramref name="request"/> (its transaction id) with the given attributes,
    /// in the usual order; <paramref name="plainMapped"/> for MAPPED-ADDRESS when it differs (an ALG's rewrite).</summary>
    internal static byte[] Success(byte[] request, IPEndPoint? mapped, IPEndPoint? other = null, IPEndPoint? origin = null,
        bool xor = true, bool plain = true, IPEndPoint? plainMapped = null, string? software = "MiniUpnp.Net test StunResponder",
        ushort otherType = 0x802C)
    {
        var attributes = new List<byte[]>();
        if (plain && (plainMapped ?? mapped) is { } p)
        {
            attributes.Add(AddressAttribute(0x0001, p, request, false));
        }
        if (xor && mapped is not null)
        {
            attributes.Add(AddressAttribute(0x0020, mapped, request, true));
        }
        if (other is not null)
        {
            attributes.Add(AddressAttribute(otherType, other, request, false));
        }
        if (origin is not null)
        {
            attributes.Add(AddressAttribute(0x802B, origin, request, false));
        }
        if (software is not null)
        {
            attributes.Add(Attribute(0x8022, Encoding.UTF8.GetBytes(software)));
        }
        return Message(0x0101, request, attributes.ToArray());
    }

    /// <summary>A Binding error response (RFC 8489 §14.8: class and number, reason phrase).</summary>
    internal static byte[] Error(byte[] request, int code, string reason)
    {
        var reasonBytes = Encoding.UTF8.GetBytes(reason);
        var value = new byte[4 + reasonBytes.Length];
        value[2] = (byte)(code / 100);
        value[3] = (byte)(code % 100);
        reasonBytes.CopyTo(value, 4);
        return Message(0x0111, request, Attribute(0x0009, value));
    }

    /// <summary>A message of <paramref name="type"/> with the request's cookie and transaction id and these attributes.</summary>
    internal static byte[] Message(ushort type, byte[] request, params byte[][] attributes)
    {
        int length = attributes.Sum(a => a.Length);
        var message = new byte[20 + length];
        BinaryPrimitives.WriteUInt16BigEndian(message, type);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), (ushort)length);
        request.AsSpan(4, 16).CopyTo(message.AsSpan(4));
        int position = 20;
        foreach (var attribute in attributes)
        {
            attribute.CopyTo(message, position);
            position += attribute.Length;
        }
        return message;
    }

    /// <summary>A TLV, its value padded to 4 bytes (the length field says the unpadded length).</summary>
    internal static byte[] Attribute(ushort type, byte[] value)
    {
        var attribute = new byte[4 + ((value.Length + 3) & ~3)];
        BinaryPrimitives.WriteUInt16BigEndian(attribute, type);
        BinaryPrimitives.WriteUInt16BigEndian(attribute.AsSpan(2), (ushort)value.Length);
        value.CopyTo(attribute, 4);
        return attribute;
    }

    /// <summary>A (XOR-)MAPPED-ADDRESS-shaped attribute.</summary>
    internal static byte[] AddressAttribute(ushort type, IPEndPoint endPoint, byte[] request, bool xor)
    {
        var address = endPoint.Address.GetAddressBytes();
        int port = endPoint.Port;
        if (xor)
        {
            port ^= 0x2112;
            for (int i = 0; i < address.Length; i++)
            {
                address[i] ^= request[4 + i];
            }
        }
        var value = new byte[4 + address.Length];
        value[1] = (byte)(address.Length == 4 ? 1 : 2);
        BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(2), (ushort)port);
        address.CopyTo(value, 4);
        return Attribute(type, value);
    }

    /// <summary>The CHANGE-REQUEST flags of a request (0 when it has none).</summary>
    internal static uint ChangeFlags(byte[] request)
    {
        int end = Math.Min(request.Length, 20 + BinaryPrimitives.ReadUInt16BigEndian(request.AsSpan(2)));
        for (int position = 20; position + 4 <= end;)
        {
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(request.AsSpan(position));
            int length = BinaryPrimitives.ReadUInt16BigEndian(request.AsSpan(position + 2));
            if (type == ChangeRequestAttribute && length == 4 && position + 8 <= end)
            {
                return BinaryPrimitives.ReadUInt32BigEndian(request.AsSpan(position + 4));
            }
            position += 4 + ((length + 3) & ~3);
        }
        return 0;
    }

    /// <summary>The transaction id of a request.</summary>
    internal static byte[] TransactionId(byte[] request) => request.AsSpan(8, 12).ToArray();

    private IPEndPoint Local(int index) => Local(_sockets[index]);

    private static IPEndPoint Local(Socket socket) => (IPEndPoint)socket.LocalEndPoint!;

    /// <summary>A1:P1, A1:P2, A2:P1, A2:P2: two ports free on both addresses (bounded attempts).</summary>
    private static Socket[] BindFour(IPAddress primary, IPAddress alternate)
    {
        for (int attempt = 0; attempt < 20; attempt++)
        {
            var sockets = new List<Socket>();
            try
            {
                foreach (var _ in new[] { 0, 1 })
                {
                    var first = Udp();
                    sockets.Add(first);
                    first.Bind(new IPEndPoint(primary, 0));
                    var second = Udp();
                    sockets.Add(second);
                    second.Bind(new IPEndPoint(alternate, Local(first).Port));
                }
                // Order as A1P1, A1P2, A2P1, A2P2 (bit 1: address, bit 0: port).
                return [sockets[0], sockets[2], sockets[1], sockets[3]];
            }
            catch (SocketException)
            {
                sockets.ForEach(s => s.Dispose());
            }
        }
        throw new InvalidOperationException("No two UDP ports free on both loopback addresses after 20 attempts.");
    }

    private static Socket Udp() => new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

    private async Task LoopAsync(Socket socket)
    {
        var buffer = new byte[2048];
        var at = Local(socket);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }
                continue;
            }
            var request = new Received(buffer.AsSpan(0, received.ReceivedBytes).ToArray(), at, (IPEndPoint)received.RemoteEndPoint,
                Interlocked.Increment(ref _index));
            Requests.Enqueue(request);
            if (_answer is null && (request.Bytes.Length < 20 || request.Bytes[0] != 0 || request.Bytes[1] != 1))
            {
                continue;
            }
            foreach (var reply in _answer?.Invoke(request) ?? [Standard(request)])
            {
                var from = reply.From ?? at;
                if (!Filter(from))
                {
                    continue;
                }
                var sender = _sockets.Single(s => Local(s).Equals(from));
                try
                {
                    await sender.SendToAsync(reply.Bytes, SocketFlags.None, received.RemoteEndPoint);
                }
                catch (Exception e) when (e is ObjectDisposedException or SocketException)
                {
                    // The test ended or the client's socket is gone: nothing to answer.
                }
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }
        try
        {
            Task.WaitAll(_loops, TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
    }
}
