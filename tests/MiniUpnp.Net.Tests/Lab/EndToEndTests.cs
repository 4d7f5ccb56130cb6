using System;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using NUnit.Framework;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tests.Lab;

/// <summary>Traffic really crosses a mapping: a TCP service in the lan namespace, reached from the wan namespace.</summary>
public class EndToEndTests
{
    [Test]
    public void AMappedServiceIsReachableFromTheWanUntilTheMappingIsDeleted()
    {
        LabEnvironment.Require();
        // The test process runs in the lan namespace: this listener is the LAN service.
        var listener = new TcpListener(IPAddress.Parse(LabEnvironment.LanAddr), 0);
        listener.Start();
        int internalPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        var accepted = AcceptAndGreetAsync(listener);
        try
        {
            using var upnp = new UPnP();
            upnp.SelectIgd(LabEnvironment.RootDescUrl);
            const int externalPort = 42000;

            Assert.That(Wan.CanConnect(LabEnvironment.IgdWanAddr, externalPort), Is.False, "closed before the mapping");
            upnp.AddPortMapping(externalPort, "TCP", upnp.LanAddr, internalPort, "end to end", null);
            try
            {
                Assert.That(Wan.Fetch(LabEnvironment.IgdWanAddr, externalPort), Is.EqualTo("hello from the lan"));
            }
            finally
            {
                upnp.DeletePortMapping(externalPort, "TCP");
            }
            Assert.That(Wan.CanConnect(LabEnvironment.IgdWanAddr, externalPort), Is.False, "closed after the deletion");
        }
        finally
        {
            listener.Stop();
            try
            {
                accepted.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
            }
        }
    }

    private static async Task AcceptAndGreetAsync(TcpListener listener)
    {
        // Bounded: at most a few connections, each answered with one line.
        for (int i = 0; i < 8; i++)
        {
            using var client = await listener.AcceptTcpClientAsync();
            await client.GetStream().WriteAsync("hello from the lan\n"u8.ToArray());
        }
    }
}

/// <summary>Connections from the wan namespace (a host on the Internet side), made with Debian's python3.</summary>
internal static class Wan
{
    private const string Script =
        "import socket,sys\n" +
        "try:\n" +
        " s=socket.create_connection((sys.argv[1],int(sys.argv[2])),2); s.settimeout(2)\n" +
        " print('CONNECTED', s.recv(100).decode().strip())\n" +
        "except Exception as e:\n" +
        " print('FAILED', type(e).__name__)\n";

    internal static bool CanConnect(string host, int port) => Run(host, port).StartsWith("CONNECTED", StringComparison.Ordinal);

    internal static string Fetch(string host, int port)
    {
        string output = Run(host, port);
        return output.StartsWith("CONNECTED ", StringComparison.Ordinal) ? output["CONNECTED ".Length..] : output;
    }

    private static readonly Lazy<string> ScriptFile = new(() =>
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"miniupnpnet-wan-connect-{Environment.ProcessId}.py");
        System.IO.File.WriteAllText(path, Script);
        return path;
    });

    private static string Run(string host, int port)
    {
        var (_, output) = LabEnvironment.InNamespace(LabEnvironment.WanNamespace, "/usr/bin/python3",
            $"{ScriptFile.Value} {host} {port}", timeoutSeconds: 15);
        return output.Trim();
    }
}
