using System.Threading.Tasks;
using MiniUpnp.Net.Tool;

// upnpc-net: upnpc 2.3.3's command line (same commands, options and output lines) and the simple verbs add, list
// and delete, all through MiniUpnp.Net's public API. ToolCommandLine has the parser; Upnpc/ and Simple/ the commands.
return await ToolCommandLine.InvokeAsync(ToolCommandLine.Parse(args));
