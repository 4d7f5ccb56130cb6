using System;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Support;

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 that answers every GET with one fixed document, for tests that make
/// miniupnpc fetch a description without a router. Loopback only; stops on Dispose.
/// </summary>
internal sealed class LoopbackHttpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly byte[] _response;
    private readonly Task _loop;
    private int _requests;

    internal LoopbackHttpServer(string body, string contentType = "text/xml")
    {
        byte[] content = Encoding.UTF8.GetBytes(body);
        byte[] head = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 200 OK\r\nContent-Type: {contentType}\r\nContent-Length: {content.Length}\r\nConnection: close\r\n\r\n");
        _response = new byte[head.Length + content.Length];
        head.CopyTo(_response, 0);
        content.CopyTo(_response, head.Length);
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    internal int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    internal string Url(string path) => $"http://127.0.0.1:{Port}{path}";

    internal int Requests => Volatile.Read(ref _requests);

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            using (client)
            {
                try
                {
                    var stream = client.GetStream();
                    stream.ReadTimeout = 5000;
                    var buffer = new byte[8192];
                    int total = 0;
                    // Read the request head (bounded), then answer and close.
                    while (total < buffer.Length)
                    {
                        int n = await stream.ReadAsync(buffer.AsMemory(total), _stop.Token);
                        if (n == 0)
                        {
                            break;
                        }
                        total += n;
                        if (Encoding.ASCII.GetString(buffer, 0, total).Contains("\r\n\r\n", StringComparison.Ordinal))
                        {
                            break;
                        }
                    }
                    await stream.WriteAsync(_response, _stop.Token);
                    Interlocked.Increment(ref _requests);
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is System.IO.IOException or SocketException)
                {
                    // A client that went away: next one.
                }
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
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
