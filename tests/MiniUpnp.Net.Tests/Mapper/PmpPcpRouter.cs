using System;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Tests.Pcp;

namespace MiniUpnp.Net.Tests.Mapper;

/// <summary>
/// A router's UDP 5351 on a loopback address of its own (libnatpmp always talks to port 5351): it answers NAT-PMP
/// (version 0) and PCP (version 2) as <see cref="Speaks"/> says, with an epoch that counts from <see cref="Restart"/>,
/// and keeps the mappings it granted. A PCP request to a router that speaks NAT-PMP only gets NAT-PMP's "unsupported
/// version"; to one that speaks neither, silence (<see cref="Silent"/>) or nothing bound (ICMP port unreachable).
/// </summary>
internal sealed class PmpPcpRouter : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _startedAt = Environment.TickCount64;
    private uint _epochOffset = 1000;

    internal PmpPcpRouter(IPAddress address, bool pcp = true, bool natpmp = true)
    {
        Address = address;
        Pcp = pcp;
        Natpmp = natpmp;
        _socket.Bind(new IPEndPoint(address, NatpmpClient.ServerPort));
        _loop = Task.Run(ServeAsync);
    }

    internal IPAddress Address { get; }

    internal volatile bool Pcp;
    internal volatile bool Natpmp;

    /// <summary>Answer nothing at all (a router that lost its way, or a firewall that drops).</summary>
    internal volatile bool Silent;

    /// <summary>A result code to refuse every MAP with (PCP's and NAT-PMP's 2 is NOT_AUTHORIZED), or 0 to grant.</summary>
    internal volatile byte RefuseMapsWith;

    /// <summary>The longest lifetime it grants, in seconds (routers cap long ones).</summary>
    internal uint MaxLifetime { get; set; } = uint.MaxValue;

    /// <summary>The public address it reports.</summary>
    internal IPAddress PublicAddress { get; set; } = IPAddress.Parse("203.0.113.7");

    /// <summary>Mappings held: (protocol, internal port) → external port.</summary>
    internal ConcurrentDictionary<(int Protocol, int InternalPort), int> Mappings { get; } = new();

    internal int Requests;

    internal uint Epoch => _epochOffset + (uint)((Environment.TickCount64 - Interlocked.Read(ref _startedAt)) / 1000);

    /// <summary>A reboot: the mappings are gone and the epoch starts again from 0.</summary>
    internal void Restart()
    {
        Mappings.Clear();
        _epochOffset = 0;
        Interlocked.Exchange(ref _startedAt, Environment.TickCount64);
    }

    private async Task ServeAsync()
    {
        var buffer = new byte[1100];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            Interlocked.Increment(ref Requests);
            if (Silent)
            {
                continue;
            }
            var request = buffer.AsSpan(0, received.ReceivedBytes).ToArray();
            byte[]? answer = request.Length < 2 ? null
                : request[0] == 2 ? (Pcp ? AnswerPcp(request) : Natpmp ? UnsupportedVersion(request) : null)
                : request[0] == 0 && Natpmp ? AnswerNatpmp(request)
                : null;
            if (answer is not null)
            {
                await _socket.SendToAsync(answer, SocketFlags.None, received.RemoteEndPoint);
            }
        }
    }

    private byte[] UnsupportedVersion(byte[] request)
    {
        var reply = new byte[8];
        reply[1] = (byte)(request[1] | 0x80);
        reply[3] = 1; // unsupported version
        BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(4), Epoch);
        return reply;
    }

    private byte[]? AnswerPcp(byte[] request)
    {
        if (request.Length < 24)
        {
            return null;
        }
        if ((request[1] & 0x7F) != 1 || request.Length < 60) // opcode 1 is MAP; anything else is answered as ANNOUNCE
        {
            return PcpResponder.Answer(request, lifetime: 0, epoch: Epoch); // ANNOUNCE
        }
        int protocol = request[36], internalPort = BinaryPrimitives.ReadUInt16BigEndian(request.AsSpan(40));
        int suggested = BinaryPrimitives.ReadUInt16BigEndian(request.AsSpan(42));
        uint lifetime = Math.Min(BinaryPrimitives.ReadUInt32BigEndian(request.AsSpan(4)), MaxLifetime);
        if (RefuseMapsWith != 0)
        {
            return PcpResponder.Answer(request, result: RefuseMapsWith, lifetime: 0, epoch: Epoch, externalPort: 0, externalAddress: "0.0.0.0");
        }
        int external = Map(protocol, internalPort, suggested, lifetime);
        return PcpResponder.Answer(request, lifetime: lifetime, epoch: Epoch, externalPort: lifetime == 0 ? suggested : external,
            externalAddress: PublicAddress.ToString());
    }

    private byte[]? AnswerNatpmp(byte[] request)
    {
        byte opcode = request[1];
        if (opcode == 0)
        {
            var reply = new byte[12];
            reply[1] = 128;
            BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(4), Epoch);
            PublicAddress.GetAddressBytes().CopyTo(reply, 8);
            return reply;
        }
        if (opcode is not (1 or 2) || request.Length < 12)
        {
            return null;
        }
        int internalPort = BinaryPrimitives.ReadUInt16BigEndian(request.AsSpan(4));
        int suggested = BinaryPrimitives.ReadUInt16BigEndian(request.AsSpan(6));
        uint lifetime = Math.Min(BinaryPrimitives.ReadUInt32BigEndian(request.AsSpan(8)), MaxLifetime);
        var answer = new byte[16];
        answer[1] = (byte)(128 + opcode);
        if (RefuseMapsWith != 0)
        {
            answer[3] = RefuseMapsWith;
            BinaryPrimitives.WriteUInt32BigEndian(answer.AsSpan(4), Epoch);
            BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(8), (ushort)internalPort);
            return answer;
        }
        int external = Map(opcode == 1 ? 17 : 6, internalPort, suggested, lifetime);
        BinaryPrimitives.WriteUInt32BigEndian(answer.AsSpan(4), Epoch);
        BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(8), (ushort)internalPort);
        BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(10), (ushort)(lifetime == 0 ? 0 : external));
        BinaryPrimitives.WriteUInt32BigEndian(answer.AsSpan(12), lifetime);
        return answer;
    }

    private int Map(int protocol, int internalPort, int suggested, uint lifetime)
    {
        if (lifetime == 0)
        {
            Mappings.TryRemove((protocol, internalPort), out _);
            return 0;
        }
        return Mappings.GetOrAdd((protocol, internalPort), suggested == 0 ? internalPort : suggested);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
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
