using System;
using MiniUpnp.Net.Native;
using static MiniUpnp.Net.Native.Miniupnpc;

namespace ReadmeExamples;

internal static class FromC
{
    internal static void Run()
    {
// <readme>
using var devlist = upnpDiscover(2000, null, null, UPNP_LOCAL_PORT_ANY, 0, 2, out int error);
using var urls = new SafeUrlsHandle();
var data = new IGDdatas();
int status = UPNP_GetValidIGD(devlist, urls, data, out string lanaddr, out string wanaddr);
int r = UPNP_AddPortMapping(urls.controlURL, data.first.servicetype, "12345", "22", lanaddr, "ssh", "TCP", null, "0");
if (r != UPNPCOMMAND_SUCCESS) Console.WriteLine(strupnperror(r));
// </readme>
    }
}
