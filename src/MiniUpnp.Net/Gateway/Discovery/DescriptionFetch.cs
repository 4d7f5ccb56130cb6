using System;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;

namespace MiniUpnp.Net;

/// <summary>
/// Fetches a root description in managed code, with a size cap and a deadline, for miniupnpc's own parser
/// (<c>parserootdesc</c> + <c>GetUPNPUrls</c>, exactly what <c>UPNP_GetIGDFromUrl</c> runs after its fetch).
/// </summary>
/// <remarks>
/// miniupnpc's <c>miniwget</c> has neither bound: a body grows without limit, a <c>Content-Length</c> of 2 GB is
/// reserved up front (a <c>realloc</c> to that size), and its 5 s receive timeout restarts on every byte, so a router
/// that drips its description holds the fetch for as long as it drips. Here the whole exchange (connect, request,
/// answer) ends by <c>timeout</c>, and at most <see cref="MaxHeaderBytes"/> + <see cref="MaxBodyBytes"/> bytes are
/// read. Blocking: it runs on a native-call thread like the rest of a probe.
/// </remarks>
internal static class DescriptionFetch
{
    /// <summary>The largest description accepted (256 KiB; miniupnpd's is about 4 KiB, the largest seen in the wild tens of KiB).</summary>
    internal const int MaxBodyBytes = 256 * 1024;

    /// <summary>The largest HTTP header block accepted.</summary>
    internal const int MaxHeaderBytes = 16 * 1024;

    /// <summary>The deadline of a fetch whose caller gives none (a discovery's probes).</summary>
    internal static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The body and our address on the connection, or why there is none.</summary>
    internal sealed record Result(byte[]? Body, IPAddress? LocalAddress, string? Failure);

