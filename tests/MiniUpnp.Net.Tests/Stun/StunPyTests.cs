using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Stun;

/// <summary>
/// The lab's STUN responder (tests/lab/stun.py) against the client, on 127.85.1.0/24: with <c>--other</c> it is an RFC
/// 5780 server (OTHER-ADDRESS, RESPONSE-ORIGIN, CHANGE-REQUEST honoured from its four sockets); without, it stays what
/// miniupnpd in the lab relies on (no OTHER-ADDRESS, a CHANGE-REQUEST answered from the same address and port).
/// </summary>
public class StunPyTests
{
    private const string Python = "/usr/bin/python3";
    private static readonly string Script = Path.Combine(TestPaths.RepoRoot, "tests", "lab", "stun.py");

    [Test]
    public async Task WithAnAlternateItAnswersBehaviourDiscovery()
    {
        using var server = StunPy.Start("127.85.1.1", "127.85.1.2");
        var client = StunResponder.Client();
        var behaviour = await StunClientTests.Bounded(client.DetectBehaviourAsync(server.Primary));

        Assert.That((behaviour.Mapping, behaviour.Filtering), Is.EqualTo((StunMappingBehaviour.EndpointIndependent, StunFilteringBehaviour.EndpointIndependent)));
        var binding = behaviour.Binding;
        Assert.That(binding.OtherAddress, Is.EqualTo(server.Alternate));
        Assert.That((binding.ResponseOrigin, binding.Software), Is.EqualTo((server.Primary, "MiniUpnp.Net lab stun.py")));
        Assert.That(binding.MappedEndPoint, Is.EqualTo(binding.LocalEndPoint));
        var changed = behaviour.Tests.Single(t => t.Kind == StunBehaviourTestKind.FilteringChangeAddressAndPort).Binding!;
        Assert.That((changed.AnsweredFrom, changed.ResponseOrigin, changed.OtherAddress), Is.EqualTo((server.Alternate, server.Alternate, server.Alternate)),
            "answered from the alternate socket; OTHER-ADDRESS is relative to where the request went (RFC 5780 §7.4)");

        // The change-port answer and the two alternate sockets the mapping tests use (asked here directly).
        var port = await RawAsync(server.Primary, StunChangeRequest.ChangePort);
        Assert.That(port, Is.EqualTo(new IPEndPoint(server.Primary.Address, server.Alternate.Port)));
        var alternateAddress = new IPEndPoint(server.Alternate.Address, server.Primary.Port);
        Assert.That((await StunClientTests.Bounded(client.QueryAsync(alternateAddress))).AnsweredFrom, Is.EqualTo(alternateAddress));
        Assert.That((await StunClientTests.Bounded(client.QueryAsync(server.Alternate))).OtherAddress, Is.EqualTo(server.Primary));
    }

    [Test]
    public async Task WithoutAnAlternateItBehavesAsBefore()
    {
        using var server = StunPy.Start("127.85.1.3", alternate: null);
        var client = StunResponder.Client();
        var binding = await StunClientTests.Bounded(client.QueryAsync(server.Primary));
        Assert.That((binding.OtherAddress, binding.ResponseOrigin), Is.EqualTo(((IPEndPoint?)null, (IPEndPoint?)null)));
        Assert.That((binding.MappedEndPoint, binding.IsXorMapped), Is.EqualTo((binding.LocalEndPoint, true)));

        var behaviour = await StunClientTests.Bounded(client.DetectBehaviourAsync(server.Primary));
        Assert.That((behaviour.Mapping, behaviour.Filtering), Is.EqualTo((StunMappingBehaviour.NotSupported, StunFilteringBehaviour.NotSupported)));

        // What miniupnpd's NAT test relies on: a CHANGE-REQUEST is answered, from the same address and port.
        Assert.That(await RawAsync(server.Primary, StunChangeRequest.ChangeAddress | StunChangeRequest.ChangePort), Is.EqualTo(server.Primary));
    }

