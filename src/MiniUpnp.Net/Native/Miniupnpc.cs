using System;
using System.Runtime.InteropServices;
using MiniUpnp.Net.Interop;

namespace MiniUpnp.Net.Native;

/// <summary>
/// Every public miniupnpc function under its C name, so that C code ports line by line
/// (<c>using static MiniUpnp.Net.Native.Miniupnpc;</c>). Return codes come back unchanged and IGD errors never throw;
/// pointers become <see cref="SafeHandle"/>s, strings and spans, and output buffers become <c>out string</c>.
/// Only programming errors throw: <see cref="ArgumentNullException"/> where C would dereference NULL,
/// <see cref="ObjectDisposedException"/> for a disposed handle. The constants are the headers' own <c>#define</c>s.
/// </summary>
public static unsafe partial class Miniupnpc
{
    // Output buffers are larger than the sizes upnpcommands.h documents: miniupnpc bounds every copy
    // (strncpy with the documented size), so a larger zeroed buffer changes nothing but guarantees termination.
    private const int ShortBuffer = 16;   // ports ("65535"), protocol, enabled flag
    private const int AddressBuffer = 64; // IPv4/IPv6 text (INET6_ADDRSTRLEN is 46), lease durations
    private const int TextBuffer = 128;   // status, connection type, last connection error (64 documented)
    private const int DescriptionBuffer = 80; // desc of the non-Ext entry functions: "80 bytes buffer"

    // ---------------------------------------------------------------- discovery (miniupnpc.h)

    /// <summary>Discovers UPnP IGDs on the network (C <c>upnpDiscover</c>): searches for IGD devices and WAN services.</summary>
    /// <param name="delay">Milliseconds to wait for answers (miniupnpc waits at least 1000).</param>
    /// <param name="multicastif">Interface (IPv4 address or name) for the multicast search, or null for the default.</param>
    /// <param name="minissdpdsock">Path of a minissdpd socket to ask first, or null.</param>
    /// <param name="localport"><see cref="UPNP_LOCAL_PORT_ANY"/>, <see cref="UPNP_LOCAL_PORT_SAME"/> or a source port.</param>
    /// <param name="ipv6">0 for IPv4, 1 for IPv6.</param>
    /// <param name="ttl">Multicast TTL (2 is upstream's usual value).</param>
    /// <param name="error">A <c>UPNPDISCOVER_*</c> code.</param>
    /// <returns>The devices found; an invalid handle when none answered.</returns>
    public static SafeDeviceListHandle upnpDiscover(int delay, string? multicastif, string? minissdpdsock, int localport, int ipv6, byte ttl, out int error)
    {
        int e = 0;
        var list = new SafeDeviceListHandle(NativeMethods.upnpDiscover(delay, multicastif, minissdpdsock, localport, ipv6, ttl, &e));
        error = e;
        return list;
    }

    /// <summary>Like <see cref="upnpDiscover"/> but for every UPnP device (C <c>upnpDiscoverAll</c>, search target ssdp:all).</summary>
    /// <inheritdoc cref="upnpDiscover" path="/param"/>
    /// <returns>The devices found; an invalid handle when none answered.</returns>
    public static SafeDeviceListHandle upnpDiscoverAll(int delay, string? multicastif, string? minissdpdsock, int localport, int ipv6, byte ttl, out int error)
    {
        int e = 0;
        var list = new SafeDeviceListHandle(NativeMethods.upnpDiscoverAll(delay, multicastif, minissdpdsock, localport, ipv6, ttl, &e));
        error = e;
        return list;
    }

    /// <summary>Discovers devices of one type (C <c>upnpDiscoverDevice</c>).</summary>
    /// <param name="device">The device or service type to search for.</param>
    /// <param name="delay">Milliseconds to wait for answers.</param>
    /// <param name="multicastif">Interface for the multicast search, or null.</param>
    /// <param name="minissdpdsock">Path of a minissdpd socket, or null.</param>
    /// <param name="localport">Source port choice.</param>
    /// <param name="ipv6">0 for IPv4, 1 for IPv6.</param>
    /// <param name="ttl">Multicast TTL.</param>
    /// <param name="error">A <c>UPNPDISCOVER_*</c> code.</param>
    /// <returns>The devices found; an invalid handle when none answered.</returns>
    public static SafeDeviceListHandle upnpDiscoverDevice(string device, int delay, string? multicastif, string? minissdpdsock, int localport, int ipv6, byte ttl, out int error)
    {
        ArgumentNullException.ThrowIfNull(device);
        int e = 0;
        var list = new SafeDeviceListHandle(NativeMethods.upnpDiscoverDevice(device, delay, multicastif, minissdpdsock, localport, ipv6, ttl, &e));
        error = e;
        return list;
    }