    internal static Result Fetch(Uri url, TimeSpan timeout)
    {
        var deadline = new Deadline(timeout);
        try
        {
            return FetchCore(url, deadline);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException
            or SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock })
        {
            // The deadline (ours, the name resolution's token, or a socket timeout set from it) ran out.
            return new Result(null, null, $"no complete answer within {timeout.TotalMilliseconds:0} ms");
        }
        catch (SocketException e)
        {
            return new Result(null, null, e.Message);
        }
        catch (ObjectDisposedException e)
        {
            return new Result(null, null, e.Message);
        }
    }

    /// <summary>
    /// The end of the whole exchange. The fetch runs on a native-call thread with plain blocking sockets, each wait
    /// bounded by what is left (poll for the connect, SO_RCVTIMEO / SO_SNDTIMEO for the rest): no asynchronous socket
    /// machinery, whose thread hops and first-use costs are most of a fetch from a router on the LAN.
    /// </summary>
    private readonly struct Deadline
    {
        private readonly long _end;

        internal Deadline(TimeSpan timeout) => _end = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);

        /// <summary>Milliseconds left (at least 1); <see cref="TimeoutException"/> when none are.</summary>
        internal int LeftMs()
        {
            double left = (_end - Stopwatch.GetTimestamp()) * 1000.0 / Stopwatch.Frequency;
            return left < 1 ? throw new TimeoutException() : (int)Math.Min(left, int.MaxValue);
        }
    }

    private static Result FetchCore(Uri url, Deadline token)
    {
        string host = url.HostNameType == UriHostNameType.IPv6 ? url.Host.Trim('[', ']') : url.IdnHost;
        using var socket = Connect(host, url.Port, token);
        var local = ((IPEndPoint)socket.LocalEndPoint!).Address;
        if (local.IsIPv4MappedToIPv6)
        {
            local = local.MapToIPv4();
        }
        byte[] request = Encoding.ASCII.GetBytes(
            $"GET {url.PathAndQuery} HTTP/1.1\r\nHost: {url.Authority}\r\nConnection: close\r\n" +
            "User-Agent: MiniUpnp.Net, UPnP/1.1, MiniUPnPc/2.3.3\r\n\r\n");
        Send(socket, request, token);

        // Headers: up to the blank line, at most MaxHeaderBytes.
        var buffer = new byte[MaxHeaderBytes + MaxBodyBytes];
        int used = 0, headerEnd = -1;
        while (headerEnd < 0)
        {
            if (used >= MaxHeaderBytes)
            {
                return new Result(null, local, $"the HTTP header is longer than {MaxHeaderBytes} bytes");
            }
            int n = Receive(socket, buffer.AsMemory(used, MaxHeaderBytes - used), token);
            if (n == 0)
            {
                return new Result(null, local, "the connection closed before the end of the HTTP header");
            }
            used += n;
            headerEnd = buffer.AsSpan(0, used).IndexOf("\r\n\r\n"u8);
        }
        if (ReadHeader(buffer.AsSpan(0, headerEnd), out long contentLength, out bool chunked) is { } unusable)
        {
            return new Result(null, local, unusable);
        }

        // Body: the rest of the buffer (what came with the header first), until Content-Length, the end of the chunks,
        // or the connection's end; at most MaxBodyBytes of raw body.
        int bodyStart = headerEnd + 4;
        long limit = chunked || contentLength < 0 ? MaxBodyBytes : contentLength;
        while (used - bodyStart < limit)
        {
            if (used == buffer.Length)
            {
                return new Result(null, local, $"the description is longer than the {MaxBodyBytes} bytes accepted");
            }
            int want = (int)Math.Min(buffer.Length - used, limit - (used - bodyStart) + (chunked ? 1 : 0));
            int n = Receive(socket, buffer.AsMemory(used, Math.Max(1, want)), token);
            if (n == 0)
            {
                break;
            }
            used += n;
            if (chunked && Dechunk(buffer.AsSpan(bodyStart, used - bodyStart), out _) is not null)
            {
                break;
            }
        }
        var raw = buffer.AsSpan(bodyStart, used - bodyStart);
        if (chunked)
        {
            byte[]? body = Dechunk(raw, out string? problem);
            return body is null ? new Result(null, local, problem ?? "the chunked body ends early") : new Result(body, local, null);
        }
        if (contentLength >= 0 && raw.Length < contentLength)
        {
            return new Result(null, local, $"the body ends after {raw.Length} of {contentLength} bytes");
        }
        return new Result(raw[..(int)Math.Min(raw.Length, limit)].ToArray(), local, null);
    }

    /// <summary>Reads an HTTP header block (without its blank line): null when it is a 200 answer whose body can be read,
    /// with its Content-Length (-1 when none) and whether it is chunked; else the problem.</summary>
    internal static string? ReadHeader(ReadOnlySpan<byte> headerBlock, out long contentLength, out bool chunked)
    {
        contentLength = -1;
        chunked = false;
        string[] lines = Encoding.Latin1.GetString(headerBlock).Split("\r\n");
        string[] status = lines[0].Split(' ', 3);
        if (status.Length < 2 || !status[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || status[1] != "200")
        {
            return $"the answer is not HTTP 200 ('{Printable(lines[0])}')";
        }
        foreach (string line in lines)
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }
            string name = line[..colon].Trim(), value = line[(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out contentLength))
                {
                    return $"the Content-Length '{Printable(value)}' is not a number";
                }
                if (contentLength > MaxBodyBytes)
                {
                    return $"the description is {contentLength} bytes, more than the {MaxBodyBytes} accepted";
                }
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                chunked = value.Contains("chunked", StringComparison.OrdinalIgnoreCase);
            }
        }
        return null;
    }

    /// <summary>The decoded body once the last chunk is in; null while incomplete or when broken (with the problem).</summary>
    private static byte[]? Dechunk(ReadOnlySpan<byte> raw, out string? problem)
    {
        problem = null;
        var output = new System.IO.MemoryStream();
        int i = 0;
        for (int chunks = 0; chunks < 100_000; chunks++)
        {
            int eol = raw[i..].IndexOf("\r\n"u8);
            if (eol < 0)
            {
                return null;
            }
            string sizeText = Encoding.Latin1.GetString(raw.Slice(i, eol)).Split(';')[0].Trim();
            if (!int.TryParse(sizeText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int size) || size < 0 || size > MaxBodyBytes)
            {
                problem = $"a chunk size '{Printable(sizeText)}' is not a hexadecimal size up to {MaxBodyBytes}";
                return null;
            }
            i += eol + 2;
            if (size == 0)
            {
                return output.ToArray();
            }
            if (raw.Length - i < size + 2)
            {
                return null;
            }
            output.Write(raw.Slice(i, size));
            i += size + 2;
        }
        problem = "too many chunks";
        return null;
    }

    /// <summary>A connected blocking socket, or <see cref="TimeoutException"/> / <see cref="SocketException"/>.</summary>
    private static Socket Connect(string host, int port, Deadline deadline)
    {
        if (!IPAddress.TryParse(host, out var address))
        {
            // A name, not an address (rare in a LOCATION): resolved and connected by the runtime, within what is left.
            var named = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try
            {
                using var cancel = new CancellationTokenSource(deadline.LeftMs());
                named.ConnectAsync(new DnsEndPoint(host, port), cancel.Token).AsTask().GetAwaiter().GetResult();
                return named;
            }
            catch
            {
                named.Dispose();
                throw;
            }
        }
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Blocking = false;
            try
            {
                socket.Connect(new IPEndPoint(address, port));
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
                // poll() (not select(): no FD_SETSIZE limit) until connected, refused, or out of time.
                if (!socket.Poll(TimeSpan.FromMilliseconds(deadline.LeftMs()), SelectMode.SelectWrite) && !socket.Poll(0, SelectMode.SelectError))
                {
                    throw new TimeoutException();
                }
                int error = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
                if (error != 0)
                {
                    throw new SocketException(error);
                }
            }
            socket.Blocking = true;
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static void Send(Socket socket, byte[] data, Deadline deadline)
    {
        for (int sent = 0; sent < data.Length;)
        {
            socket.SendTimeout = deadline.LeftMs();
            sent += socket.Send(data.AsSpan(sent), SocketFlags.None);
        }
    }

    private static int Receive(Socket socket, Memory<byte> into, Deadline deadline)
    {
        socket.ReceiveTimeout = deadline.LeftMs();
        return socket.Receive(into.Span, SocketFlags.None);
    }

    private static string Printable(string text)
    {
        var sb = new StringBuilder(Math.Min(text.Length, 80));
        foreach (char c in text.AsSpan(0, Math.Min(text.Length, 80)))
        {
            sb.Append(c is >= ' ' and < '\u007f' ? c : '?');
        }
        return sb.ToString();
    }
}
