using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Gateway;

/// <summary>The logging hook: discovery decisions, renewals, losses and restorations reach the application's ILogger.</summary>
public class LoggingTests
{
    private sealed class ListLogger : ILogger
    {
        internal ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, formatter(state, exception)));
    }

    [Test]
    public async Task DiscoveryAndALeaseLogWhatTheyDecide()
    {
        using var igd = new FakeRouter();
        var logger = new ListLogger();
        var options = FakeIgdDiscoveryTests.LoopbackOnly(TimeSpan.FromSeconds(2), igd);
        options.Logger = logger;
        var found = await GatewayDiscovery.DiscoverWithReportAsync(options);
        Assert.That(found.Gateway, Is.Not.Null, found.Reason);
        Assert.That(logger.Entries, Has.Some.Matches<(LogLevel Level, string Message)>(
            e => e.Level == LogLevel.Information && e.Message.StartsWith("UPnP discovery chose", StringComparison.Ordinal)));

        var lease = await found.Gateway!.LeaseMappingAsync(new PortMappingLeaseOptions(PortMappingProtocol.Tcp, 8070)
        {
            LeaseDuration = TimeSpan.FromSeconds(2),
            CheckInterval = TimeSpan.FromMilliseconds(200),
            RetryDelay = TimeSpan.FromMilliseconds(100),
            MaxRetryDelay = TimeSpan.FromMilliseconds(400),
        });
        try
        {
            igd.RemoveMapping("TCP", 8070); // the router forgets it: Lost, then Restored
            var watch = Stopwatch.StartNew();
            while ((lease.RestoreCount == 0 || lease.RenewalCount == 0) && watch.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(20);
            }
        }
        finally
        {
            await lease.DisposeAsync();
        }
        var messages = logger.Entries.Select(e => $"{e.Level}: {e.Message}").ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(messages, Has.Some.StartsWith("Warning: UPnP lease").And.Contains("Lost"), string.Join("\n", messages));
            Assert.That(messages, Has.Some.StartsWith("Information: UPnP lease").And.Contains("Restored"));
            Assert.That(messages, Has.Some.StartsWith("Debug: UPnP lease").And.Contains("renewed"));
        });
    }
}
