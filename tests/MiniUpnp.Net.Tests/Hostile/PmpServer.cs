using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net.Tests.Hostile;

/// <summary>
/// A hostile NAT-PMP / PCP "gateway" on UDP port 5351 of a loopback address of its own (127.86.x.y: every cell has
/// one, so cells run side by side): it answers each request as its case says, from its own socket or from a second one
/// on another loopback address (127.86.x.(y+100), port 5351 too). A refusing case binds nothing on the gateway's address,
/// so the kernel answers ICMP port unreachable. Loopback only; the loop ends on dispose.
/// </summary>
internal sealed class PmpServer : IDisposable
{
    internal const int Port = 5351;

    private readonly Socket? _socket;
    private readonly Socket _other = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop = Task.CompletedTask;
    private readonly PmpCase _case;
    private int _received;

    internal PmpServer(PmpCase c, IPAddress address, IPAddress other)
    {
        _case = c;
        Address = address;
        _other.Bind(new IPEndPoint(other, Port));
        if (!c.Refuse)
        {
            _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            _socket.Bind(new IPEndPoint(address, Port));
            _loop = Task.Run(LoopAsync);
        }
    }

    internal IPAddress Address { get; }

    /// <summary>How many requests came in (retransmissions included).</summary>
    internal int Received => Volatile.Read(ref _received);

    /// <summary>Failures of the server itself (a send that threw): the table shows them.</summary>
    internal ConcurrentQueue<string> Errors { get; } = new();

    private async Task LoopAsync()
    {
        var buffer = new byte[2048];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket!.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }
                // An ICMP error for an earlier answer (the client's socket closed): not a request.
                continue;
            }
            int index = Interlocked.Increment(ref _received) - 1;
            var request = new PmpRequest(buffer.AsSpan(0, received.ReceivedBytes).ToArray(), index);
            _ = AnswerAsync(request, received.RemoteEndPoint);
        }
    }

    private async Task AnswerAsync(PmpRequest request, EndPoint client)
    {
        try
        {
            foreach (var reply in _case.Replies(request))
            {
                if (reply.Delay > TimeSpan.Zero)
                {
                    await Task.Delay(reply.Delay, _stop.Token);
                }
                await (reply.FromOther ? _other : _socket!).SendToAsync(reply.Bytes, SocketFlags.None, client, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // The cell ended first.
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset)
        {
            // The client's socket is gone (its call ended): nothing to tell.
        }
        catch (Exception e)
        {
            Errors.Enqueue($"{e.GetType().Name}: {e.Message}");
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket?.Dispose();
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
