using System;
using System.Threading.Tasks;
using MiniUpnp.Net;

namespace ReadmeExamples;

internal static class QuickStart
{
    internal static async Task RunAsync()
    {
// <readme>
var gateway = await UpnpGateway.DiscoverAsync();   // returns on the first valid IGD, not after the SSDP delay
await using var lease = await gateway.LeaseMappingAsync(new PortMappingLeaseOptions(PortMappingProtocol.Tcp, 6881));
Console.WriteLine($"reachable at {lease.ExternalEndPoint}"); // renewed, checked, restored; removed on dispose
// next start, without SSDP: GatewayDiscovery.OpenOrDiscoverAsync(gateway.RootDescriptionUrl)
// </readme>
    }
}