    /// <summary>Discovers devices of several types (C <c>upnpDiscoverDevices</c>).</summary>
    /// <param name="deviceTypes">The device or service types to search for, in order.</param>
    /// <param name="delay">Milliseconds to wait for answers.</param>
    /// <param name="multicastif">Interface for the multicast search, or null.</param>
    /// <param name="minissdpdsock">Path of a minissdpd socket, or null.</param>
    /// <param name="localport">Source port choice.</param>
    /// <param name="ipv6">0 for IPv4, 1 for IPv6.</param>
    /// <param name="ttl">Multicast TTL.</param>
    /// <param name="error">A <c>UPNPDISCOVER_*</c> code.</param>
    /// <param name="searchalltypes">0: stop at the first type that gets answers; 1: search every type.</param>
    /// <returns>The devices found; an invalid handle when none answered.</returns>
    public static SafeDeviceListHandle upnpDiscoverDevices(string[] deviceTypes, int delay, string? multicastif, string? minissdpdsock, int localport, int ipv6, byte ttl, out int error, int searchalltypes)
    {
        ArgumentNullException.ThrowIfNull(deviceTypes);
        // C wants a NULL-terminated array of C strings.
        var array = (byte**)NativeMemory.AllocZeroed((nuint)(deviceTypes.Length + 1), (nuint)sizeof(byte*));
        try
        {
            for (int i = 0; i < deviceTypes.Length; i++)
            {
                ArgumentNullException.ThrowIfNull(deviceTypes[i], nameof(deviceTypes));
                #if NETSTANDARD2_0
                byte[] utf8 = NativeString.ToNullTerminatedUtf8(deviceTypes[i])!;
                array[i] = (byte*)Marshal.AllocCoTaskMem(utf8.Length);
                Marshal.Copy(utf8, 0, (IntPtr)array[i], utf8.Length);
#else
                array[i] = (byte*)Marshal.StringToCoTaskMemUTF8(deviceTypes[i]);
#endif
            }
            int e = 0;
            var list = new SafeDeviceListHandle(NativeMethods.upnpDiscoverDevices(array, delay, multicastif, minissdpdsock, localport, ipv6, ttl, &e, searchalltypes));
            error = e;
            return list;
        }
        finally
        {
            for (int i = 0; i < deviceTypes.Length; i++)
            {
                Marshal.FreeCoTaskMem((IntPtr)array[i]);
            }
            NativeMemory.Free(array);
        }
    }

    /// <summary>Frees a device list (C <c>freeUPNPDevlist</c>): the same as disposing the handle.</summary>
    /// <param name="devlist">The list to free; null is allowed, as NULL is in C.</param>
    public static void freeUPNPDevlist(SafeDeviceListHandle? devlist) => devlist?.Dispose();

    // ---------------------------------------------------------------- description and IGD selection

    /// <summary>Parses a root description into <paramref name="data"/> (C <c>parserootdesc</c>).</summary>
    /// <param name="buffer">The XML document.</param>
    /// <param name="data">Filled with what the description says.</param>
    public static void parserootdesc(ReadOnlySpan<byte> buffer, IGDdatas data)
    {
        ArgumentNullException.ThrowIfNull(data);
        fixed (byte* b = &MemoryMarshal.GetReference(NonNull(buffer)))
        fixed (Interop.IGDdatasStruct* d = &data.Value)
        {
            NativeMethods.parserootdesc(b, buffer.Length, d);
        }
    }

