using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net.Tests.Pcp;

/// <summary>
/// A small PCP server on 127.0.0.1 (a port of its own) for the client's tests: it records every request and answers
/// each with what <c>answer</c> returns for it (nothing, one datagram or several, each from its own socket or from a
/// second socket on 127.0.0.2, another sender).
/// </summary>
internal sealed class PcpResponder : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Socket _other = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Func<byte[], int, IEnumerable<Reply>> _answer;

    /// <summary>One datagram to send back; <paramref name="FromOtherAddress"/>: from 127.0.0.2 instead of the server.</summary>
    internal readonly record struct Reply(byte[] Bytes, bool FromOtherAddress = false);

    internal PcpResponder(Func<byte[], int, IEnumerable<Reply>> answer)
    {
        _answer = answer;
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _other.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
        _loop = Task.Run(LoopAsync);
    }

    internal IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>Every request received, in order.</summary>
    internal ConcurrentQueue<byte[]> Requests { get; } = new();

    /// <summary>A client of this responder with short bounds.</summary>
    internal PcpClient Client(double timeoutMs = 2000, double retransmitMs = 100) => new(IPAddress.Loopback)
    {
        Port = EndPoint.Port,
        OperationTimeout = TimeSpan.FromMilliseconds(timeoutMs),
        InitialRetransmissionInterval = TimeSpan.FromMilliseconds(retransmitMs),
    };

    private async Task LoopAsync()
    {
        var buffer = new byte[2048];
        int index = 0;
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }
                continue;
            }
            var request = buffer.AsSpan(0, received.ReceivedBytes).ToArray();
            Requests.Enqueue(request);
            foreach (var reply in _answer(request, index++))
            {
                await (reply.FromOtherAddress ? _other : _socket).SendToAsync(reply.Bytes, SocketFlags.None, received.RemoteEndPoint);
            }
        }
    }

    /// <summary>The answer a PCP server gives to <paramref name="request"/>: the request's MAP part copied (nonce,
    /// protocol, internal port), the external port and address assigned, the given result, lifetime and epoch.</summary>
    internal static byte[] Answer(byte[] request, byte result = 0, uint? lifetime = null, uint epoch = 1000, int externalPort = 40000,
        string externalAddress = "100.64.0.1", int length = 0)
    {
        var reply = new byte[Math.Max(length, request.Length)];
        request.AsSpan(0, Math.Min(request.Length, reply.Length)).CopyTo(reply);
        reply[1] |= 0x80;
        reply[2] = 0;
        reply[3] = result;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(4), lifetime ?? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(request.AsSpan(4)));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(8), epoch);
        reply.AsSpan(12, 12).Clear();
        if (request.Length >= 60)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(42), (ushort)externalPort);
            PcpMessage.WriteAddress(reply.AsSpan(44), IPAddress.Parse(externalAddress));
        }
        return reply;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        _other.Dispose();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
    }
}
