using System;
using System.IO;
using MiniUpnp.Net.Tool.Output;
using static MiniUpnp.Net.Native.Miniupnpc;
using static MiniUpnp.Net.Tool.Output.CText;
using MiniUpnp.Net.Native;
using MiniUpnp.Net.Python;

namespace MiniUpnp.Net.Tool.Upnpc;

/// <summary>
/// The static functions of upnpc.c (miniupnpc 2.3.3), one method each under the same name, called on the IGD that
/// main() selected. Every value printed comes from the library's C-named API with the arguments upnpc passes, and
/// every line is upnpc's printf, so the output is upnpc's. Line numbers refer to upnpc.c 2.3.3.
/// </summary>
internal sealed class UpnpcFunctions(SafeUrlsHandle urls, IGDdatas data, TextWriter stdout, TextWriter stderr)
{
    private const string IpprotoTcp = "6";   // <netinet/in.h> IPPROTO_TCP, as upnpc formats it with "%d"
    private const string IpprotoUdp = "17";  // IPPROTO_UDP

    /// <summary>upnpc.c protofix() (line 29): "TCP"/"UDP" in any case, or null.</summary>
    /// <remarks>
    /// The C compares four bytes, the terminating NUL included, each against the letter or the letter | 32; as NUL | 32
    /// is a space, "tcp " and "TCP anything" are accepted as TCP too. Kept as is.
    /// </remarks>
    internal static string? protofix(string proto)
    {
        static bool Matches(string proto, string canonical)
        {
            for (int i = 0; i < 4; i++)
            {
                char want = i < 3 ? canonical[i] : '\0';
                char got = i < proto.Length ? proto[i] : '\0';
                if (got != want && got != (char)(want | 32))
                {
                    return false;
                }
            }
            return true;
        }
        return Matches(proto, "TCP") ? "TCP" : Matches(proto, "UDP") ? "UDP" : null;
    }

    /// <summary>upnpc.c DisplayInfos() (line 63).</summary>
    internal void DisplayInfos()
    {
        if (UPNP_GetConnectionTypeInfo(urls.controlURL, data.first.servicetype, out string connectionType) != UPNPCOMMAND_SUCCESS)
        {
            stdout.Write("GetConnectionTypeInfo failed.\n");
        }
        else
        {
            stdout.Write($"Connection Type : {connectionType}\n");
        }
        if (UPNP_GetStatusInfo(urls.controlURL, data.first.servicetype, out string status, out uint uptime, out string lastconnerr) != UPNPCOMMAND_SUCCESS)
        {
            stdout.Write("GetStatusInfo failed.\n");
        }
        else
        {
            stdout.Write($"Status : {status}, uptime={D(uptime)}s, LastConnectionError : {lastconnerr}\n");
        }
        if (uptime > 0)
        {
            long timenow = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            long timestarted = timenow - uptime;
            stdout.Write($"  Time started : {Ctime(timestarted)}");
        }
        if (UPNP_GetLinkLayerMaxBitRates(urls.controlURL_CIF, data.CIF.servicetype, out uint brDown, out uint brUp) != UPNPCOMMAND_SUCCESS)
        {
            stdout.Write("GetLinkLayerMaxBitRates failed.\n");
        }
        else
        {
            stdout.Write($"MaxBitRateDown : {D(brDown)} bps{BitRate(brDown)}   MaxBitRateUp {D(brUp)} bps{BitRate(brUp)}\n");
        }
        int r = UPNP_GetExternalIPAddress(urls.controlURL, data.first.servicetype, out string externalIPAddress);
        if (r != UPNPCOMMAND_SUCCESS)
        {
            stdout.Write($"GetExternalIPAddress failed. (errorcode={D(r)})\n");
        }
        else if (externalIPAddress.Length == 0)
        {
            stdout.Write("GetExternalIPAddress failed. (empty string)\n");
        }
        else
        {
            stdout.Write($"ExternalIPAddress = {externalIPAddress}\n");
        }

        static string BitRate(uint bps) =>
            bps >= 1000000 ? $" ({D(bps / 1000000)}.{D(bps / 100000 % 10)} Mbps)"
            : bps >= 1000 ? $" ({D(bps / 1000)} Kbps)"
            : "";
    }

