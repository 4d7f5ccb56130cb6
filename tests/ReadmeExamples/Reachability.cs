using System;
using System.Net;
using System.Threading.Tasks;
using MiniUpnp.Net;

namespace ReadmeExamples;

internal static class Reachability
{
    internal static async Task RunAsync(PortMapper mapper, PortMapperLease lease, IPEndPoint myStunServer)
    {
// <readme>
var report = await ReachabilityCheck.CheckAsync(mapper, lease, new ReachabilityOptions
{
    StunServers = [myStunServer],                           // servers the application names; never one by default
    Verify = (endPoint, ct) => AskMyServerToConnectAsync(endPoint, ct), // optional: proof from outside
});
Console.WriteLine($"{report.Verdict}: {report.Hint}");       // e.g. CarrierGradeNat: the router's address is in 100.64/10 ...
// </readme>
    }

    private static Task<bool> AskMyServerToConnectAsync(IPEndPoint endPoint, System.Threading.CancellationToken cancellationToken) =>
        Task.FromResult(endPoint.Port != 0 && !cancellationToken.IsCancellationRequested);
}
