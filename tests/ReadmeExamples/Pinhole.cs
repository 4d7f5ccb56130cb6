using System.Threading.Tasks;
using MiniUpnp.Net;

namespace ReadmeExamples;

internal static class Pinhole
{
    internal static async Task RunAsync()
    {
// <readme>
var v6 = new GatewayDiscoveryOptions { SearchIPv6Multicast = true, SearchMulticast = false, SearchDefaultGateways = false };
await using var pinhole = await (await UpnpGateway.DiscoverAsync(v6)).LeasePinholeAsync(new PinholeLeaseOptions(PortMappingProtocol.Tcp, 6881));
// </readme>
    }
}