    /// <summary>upnpc.c GetConnectionStatus() (line 121).</summary>
    internal void GetConnectionStatus()
    {
        DisplayInfos();
        PrintTrafficCounters();
    }

    // upnpc stores the UNSIGNED_INTEGER counters in unsigned int variables: only the low 32 bits are printed.
    private void PrintTrafficCounters()
    {
        uint bytessent = unchecked((uint)UPNP_GetTotalBytesSent(urls.controlURL_CIF, data.CIF.servicetype));
        uint bytesreceived = unchecked((uint)UPNP_GetTotalBytesReceived(urls.controlURL_CIF, data.CIF.servicetype));
        uint packetssent = unchecked((uint)UPNP_GetTotalPacketsSent(urls.controlURL_CIF, data.CIF.servicetype));
        uint packetsreceived = unchecked((uint)UPNP_GetTotalPacketsReceived(urls.controlURL_CIF, data.CIF.servicetype));
        stdout.Write($"Bytes:   Sent: {Pad(D(bytessent), 8)}\tRecv: {Pad(D(bytesreceived), 8)}\n");
        stdout.Write($"Packets: Sent: {Pad(D(packetssent), 8)}\tRecv: {Pad(D(packetsreceived), 8)}\n");
    }

    /// <summary>upnpc.c ListRedirections() (line 134): GetGenericPortMappingEntry from index 0 until 713.</summary>
    internal void ListRedirections()
    {
        int r;
        ushort i = 0;
        stdout.Write(" i protocol exPort->inAddr:inPort description remoteHost leaseTime\n");
        do
        {
            r = UPNP_GetGenericPortMappingEntry(urls.controlURL, data.first.servicetype, D(i),
                out string extPort, out string intClient, out string intPort, out string protocol,
                out string desc, out _, out string rHost, out string duration);
            if (r == 0)
            {
                stdout.Write($"{Pad(D(i), 2)} {protocol} {Pad(extPort, 5)}->{intClient}:{Pad(intPort, 5, leftAlign: true)} '{desc}' '{rHost}' {duration}\n");
            }
            else if (r == 713) // SpecifiedArrayIndexInvalid: the end of the list
            {
                break;
            }
            else
            {
                stdout.Write($"GetGenericPortMappingEntry() returned {D(r)} ({S(strupnperror(r))})\n");
            }
        }
        while (r == 0 && i++ < 65535);
    }

    /// <summary>upnpc.c NewListRedirections() (line 182): GetListOfPortMappings for TCP, then UDP (IGD:2).</summary>
    internal void NewListRedirections()
    {
        int i = 0;
        using var pdata = new SafePortListingHandle();
        int r = UPNP_GetListOfPortMappings(urls.controlURL, data.first.servicetype, "1", "65535", "TCP", "1000", pdata);
        if (r == UPNPCOMMAND_SUCCESS)
        {
            stdout.Write(" i protocol exPort->inAddr:inPort description remoteHost leaseTime\n");
            PrintListing(pdata, ref i);
            FreePortListing(pdata);
        }
        else
        {
            stdout.Write($"GetListOfPortMappings() returned {D(r)} ({S(strupnperror(r))})\n");
        }
        r = UPNP_GetListOfPortMappings(urls.controlURL, data.first.servicetype, "1", "65535", "UDP", "1000", pdata);
        if (r == UPNPCOMMAND_SUCCESS)
        {
            PrintListing(pdata, ref i);
            FreePortListing(pdata);
        }
        else
        {
            stdout.Write($"GetListOfPortMappings() returned {D(r)} ({S(strupnperror(r))})\n");
        }
    }

    private void PrintListing(SafePortListingHandle pdata, ref int i)
    {
        foreach (var pm in pdata.Entries)
        {
            stdout.Write($"{Pad(D(i), 2)} {pm.protocol} {Pad(D(pm.externalPort), 5)}->{pm.internalClient}:{Pad(D(pm.internalPort), 5, leftAlign: true)} " +
                         $"'{pm.description}' '{pm.remoteHost}' {D(unchecked((uint)pm.leaseTime))}\n");
            i++;
        }
    }

