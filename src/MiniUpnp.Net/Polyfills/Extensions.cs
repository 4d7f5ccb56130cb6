// The members newer than netstandard2.0 that the binding uses, as C# 14 extension members with the same names and
// meanings, so that the code shared with net8.0 is unchanged. Compiled for netstandard2.0 only (MiniUpnp.Net.csproj).
using System;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net;

internal static class ExceptionPolyfills
{
    extension(ArgumentNullException)
    {
        public static void ThrowIfNull([NotNull] object? argument, [CallerArgumentExpression(nameof(argument))] string? paramName = null)
        {
            if (argument is null)
            {
                throw new ArgumentNullException(paramName);
            }
        }
    }

    extension(ArgumentOutOfRangeException)
    {
        public static void ThrowIfNegative<T>(T value, [CallerArgumentExpression(nameof(value))] string? paramName = null)
            where T : IComparable<T>
        {
            if (value.CompareTo(default!) < 0)
            {
                throw new ArgumentOutOfRangeException(paramName, value, $"{paramName} ('{value}') must be a non-negative value.");
            }
        }

        public static void ThrowIfLessThan<T>(T value, T other, [CallerArgumentExpression(nameof(value))] string? paramName = null)
            where T : IComparable<T>
        {
            if (value.CompareTo(other) < 0)
            {
                throw new ArgumentOutOfRangeException(paramName, value, $"{paramName} ('{value}') must be greater than or equal to '{other}'.");
            }
        }

        public static void ThrowIfGreaterThan<T>(T value, T other, [CallerArgumentExpression(nameof(value))] string? paramName = null)
            where T : IComparable<T>
        {
            if (value.CompareTo(other) > 0)
            {
                throw new ArgumentOutOfRangeException(paramName, value, $"{paramName} ('{value}') must be less than or equal to '{other}'.");
            }
        }
    }

    extension(ObjectDisposedException)
    {
        public static void ThrowIf([DoesNotReturnIf(true)] bool condition, object instance)
        {
            if (condition)
            {
                throw new ObjectDisposedException(instance?.GetType().FullName);
            }
        }
    }

    extension(ExceptionDispatchInfo)
    {
        [DoesNotReturn]
        public static void Throw(Exception source)
        {
            ExceptionDispatchInfo.Capture(source).Throw();
            throw source; // not reached
        }
    }

    extension(Enum)
    {
        public static bool IsDefined<TEnum>(TEnum value)
            where TEnum : struct, Enum => Enum.IsDefined(typeof(TEnum), value);
    }
}

internal static class RuntimePolyfills
{
    [ThreadStatic]
    private static Random? t_random;

    extension(OperatingSystem)
    {
        public static bool IsWindows() => RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        public static bool IsLinux() => RuntimeInformation.IsOSPlatform(OSPlatform.Linux);

        public static bool IsMacOS() => RuntimeInformation.IsOSPlatform(OSPlatform.OSX);
    }

    extension(Environment)
    {
        /// <summary>Milliseconds of a monotonic clock (Stopwatch), as TickCount64 is used here: for differences only.</summary>
        public static long TickCount64 => (long)(Stopwatch.GetTimestamp() * (1000.0 / Stopwatch.Frequency));
    }

    extension(Stopwatch)
    {
        public static TimeSpan GetElapsedTime(long startingTimestamp) => GetElapsedTime(startingTimestamp, Stopwatch.GetTimestamp());

        public static TimeSpan GetElapsedTime(long startingTimestamp, long endingTimestamp) =>
            TimeSpan.FromTicks((long)((endingTimestamp - startingTimestamp) * ((double)TimeSpan.TicksPerSecond / Stopwatch.Frequency)));
    }

    extension(Random)
    {
        /// <summary>One instance per thread (Random is not thread-safe): what Random.Shared's callers rely on.</summary>
        public static Random Shared => t_random ??= new Random(Guid.NewGuid().GetHashCode());
    }

    extension(RandomNumberGenerator)
    {
        public static byte[] GetBytes(int count)
        {
            var bytes = new byte[count];
            using var generator = RandomNumberGenerator.Create();
            generator.GetBytes(bytes);
            return bytes;
        }
    }

    extension(Math)
    {
        public static int Clamp(int value, int min, int max) => value < min ? min : value > max ? max : value;

        public static long Clamp(long value, long min, long max) => value < min ? min : value > max ? max : value;

