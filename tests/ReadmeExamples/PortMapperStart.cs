using System;
using System.Threading.Tasks;
using MiniUpnp.Net;

namespace ReadmeExamples;

internal static class PortMapperStart
{
    internal static async Task RunAsync()
    {
// <readme>
var mapper = await PortMapper.DiscoverAsync();   // races PCP, NAT-PMP and UPnP-IGD on the default gateway
Console.WriteLine(mapper.Report);                // what answered, what did not, how long each took, and why this one
await using var lease = await mapper.LeaseAsync(new PortMappingLeaseOptions(PortMappingProtocol.Tcp, 6881));
Console.WriteLine($"reachable at {lease.ExternalEndPoint} through {lease.Method}"); // renewed, restored, moved; removed on dispose
// next start, without the race: PortMapper.DiscoverAsync(new PortMapperOptions { Remembered = mapper.Remembered })
// </readme>
    }
}