    /// <summary>upnpc.c SetRedirectAndTest() (line 249): add (or add-any) a mapping, then read it back.</summary>
    /// <returns>0, -1 for bad arguments, -2 when the IGD refused.</returns>
    internal int SetRedirectAndTest(string? iaddr, string? iport, string? eport, string? proto, string leaseDuration,
        string? remoteHost, string? description, bool addAny)
    {
        if (iaddr is null || iport is null || eport is null || proto is null)
        {
            stderr.Write("Wrong arguments\n");
            return -1;
        }
        proto = protofix(proto);
        if (proto is null)
        {
            stderr.Write("invalid protocol\n");
            return -1;
        }

        int r = UPNP_GetExternalIPAddress(urls.controlURL, data.first.servicetype, out string externalIPAddress);
        stdout.Write(r != UPNPCOMMAND_SUCCESS ? "GetExternalIPAddress failed.\n" : $"ExternalIPAddress = {externalIPAddress}\n");

        if (addAny)
        {
            r = UPNP_AddAnyPortMapping(urls.controlURL, data.first.servicetype, eport, iport, iaddr, description,
                proto, remoteHost, leaseDuration, out string reservedPort);
            if (r == UPNPCOMMAND_SUCCESS)
            {
                eport = reservedPort;
            }
            else
            {
                // upnpc goes on and reads the mapping of the wanted port anyway.
                stdout.Write($"AddAnyPortMapping({eport}, {iport}, {iaddr}) failed with code {D(r)} ({S(strupnperror(r))})\n");
            }
        }
        else
        {
            r = UPNP_AddPortMapping(urls.controlURL, data.first.servicetype, eport, iport, iaddr, description,
                proto, remoteHost, leaseDuration);
            if (r != UPNPCOMMAND_SUCCESS)
            {
                stdout.Write($"AddPortMapping({eport}, {iport}, {iaddr}) failed with code {D(r)} ({S(strupnperror(r))})\n");
                return -2;
            }
        }

        // upnpc passes NULL for desc and enabled; the library always supplies buffers, which changes nothing printed.
        r = UPNP_GetSpecificPortMappingEntry(urls.controlURL, data.first.servicetype, eport, proto, remoteHost,
            out string intClient, out string intPort, out _, out _, out string duration);
        if (r != UPNPCOMMAND_SUCCESS)
        {
            stdout.Write($"GetSpecificPortMappingEntry() failed with code {D(r)} ({S(strupnperror(r))})\n");
            return -2;
        }
        stdout.Write($"InternalIP:Port = {intClient}:{intPort}\n");
        stdout.Write($"external {externalIPAddress}:{eport} {proto} is redirected to internal {intClient}:{intPort} (duration={duration})\n");
        return 0;
    }

    /// <summary>upnpc.c RemoveRedirect() (line 325).</summary>
    /// <returns>0, -1 for bad arguments, -2 when the IGD refused.</returns>
    internal int RemoveRedirect(string? eport, string? proto, string? remoteHost)
    {
        if (proto is null || eport is null)
        {
            stderr.Write("invalid arguments\n");
            return -1;
        }
        proto = protofix(proto);
        if (proto is null)
        {
            stderr.Write("protocol invalid\n");
            return -1;
        }
        int r = UPNP_DeletePortMapping(urls.controlURL, data.first.servicetype, eport, proto, remoteHost);
        if (r != UPNPCOMMAND_SUCCESS)
        {
            stdout.Write($"UPNP_DeletePortMapping() failed with code : {D(r)}\n");
            return -2;
        }
        stdout.Write($"UPNP_DeletePortMapping() returned : {D(r)}\n");
        return 0;
    }