        public static double Clamp(double value, double min, double max) => value < min ? min : value > max ? max : value;
    }

    extension(TimeSpan)
    {
        public static long TicksPerMicrosecond => 10;

        public static TimeSpan operator /(TimeSpan timeSpan, double divisor) => TimeSpan.FromTicks((long)Math.Round(timeSpan.Ticks / divisor));

        public static double operator /(TimeSpan t1, TimeSpan t2) => (double)t1.Ticks / t2.Ticks;

        public static TimeSpan operator *(TimeSpan timeSpan, double factor) => TimeSpan.FromTicks((long)Math.Round(timeSpan.Ticks * factor));

        public static TimeSpan operator *(double factor, TimeSpan timeSpan) => TimeSpan.FromTicks((long)Math.Round(timeSpan.Ticks * factor));
    }

    extension(Encoding)
    {
        public static Encoding Latin1 => Encoding.GetEncoding(28591);
    }

    extension(BitConverter)
    {
        public static uint ToUInt32(byte[] value) => BitConverter.ToUInt32(value, 0);
    }

    extension(Thread thread)
    {
        public void UnsafeStart() => thread.Start();
    }
}

internal static class TextPolyfills
{
    extension(string text)
    {
        public bool Contains(string value, StringComparison comparisonType) => text.IndexOf(value, comparisonType) >= 0;

        public bool Contains(char value) => text.IndexOf(value) >= 0;

        public bool Contains(char value, StringComparison comparisonType) => text.IndexOf(value.ToString(), comparisonType) >= 0;

        public int IndexOf(char value, StringComparison comparisonType) => text.IndexOf(value.ToString(), comparisonType);

        public bool StartsWith(char value) => text.Length > 0 && text[0] == value;

        public bool EndsWith(char value) => text.Length > 0 && text[text.Length - 1] == value;

        public string[] Split(string separator) => text.Split([separator], StringSplitOptions.None);

        public string[] Split(char separator, int count) => text.Split([separator], count);

        public string[] Split(char separator, StringSplitOptions options) => text.Split([separator], options);

        public string[] Split(char separator, int count, StringSplitOptions options) => text.Split([separator], count, options);

        public string Replace(string oldValue, string? newValue, StringComparison comparisonType)
        {
            var result = new StringBuilder();
            int at = 0;
            while (true)
            {
                int found = text.IndexOf(oldValue, at, comparisonType);
                if (found < 0)
                {
                    return result.Append(text, at, text.Length - at).ToString();
                }
                result.Append(text, at, found - at).Append(newValue);
                at = found + oldValue.Length;
            }
        }
    }

    extension(Encoding encoding)
    {
        public unsafe string GetString(ReadOnlySpan<byte> bytes)
        {
            fixed (byte* pointer = bytes)
            {
                return bytes.IsEmpty ? string.Empty : encoding.GetString(pointer, bytes.Length);
            }
        }

        public unsafe int GetBytes(ReadOnlySpan<char> chars, Span<byte> bytes)
        {
            fixed (char* from = chars)
            fixed (byte* to = bytes)
            {
                return encoding.GetBytes(from, chars.Length, to, bytes.Length);
            }
        }
    }

    extension(Span<byte> span)
    {
        public int IndexOfAnyExcept(byte value) => ((ReadOnlySpan<byte>)span).IndexOfAnyExcept(value);
    }

    extension(ReadOnlySpan<byte> span)
    {
        public int IndexOfAnyExcept(byte value)
        {
            for (int i = 0; i < span.Length; i++)
            {
                if (span[i] != value)
                {
                    return i;
                }
            }
            return -1;
        }
    }

    extension(MemoryStream stream)
    {
        public void Write(ReadOnlySpan<byte> buffer) => stream.Write(buffer.ToArray(), 0, buffer.Length);
    }

    extension(IPAddress address)
    {
        public bool TryWriteBytes(Span<byte> destination, out int bytesWritten)
        {
            byte[] bytes = address.GetAddressBytes();
            if (bytes.Length > destination.Length)
            {
                bytesWritten = 0;
                return false;
            }
            bytes.CopyTo(destination);
            bytesWritten = bytes.Length;
            return true;
        }
    }
}

internal static class TaskPolyfills
{
    extension(Task task)
    {
        public bool IsCompletedSuccessfully => task.Status == TaskStatus.RanToCompletion;

