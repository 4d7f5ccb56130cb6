using System;
using MiniUpnp.Net.Python;

namespace ReadmeExamples;

internal static class FromPython
{
    internal static void Run()
    {
// <readme>
using var u = new UPnP { DiscoverDelay = 200 };
u.Discover(); u.SelectIgd();
u.AddPortMapping(6667, "TCP", u.LanAddr, 6667, "testing", null);
for (int i = 0; u.GetGenericPortMapping(i) is { } m; i++) Console.WriteLine(m);
u.DeletePortMapping(6667, "TCP");
// </readme>
    }
}
