using System;
using System.Net;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using MiniUpnp.Net;

namespace ReadmeExamples;

internal static class LoggingAndSeam
{
    internal static async Task RunAsync(ILogger logger)
    {
// <readme>
// Discovery decisions and the leases' renewals, losses and restorations go to the application's ILogger.
var options = new GatewayDiscoveryOptions { Logger = logger };
IUpnpGateway gateway = await UpnpGateway.DiscoverAsync(options);
Console.WriteLine(await OpenPortAsync(gateway));

// Application code written against IUpnpGateway runs on a fake router in the application's own tests.
static async Task<IPEndPoint?> OpenPortAsync(IUpnpGateway gateway)
{
    await using var lease = await gateway.LeaseMappingAsync(new PortMappingLeaseOptions(PortMappingProtocol.Udp, 3478));
    return lease.ExternalEndPoint;
}
// </readme>
    }
}