    /// <summary>
    /// Looks for a valid and connected IGD among the discovered devices (C <c>UPNP_GetValidIGD</c>).
    /// What <paramref name="urls"/> held before is freed first, so reusing it does not leak.
    /// </summary>
    /// <param name="devlist">Devices from discovery (null or invalid: none).</param>
    /// <param name="urls">Filled with the chosen IGD's URLs.</param>
    /// <param name="data">Filled with the chosen IGD's description.</param>
    /// <param name="lanaddr">Our address on the LAN towards that IGD.</param>
    /// <param name="wanaddr">The IGD's external address, when it has one.</param>
    /// <returns><see cref="UPNP_NO_IGD"/>, <see cref="UPNP_CONNECTED_IGD"/>, <see cref="UPNP_PRIVATEIP_IGD"/>,
    /// <see cref="UPNP_DISCONNECTED_IGD"/> or <see cref="UPNP_UNKNOWN_DEVICE"/>; negative on a memory error.</returns>
    public static int UPNP_GetValidIGD(SafeDeviceListHandle? devlist, SafeUrlsHandle urls, IGDdatas data, out string lanaddr, out string wanaddr)
    {
        ArgumentNullException.ThrowIfNull(urls);
        ArgumentNullException.ThrowIfNull(data);
        urls.FreeUrls();
        devlist ??= new SafeDeviceListHandle();
        byte* lan = stackalloc byte[AddressBuffer];
        byte* wan = stackalloc byte[AddressBuffer];
        int r;
        fixed (Interop.IGDdatasStruct* d = &data.Value)
        {
            r = NativeMethods.UPNP_GetValidIGD(devlist, urls, d, lan, AddressBuffer, wan, AddressBuffer);
        }
        lanaddr = NativeString.Read(lan, AddressBuffer);
        wanaddr = NativeString.Read(wan, AddressBuffer);
        return r;
    }

    /// <summary>Uses the IGD whose root description is at <paramref name="rootdescurl"/> (C <c>UPNP_GetIGDFromUrl</c>).</summary>
    /// <param name="rootdescurl">URL of the root description.</param>
    /// <param name="urls">Filled with the IGD's URLs (what it held before is freed first).</param>
    /// <param name="data">Filled with the IGD's description.</param>
    /// <param name="lanaddr">Our address on the LAN towards that IGD.</param>
    /// <returns>0 when the description could not be fetched, 1 otherwise (miniupnpc does not check it is an IGD).</returns>
    public static int UPNP_GetIGDFromUrl(string rootdescurl, SafeUrlsHandle urls, IGDdatas data, out string lanaddr)
    {
        ArgumentNullException.ThrowIfNull(rootdescurl);
        ArgumentNullException.ThrowIfNull(urls);
        ArgumentNullException.ThrowIfNull(data);
        urls.FreeUrls();
        byte* lan = stackalloc byte[AddressBuffer];
        int r;
        fixed (Interop.IGDdatasStruct* d = &data.Value)
        {
            r = NativeMethods.UPNP_GetIGDFromUrl(rootdescurl, urls, d, lan, AddressBuffer);
        }
        lanaddr = NativeString.Read(lan, AddressBuffer);
        return r;
    }

    /// <summary>Builds the absolute URLs of a parsed description (C <c>GetUPNPUrls</c>).</summary>
    /// <param name="urls">Filled with the URLs (what it held before is freed first).</param>
    /// <param name="data">A parsed description.</param>
    /// <param name="descURL">The URL the description came from.</param>
    /// <param name="scope_id">IPv6 scope id, 0 otherwise.</param>
    public static void GetUPNPUrls(SafeUrlsHandle urls, IGDdatas data, string descURL, uint scope_id)
    {
        ArgumentNullException.ThrowIfNull(urls);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(descURL);
        urls.FreeUrls();
        fixed (Interop.IGDdatasStruct* d = &data.Value)
        {
            NativeMethods.GetUPNPUrls(urls, d, descURL, scope_id);
        }
    }

    /// <summary>Frees the URL strings in <paramref name="urls"/> (C <c>FreeUPNPUrls</c>); the handle stays usable.</summary>
    /// <param name="urls">The URLs to free; null is allowed, as NULL is in C.</param>
    public static void FreeUPNPUrls(SafeUrlsHandle? urls)
    {
        if (urls is { IsClosed: false })
        {
            urls.FreeUrls();
        }
    }

    /// <summary>Asks the IGD whether its WAN connection is up (C <c>UPNPIGD_IsConnected</c>).</summary>
    /// <param name="urls">The IGD's URLs.</param>
    /// <param name="data">The IGD's description.</param>
    /// <returns>1 when connected, 0 otherwise.</returns>
    public static int UPNPIGD_IsConnected(SafeUrlsHandle urls, IGDdatas data)
    {
        ArgumentNullException.ThrowIfNull(urls);
        ArgumentNullException.ThrowIfNull(data);
        fixed (Interop.IGDdatasStruct* d = &data.Value)
        {
            return NativeMethods.UPNPIGD_IsConnected(urls, d);
        }
    }