    /// <summary>upnpc.c RemoveRedirectRange() (line 354).</summary>
    /// <returns>0, -1 for bad arguments, -2 when the IGD refused.</returns>
    internal int RemoveRedirectRange(string? ePortStart, string? ePortEnd, string? proto, string? manage)
    {
        manage ??= "0";
        if (proto is null || ePortStart is null || ePortEnd is null)
        {
            stderr.Write("invalid arguments\n");
            return -1;
        }
        proto = protofix(proto);
        if (proto is null)
        {
            stderr.Write("protocol invalid\n");
            return -1;
        }
        int r = UPNP_DeletePortMappingRange(urls.controlURL, data.first.servicetype, ePortStart, ePortEnd, proto, manage);
        if (r != UPNPCOMMAND_SUCCESS)
        {
            stdout.Write($"UPNP_DeletePortMappingRange() failed with code : {D(r)}\n");
            return -2;
        }
        stdout.Write($"UPNP_DeletePortMappingRange() returned : {D(r)}\n");
        return 0;
    }

    /// <summary>upnpc.c GetFirewallStatus() (line 386): WANIPv6FirewallControl (IGD:2); the return code is not checked.</summary>
    internal void GetFirewallStatus()
    {
        UPNP_GetFirewallStatus(urls.controlURL_6FC, data.IPv6FC.servicetype, out int firewallEnabled, out int inboundPinholeAllowed);
        stdout.Write($"FirewallEnabled: {D(firewallEnabled)} & Inbound Pinhole Allowed: {D(inboundPinholeAllowed)}\n");
        stdout.Write($"GetFirewallStatus:\n   Firewall Enabled: {(firewallEnabled != 0 ? "Yes" : "No")}\n" +
                     $"   Inbound Pinhole Allowed: {(inboundPinholeAllowed != 0 ? "Yes" : "No")}\n");
        PrintTrafficCounters();
    }

    /// <summary>upnpc.c SetPinholeAndTest() (line 406): AddPinhole, the protocol by name or number.</summary>
    /// <returns>0, -1 for bad arguments, -2 when the IGD refused.</returns>
    internal int SetPinholeAndTest(string? remoteaddr, string? eport, string? intaddr, string? iport, string? proto, string? leaseTime)
    {
        if (intaddr is null || remoteaddr is null || iport is null || eport is null || proto is null || leaseTime is null)
        {
            stderr.Write("Wrong arguments\n");
            return -1;
        }
        if (Atoi(proto) == 0)
        {
            string? protocol = protofix(proto);
            if (protocol == "TCP")
            {
                proto = IpprotoTcp;
            }
            else if (protocol == "UDP")
            {
                proto = IpprotoUdp;
            }
            else
            {
                stderr.Write("invalid protocol\n");
                return -1;
            }
        }
        int r = UPNP_AddPinhole(urls.controlURL_6FC, data.IPv6FC.servicetype, remoteaddr, eport, intaddr, iport, proto, leaseTime, out string uniqueID);
        if (r != UPNPCOMMAND_SUCCESS)
        {
            stdout.Write($"AddPinhole([{remoteaddr}]:{eport} -> [{intaddr}]:{iport}) failed with code {D(r)} ({S(strupnperror(r))})\n");
            return -2;
        }
        stdout.Write($"AddPinhole: ([{remoteaddr}]:{eport} -> [{intaddr}]:{iport}) / Pinhole ID = {uniqueID}\n");
        return 0;
    }

    /// <summary>upnpc.c GetPinholeAndUpdate() (line 463): CheckPinholeWorking, then UpdatePinhole unless the pinhole cannot be.</summary>
    internal void GetPinholeAndUpdate(string? uniqueID, string? leaseTime)
    {
        if (uniqueID is null || leaseTime is null)
        {
            stderr.Write("Wrong arguments\n");
            return;
        }
        int r = UPNP_CheckPinholeWorking(urls.controlURL_6FC, data.IPv6FC.servicetype, uniqueID, out int isWorking);
        stdout.Write(r == UPNPCOMMAND_SUCCESS
            ? $"CheckPinholeWorking: Pinhole ID = {uniqueID} / IsWorking = {(isWorking != 0 ? "Yes" : "No")}\n"
            : $"CheckPinholeWorking({uniqueID}) failed with code {D(r)} ({S(strupnperror(r))})\n");
        // 702 FirewallDisabled, 703 InboundPinholeNotAllowed, 704 NoSuchEntry: no update.
        if (isWorking != 0 || (r != 702 && r != 703 && r != 704))
        {
            r = UPNP_UpdatePinhole(urls.controlURL_6FC, data.IPv6FC.servicetype, uniqueID, leaseTime);
            stdout.Write($"UpdatePinhole: Pinhole ID = {uniqueID} with Lease Time: {leaseTime}\n");
            if (r != UPNPCOMMAND_SUCCESS)
            {
                stdout.Write($"UpdatePinhole: ID ({uniqueID}) failed with code {D(r)} ({S(strupnperror(r))})\n");
            }
        }
    }

