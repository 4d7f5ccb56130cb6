using System;
using System.Threading.Tasks;
using MiniUpnp.Net;

namespace ReadmeExamples;

internal static class OneMapping
{
    internal static async Task RunAsync(UpnpGateway gateway)
    {
// <readme>
// Map external port 12345 to this host's port 22 for an hour (nothing renews it: use a lease for that).
await gateway.AddMappingAsync(new PortMappingRequest(PortMappingProtocol.Tcp, 22) { ExternalPort = 12345 });
var entry = await gateway.GetMappingAsync(PortMappingProtocol.Tcp, 12345);
Console.WriteLine($"{entry?.InternalClient}:{entry?.InternalPort}, {entry?.LeaseDuration} left");
await gateway.DeleteMappingAsync(PortMappingProtocol.Tcp, 12345);
// </readme>
    }
}
