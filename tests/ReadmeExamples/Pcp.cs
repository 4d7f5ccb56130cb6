using System;
using System.Threading.Tasks;
using MiniUpnp.Net;

namespace ReadmeExamples;

internal static class Pcp
{
    internal static async Task RunAsync()
    {
// <readme>
var pcp = PcpClient.ForDefaultGateway() ?? throw new InvalidOperationException("no default gateway");
var mapping = await pcp.MapAsync(new PcpMapRequest(PortMappingProtocol.Tcp, 6881));
Console.WriteLine($"reachable at {mapping.ExternalEndPoint} for {mapping.Lifetime}");
mapping = await pcp.RenewAsync(mapping);   // at half the lifetime; the same nonce, as the delete's
await pcp.DeleteAsync(mapping);
// </readme>
    }
}