    /// <summary>Sends one Binding request with CHANGE-REQUEST from 127.85.1.10 and returns where the answer came from.</summary>
    private static async Task<IPEndPoint> RawAsync(IPEndPoint server, StunChangeRequest change)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Parse("127.85.1.10"), 0));
        var id = System.Security.Cryptography.RandomNumberGenerator.GetBytes(12);
        var buffer = new byte[2048];
        for (int attempt = 0; attempt < 5; attempt++)
        {
            await socket.SendToAsync(StunMessage.Request(id, change), SocketFlags.None, server);
            using var wait = new System.Threading.CancellationTokenSource(TimeSpan.FromSeconds(1));
            try
            {
                var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), wait.Token);
                Assert.That(StunMessage.TryParse(buffer.AsSpan(0, received.ReceivedBytes), id, out _), Is.EqualTo(StunReplyProblem.None));
                return (IPEndPoint)received.RemoteEndPoint;
            }
            catch (OperationCanceledException)
            {
            }
        }
        Assert.Fail($"no answer from {server} to 5 requests");
        throw new InvalidOperationException();
    }

    /// <summary>stun.py serve, started for one test and ended by its own process id.</summary>
    private sealed class StunPy : IDisposable
    {
        private readonly Process _process;

        private StunPy(Process process, IPEndPoint primary, IPEndPoint alternate)
        {
            _process = process;
            Primary = primary;
            Alternate = alternate;
        }

        internal IPEndPoint Primary { get; }

        /// <summary>The alternate address and port (the primary itself without one).</summary>
        internal IPEndPoint Alternate { get; }

        internal static StunPy Start(string bind, string? alternate)
        {
            // Debian's python3 runs the lab (./build.sh installs it): a machine without it cannot run the suite's lab part either.
            Assert.That(File.Exists(Python), Is.True, $"{Python} is not installed (apt-get install python3)");
            string log = string.Empty;
            for (int attempt = 0; attempt < 3; attempt++)
            {
                int port = PortFreeOn(bind, alternate);
                int otherPort = alternate is null ? port : PortFreeOn(bind, alternate, except: port);
                var info = new ProcessStartInfo(Python)
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                };
                foreach (var argument in new[] { "-u", Script, "serve", "--bind", bind, "--port", port.ToString() })
                {
                    info.ArgumentList.Add(argument);
                }
                if (alternate is not null)
                {
                    info.ArgumentList.Add("--other");
                    info.ArgumentList.Add($"{alternate}:{otherPort}");
                }
                var process = Process.Start(info)!;
                var line = process.StandardOutput.ReadLineAsync();
                if (line.Wait(TimeSpan.FromSeconds(15)) && line.Result is { } text && text.StartsWith("stun.py: listening on", StringComparison.Ordinal))
                {
                    return new StunPy(process, new IPEndPoint(IPAddress.Parse(bind), port),
                        new IPEndPoint(IPAddress.Parse(alternate ?? bind), otherPort));
                }
                Stop(process);
                log = process.StandardError.ReadToEnd();
            }
            Assert.Fail("stun.py did not start: " + log);
            throw new InvalidOperationException();
        }

        /// <summary>A UDP port that was free a moment ago on each address (bounded attempts).</summary>
        private static int PortFreeOn(string first, string? second, int except = 0)
        {
            for (int attempt = 0; attempt < 20; attempt++)
            {
                int port = StunClientTests.FreePort(first);
                if (port == except)
                {
                    continue;
                }
                if (second is null)
                {
                    return port;
                }
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                try
                {
                    probe.Bind(new IPEndPoint(IPAddress.Parse(second), port));
                    return port;
                }
                catch (SocketException)
                {
                }
            }
            throw new InvalidOperationException("no UDP port free on both addresses after 20 attempts");
        }

        private static void Stop(Process process)
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(5000);
            }
        }

        public void Dispose()
        {
            Stop(_process);
            _process.Dispose();
        }
    }
}