    /// <summary>upnpc.c GetPinholeOutboundTimeout() (line 499).</summary>
    internal void GetPinholeOutboundTimeout(string? remoteaddr, string? eport, string? intaddr, string? iport, string? proto)
    {
        if (intaddr is null || remoteaddr is null || iport is null || eport is null || proto is null)
        {
            stderr.Write("Wrong arguments\n");
            return;
        }
        int r = UPNP_GetOutboundPinholeTimeout(urls.controlURL_6FC, data.IPv6FC.servicetype, remoteaddr, eport, intaddr, iport, proto, out int timeout);
        stdout.Write(r != UPNPCOMMAND_SUCCESS
            ? $"GetOutboundPinholeTimeout([{intaddr}]:{iport} -> [{remoteaddr}]:{eport}) failed with code {D(r)} ({S(strupnperror(r))})\n"
            : $"GetOutboundPinholeTimeout: ([{intaddr}]:{iport} -> [{remoteaddr}]:{eport}) / Timeout = {D(timeout)}\n");
    }

    /// <summary>upnpc.c GetPinholePackets() (line 522).</summary>
    internal void GetPinholePackets(string? uniqueID)
    {
        if (uniqueID is null)
        {
            stderr.Write("invalid arguments\n");
            return;
        }
        int r = UPNP_GetPinholePackets(urls.controlURL_6FC, data.IPv6FC.servicetype, uniqueID, out int pinholePackets);
        stdout.Write(r != UPNPCOMMAND_SUCCESS
            ? $"GetPinholePackets() failed with code {D(r)} ({S(strupnperror(r))})\n"
            : $"GetPinholePackets: Pinhole ID = {uniqueID} / PinholePackets = {D(pinholePackets)}\n");
    }

    /// <summary>upnpc.c CheckPinhole() (line 539).</summary>
    internal void CheckPinhole(string? uniqueID)
    {
        if (uniqueID is null)
        {
            stderr.Write("invalid arguments\n");
            return;
        }
        int r = UPNP_CheckPinholeWorking(urls.controlURL_6FC, data.IPv6FC.servicetype, uniqueID, out int isWorking);
        stdout.Write(r != UPNPCOMMAND_SUCCESS
            ? $"CheckPinholeWorking() failed with code {D(r)} ({S(strupnperror(r))})\n"
            : $"CheckPinholeWorking: Pinhole ID = {uniqueID} / IsWorking = {(isWorking != 0 ? "Yes" : "No")}\n");
    }

    /// <summary>upnpc.c RemovePinhole() (line 556).</summary>
    /// <returns>The command's return code (negative: not sent or no valid answer).</returns>
    internal int RemovePinhole(string? uniqueID)
    {
        if (uniqueID is null)
        {
            stderr.Write("invalid arguments\n");
            return -1;
        }
        int r = UPNP_DeletePinhole(urls.controlURL_6FC, data.IPv6FC.servicetype, uniqueID);
        stdout.Write($"UPNP_DeletePinhole() returned : {D(r)}\n");
        return r;
    }

    /// <summary>upnpc.c main(), case 'P' (line 909).</summary>
    internal void PrintPresentationUrl()
    {
        stdout.Write("Presentation URL found:\n");
        stdout.Write($"            {data.presentationurl}\n");
    }
}