    // ---------------------------------------------------------------- HTTP (miniwget.h)

    /// <summary>HTTP GET of <paramref name="url"/> (C <c>miniwget</c>).</summary>
    /// <param name="url">An http:// URL.</param>
    /// <param name="size">Size of the body.</param>
    /// <param name="scope_id">IPv6 scope id, 0 otherwise.</param>
    /// <param name="status_code">The HTTP status, or a negative value when there was no answer.</param>
    /// <returns>The body (<see cref="SafeMallocHandle.ToArray"/>); an invalid handle on failure.</returns>
    public static SafeMallocHandle miniwget(string url, out int size, uint scope_id, out int status_code)
    {
        ArgumentNullException.ThrowIfNull(url);
        int s = 0, status = 0;
        var body = new SafeMallocHandle(NativeMethods.miniwget(url, &s, scope_id, &status));
        body.Length = s;
        size = s;
        status_code = status;
        return body;
    }

    /// <summary>HTTP GET that also reports the local address used (C <c>miniwget_getaddr</c>).</summary>
    /// <param name="url">An http:// URL.</param>
    /// <param name="size">Size of the body.</param>
    /// <param name="addr">The local address of the connection.</param>
    /// <param name="scope_id">IPv6 scope id, 0 otherwise.</param>
    /// <param name="status_code">The HTTP status, or a negative value when there was no answer.</param>
    /// <returns>The body; an invalid handle on failure.</returns>
    public static SafeMallocHandle miniwget_getaddr(string url, out int size, out string addr, uint scope_id, out int status_code)
    {
        ArgumentNullException.ThrowIfNull(url);
        int s = 0, status = 0;
        byte* a = stackalloc byte[AddressBuffer];
        var body = new SafeMallocHandle(NativeMethods.miniwget_getaddr(url, &s, a, AddressBuffer, scope_id, &status));
        body.Length = s;
        size = s;
        addr = NativeString.Read(a, AddressBuffer);
        status_code = status;
        return body;
    }

    // ---------------------------------------------------------------- port listings (portlistingparse.h)

    /// <summary>Parses the NewPortListing document of a GetListOfPortMappings answer (C <c>ParsePortListing</c>).</summary>
    /// <param name="buffer">The XML document.</param>
    /// <param name="pdata">Receives the entries (<see cref="SafePortListingHandle.Entries"/>); earlier entries are freed first.</param>
    public static void ParsePortListing(ReadOnlySpan<byte> buffer, SafePortListingHandle pdata)
    {
        ArgumentNullException.ThrowIfNull(pdata);
        pdata.FreeList();
        fixed (byte* b = &MemoryMarshal.GetReference(NonNull(buffer)))
        {
            NativeMethods.ParsePortListing(b, buffer.Length, pdata);
        }
    }

    // An empty span pins to a null pointer, and minixml reads its buffer before it looks at the size (address 0, a
    // crash): give the parsers a real buffer (one NUL byte), with the caller's length, 0.
    private static readonly byte[] EmptyDocument = new byte[1];

    private static ReadOnlySpan<byte> NonNull(ReadOnlySpan<byte> buffer) => buffer.IsEmpty ? EmptyDocument : buffer;

    /// <summary>Frees the entries of a listing (C <c>FreePortListing</c>); the handle stays usable.</summary>
    /// <param name="pdata">The listing; null is allowed.</param>
    public static void FreePortListing(SafePortListingHandle? pdata)
    {
        if (pdata is { IsClosed: false })
        {
            pdata.FreeList();
        }
    }

    // ---------------------------------------------------------------- errors (upnperrors.h)

    /// <summary>The text miniupnpc gives for a UPnP or <c>UPNPCOMMAND_*</c> code (C <c>strupnperror</c>).</summary>
    /// <param name="err">The code.</param>
    /// <returns>The text, or null for a code miniupnpc does not know (C returns NULL).</returns>
    public static string? strupnperror(int err)
    {
        byte* text = NativeMethods.strupnperror(err);
        return text == null ? null : NativeString.Read(text);
    }
}