        public Task WaitAsync(CancellationToken cancellationToken) => task.WaitAsync(Timeout.InfiniteTimeSpan, cancellationToken);

        public Task WaitAsync(TimeSpan timeout) => task.WaitAsync(timeout, CancellationToken.None);

        public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            if (task.IsCompleted || (timeout == Timeout.InfiniteTimeSpan && !cancellationToken.CanBeCanceled))
            {
                await task.ConfigureAwait(false);
                return;
            }
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            // Task.Delay takes at most int.MaxValue ms (about 24.8 days): a longer timeout waits for the token alone.
            var delay = Task.Delay(timeout.TotalMilliseconds > int.MaxValue ? Timeout.InfiniteTimeSpan : timeout, cancel.Token);
            if (await Task.WhenAny(task, delay).ConfigureAwait(false) != task)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new TimeoutException("The operation has timed out.");
            }
            cancel.Cancel(); // ends the delay
            await task.ConfigureAwait(false);
        }
    }

    extension<T>(Task<T> task)
    {
        public Task<T> WaitAsync(CancellationToken cancellationToken) => task.WaitAsync(Timeout.InfiniteTimeSpan, cancellationToken);

        public Task<T> WaitAsync(TimeSpan timeout) => task.WaitAsync(timeout, CancellationToken.None);

        public async Task<T> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            await ((Task)task).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return await task.ConfigureAwait(false);
        }
    }
}

/// <summary>
/// The cancellable socket calls of .NET Core 3+ over what netstandard2.0 has. A receive waits in Poll slices of at most
/// <see cref="ReceiveSlice"/> on a pool thread, so a cancellation is seen within one slice and a datagram at once; sends
/// on the binding's UDP sockets do not block, so they are made synchronously.
/// </summary>
internal static class SocketPolyfills
{
    private static readonly TimeSpan ReceiveSlice = TimeSpan.FromMilliseconds(20);

    extension(Socket socket)
    {
        public bool Poll(TimeSpan timeout, SelectMode mode) =>
            socket.Poll(timeout < TimeSpan.Zero ? -1 : (int)Math.Min(int.MaxValue, timeout.Ticks / 10), mode);

        public int Send(ReadOnlySpan<byte> buffer, SocketFlags socketFlags) => socket.Send(buffer.ToArray(), socketFlags);

        public int Receive(Span<byte> buffer, SocketFlags socketFlags)
        {
            var array = new byte[buffer.Length];
            int n = socket.Receive(array, socketFlags);
            array.AsSpan(0, n).CopyTo(buffer);
            return n;
        }

        public ValueTask ConnectAsync(EndPoint remoteEP, CancellationToken cancellationToken)
        {
            var connect = Task.Factory.FromAsync(socket.BeginConnect, socket.EndConnect, remoteEP, null);
            return new ValueTask(Bounded(connect, socket, cancellationToken));
        }

        public ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer, SocketFlags socketFlags, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return new ValueTask<int>(socket.Send(buffer.ToArray(), socketFlags));
        }

        public ValueTask<int> SendToAsync(ReadOnlyMemory<byte> buffer, SocketFlags socketFlags, EndPoint remoteEP, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return new ValueTask<int>(socket.SendTo(buffer.ToArray(), socketFlags, remoteEP));
        }

        public ValueTask<SocketReceiveFromResult> ReceiveFromAsync(Memory<byte> buffer, SocketFlags socketFlags, EndPoint remoteEndPoint,
            CancellationToken cancellationToken) =>
            new(Task.Run(() =>
            {
                int slice = (int)(ReceiveSlice.Ticks / 10);
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (socket.Poll(slice, SelectMode.SelectRead))
                    {
                        var array = new byte[buffer.Length];
                        EndPoint from = remoteEndPoint;
                        int n = socket.ReceiveFrom(array, socketFlags, ref from);
                        array.AsSpan(0, n).CopyTo(buffer.Span);
                        return new SocketReceiveFromResult { ReceivedBytes = n, RemoteEndPoint = from };
                    }
                }
            }, cancellationToken));
    }

    /// <summary>The connect, abandoned (socket closed) when the token fires: netstandard2.0 cannot cancel it otherwise.</summary>
    private static async Task Bounded(Task connect, Socket socket, CancellationToken cancellationToken)
    {
        using (cancellationToken.Register(socket.Dispose))
        {
            try
            {
                await connect.ConfigureAwait(false);
            }
            catch (ObjectDisposedException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
        }
    }
}
