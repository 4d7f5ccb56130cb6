using System;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

using MiniUpnp.Net.Native;

namespace MiniUpnp.Net.Python;

/// <summary>
/// A member-by-member port of the Python module's <c>miniupnpc.UPnP</c> class (miniupnpc 2.3.3,
/// <c>src/miniupnpcmodule.c</c>): same members, defaults, results and error texts, so Python code ports line by line.
/// Python's <c>Exception</c> becomes <see cref="UpnpException"/> with the same text; tuples become records that
/// deconstruct in the same order; <c>None</c> becomes null.
/// </summary>
/// <remarks>
/// Differences, all on the safe side: bad arguments throw <see cref="ArgumentException"/> before any network I/O
/// (Python truncates ports silently); selecting an IGD twice does not leak the first one's URLs; the object is
/// <see cref="IDisposable"/>, may be used from several threads at once, and throws
/// <see cref="ObjectDisposedException"/> after <see cref="Dispose"/>; every network call ends within
/// <see cref="CallTimeout"/> (the one member Python does not have). Like Python's module, <see cref="SelectIgd"/>
/// follows whatever LOCATION a device announced; the async layer is stricter.
/// <para>
/// Bounds (docs/reliability.md): miniupnpc connects within 3 s, then waits up to 5 s per receive, a wait that
/// restarts on every byte, so a router that drips its answer could hold its call for as long as it drips; each
/// member therefore runs its native call on a thread of its own and waits for it at most <see cref="CallTimeout"/>
/// (30 s by default), then throws <see cref="TimeoutException"/>. An honest router, or none, answers well within it,
/// with Python's results. The abandoned native call ends on its own (the shipped miniupnpc ends any HTTP exchange
/// after 30 s). Replies are read whole in native memory (a router
/// announcing a 2 GB Content-Length gets 2 GB of address space reserved for the call). Results are the router's,
/// unchecked, as in Python (a description that is not an IGD is selected; a port of 99999 is returned). Callers
/// that need validated values use the async layer (<see cref="UpnpGateway"/>).
/// </para>
/// </remarks>
public sealed class UPnP : IDisposable
{
    // SOAP requests are built in a 2048-byte buffer (miniupnpc.c, simpleUPnPcommand); a longer one is never sent.
    private const int SoapBodyCapacity = 2048;

    // Serialises Discover/SelectIgd (which replace state); commands only read an immutable snapshot; Dispose never waits.
    private readonly object _stateGate = new();
    private SafeDeviceListHandle _devlist = new();
    private volatile Igd _igd = Igd.None;
    private volatile bool _disposed;
    private uint _discoverDelay;
    private uint _localPort;
    private long _callTimeoutTicks = DefaultCallTimeout.Ticks;

    /// <summary>The default of <see cref="CallTimeout"/>: 30 s.</summary>
    public static readonly TimeSpan DefaultCallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Python: <c>UPnP(multicastif=None, minissdpdsocket=None, discoverdelay=0, localport=0)</c>.</summary>
    /// <param name="multicastif">IP of the network interface to be used for multicast operations.</param>
    /// <param name="minissdpdsocket">Path of the MiniSSDPd unix socket.</param>
    /// <param name="discoverdelay">Value in ms used to wait for SSDP responses.</param>
    /// <param name="localport">0 (<c>UPNP_LOCAL_PORT_ANY</c>), 1 (<c>UPNP_LOCAL_PORT_SAME</c>) or a source port from 1024 to 65534.</param>
    /// <exception cref="ArgumentOutOfRangeException">"Invalid localport value", as Python raises it.</exception>
    public UPnP(string? multicastif = null, string? minissdpdsocket = null, uint discoverdelay = 0, uint localport = 0)
    {
        CheckNoNul(multicastif, nameof(multicastif));
        CheckNoNul(minissdpdsocket, nameof(minissdpdsocket));
        // The module's own check (UPnP_init): 0 and 1 are the two special values, else 1024..65534.
        if (localport > 1 && (localport > 65534 || localport < 1024))
        {
            throw new ArgumentOutOfRangeException(nameof(localport), localport, "Invalid localport value");
        }
        MulticastIf = multicastif;
        MinissdpdSocket = minissdpdsocket;
        _discoverDelay = discoverdelay;
        _localPort = localport;
    }

    /// <summary>Python <c>lanaddr</c>: IP address on the LAN (empty until an IGD is selected).</summary>
    public string LanAddr => _igd.LanAddr;

    /// <summary>Python <c>wanaddr</c>: public IP address on the WAN, as reported during <see cref="SelectIgd"/> without a URL.</summary>
    public string WanAddr => _igd.WanAddr;

    /// <summary>Python <c>discoverdelay</c>: value in ms used to wait for SSDP responses (read-write).</summary>
    public uint DiscoverDelay
    {
        get => Volatile.Read(ref _discoverDelay);
        set => Volatile.Write(ref _discoverDelay, value);
    }

    /// <summary>
    /// Python <c>localport</c> (read-write): 1 (<c>UPNP_LOCAL_PORT_SAME</c>) sends SSDP from port 1900, 0
    /// (<c>UPNP_LOCAL_PORT_ANY</c>) lets the system choose, any other value is tried as the source port.
    /// As in Python, the constructor's range check does not apply to later assignments.
    /// </summary>
    public uint LocalPort
    {
        get => Volatile.Read(ref _localPort);
        set => Volatile.Write(ref _localPort, value);
    }

    /// <summary>
    /// The longest any member waits for the network (not in Python's module): 30 s by default
    /// (<see cref="DefaultCallTimeout"/>); <see cref="Discover"/> waits this plus four times <see cref="DiscoverDelay"/>
    /// (miniupnpc waits the delay for each of the four device types it searches). A member that reaches it throws
    /// <see cref="TimeoutException"/>, and this object keeps its state (a <see cref="SelectIgd"/> that timed out
    /// selected nothing). <see cref="Timeout.InfiniteTimeSpan"/> waits as long as miniupnpc does, as Python does.
    /// </summary>
    /// <remarks>
    /// The default leaves room for miniupnpc's own worst cases with an honest router or none: a discovery asking a
    /// silent minissdpd (3 s per device type) then searching by multicast, a connection attempt that times out (3 s)
    /// then a receive that does (5 s). Only a router that stalls or drips its answer reaches it.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">Zero or negative, other than <see cref="Timeout.InfiniteTimeSpan"/>.</exception>
    public TimeSpan CallTimeout
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _callTimeoutTicks));
        set
        {
            if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "A call timeout must be positive, or Timeout.InfiniteTimeSpan.");
            }
            Volatile.Write(ref _callTimeoutTicks, value.Ticks);
        }
    }

    /// <summary>Python <c>multicastif</c> (read-only there too): IP of the interface used for multicast.</summary>
    public string? MulticastIf { get; }

    /// <summary>Python <c>minissdpdsocket</c> (read-only there too): path of the MiniSSDPd unix socket.</summary>
    public string? MinissdpdSocket { get; }

    /// <summary>Python <c>discover()</c>: discovers UPnP IGD devices on the network.</summary>
    /// <returns>The number of devices that answered.</returns>
    /// <exception cref="UpnpException">None answered; the text is miniupnpc's for the discovery error code.</exception>
    /// <exception cref="TimeoutException">The discovery took longer than <see cref="CallTimeout"/> plus four times <see cref="DiscoverDelay"/>.</exception>
    public int Discover()
    {
        ThrowIfDisposed();
        lock (_stateGate)
        {
            ThrowIfDisposed();
            int delay = unchecked((int)DiscoverDelay), localPort = unchecked((int)LocalPort);
            var bound = CallTimeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan
                : CallTimeout + 4 * TimeSpan.FromMilliseconds(DiscoverDelay);
            var (devlist, error) = Run(nameof(Discover), bound, () =>
            {
                var list = Miniupnpc.upnpDiscover(delay, MulticastIf, MinissdpdSocket, localPort, ipv6: 0, ttl: 2, out int e);
                return (list, e);
            }, late: r => r.list.Dispose());
            Interlocked.Exchange(ref _devlist, devlist).Dispose();
            if (_disposed)
            {
                // Dispose ran while we were discovering: it may have missed this list.
                devlist.Dispose();
                ThrowIfDisposed();
            }
            if (devlist.IsInvalid)
            {
                throw new UpnpException(error);
            }
            return devlist.Devices.Count;
        }
    }

    /// <summary>
    /// Python <c>selectigd([rootDescUrl])</c>: selects a valid UPnP IGD among the discovered devices, or the one
    /// whose root description is at <paramref name="rootDescUrl"/>.
    /// </summary>
    /// <param name="rootDescUrl">Root description URL, or null to choose among the discovered devices.</param>
    /// <returns>The control URL of the IGD's WAN connection service.</returns>
    /// <exception cref="UpnpException">"No UPnP device discovered" (code 0, <c>UPNP_NO_IGD</c>).</exception>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    public string? SelectIgd(string? rootDescUrl = null)
    {
        CheckNoNul(rootDescUrl, nameof(rootDescUrl));
        ThrowIfDisposed();
        lock (_stateGate)
        {
            ThrowIfDisposed();
            var devlist = _devlist;
            string previousWanAddr = _igd.WanAddr;
            var (r, igd) = Run(nameof(SelectIgd), CallTimeout, () =>
            {
                // A fresh struct every time: the previous IGD's URLs are freed, never overwritten (Python leaks them).
                // Created and freed on the call's own thread: an abandoned call frees them itself.
                using var urls = new SafeUrlsHandle();
                var data = new IGDdatas();
                int r;
                string lanaddr, wanaddr = previousWanAddr;
                if (rootDescUrl is null)
                {
                    r = Miniupnpc.UPNP_GetValidIGD(devlist, urls, data, out lanaddr, out wanaddr);
                }
                else
                {
                    r = Miniupnpc.UPNP_GetIGDFromUrl(rootDescUrl, urls, data, out lanaddr);
                }
                return (r, new Igd(urls, data, lanaddr, wanaddr));
            });
            // Python keeps the URLs and data it got, whatever r is: later calls use them.
            _igd = igd;
            if (r == 0)
            {
                throw new UpnpException(Miniupnpc.UPNP_NO_IGD, "No UPnP device discovered");
            }
            return _igd.ControlUrl;
        }
    }

    /// <summary>Python <c>totalbytesent()</c>: total bytes sent by the IGD.</summary>
    /// <returns>The counter as an unsigned 32-bit value (Python's <c>"I"</c>); a failed call gives a negative code's bits, as in Python.</returns>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    public uint TotalByteSent() => CifCounter(nameof(TotalByteSent), Miniupnpc.UPNP_GetTotalBytesSent);

    /// <summary>Python <c>totalbytereceived()</c>: total bytes received by the IGD.</summary>
    /// <returns>The counter as an unsigned 32-bit value.</returns>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    public uint TotalByteReceived() => CifCounter(nameof(TotalByteReceived), Miniupnpc.UPNP_GetTotalBytesReceived);

    /// <summary>Python <c>totalpacketsent()</c>: total packets sent by the IGD.</summary>
    /// <returns>The counter as an unsigned 32-bit value.</returns>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    public uint TotalPacketSent() => CifCounter(nameof(TotalPacketSent), Miniupnpc.UPNP_GetTotalPacketsSent);

    /// <summary>Python <c>totalpacketreceived()</c>: total packets received by the IGD.</summary>
    /// <returns>The counter as an unsigned 32-bit value.</returns>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    public uint TotalPacketReceived() => CifCounter(nameof(TotalPacketReceived), Miniupnpc.UPNP_GetTotalPacketsReceived);

    // The four counters of WANCommonInterfaceConfig, cut to 32 bits as the module's Py_BuildValue("I") does.
    private uint CifCounter(string member, Func<string?, string, ulong> read)
    {
        var igd = Current();
        return unchecked((uint)Run(member, CallTimeout, () => read(igd.CifControlUrl, igd.CifServiceType)));
    }

    /// <summary>Python <c>statusinfo()</c>: status and uptime.</summary>
    /// <returns><c>(status, uptime, lastconnerror)</c>.</returns>
    /// <exception cref="UpnpException">The IGD or the connection to it failed.</exception>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    public StatusInfoResult StatusInfo()
    {
        var igd = Current();
        var (r, status, uptime, lastconnerror) = Run(nameof(StatusInfo), CallTimeout, () =>
        {
            int r = Miniupnpc.UPNP_GetStatusInfo(igd.ControlUrl, igd.ServiceType, out var status, out uint uptime, out var lastconnerror);
            return (r, status, uptime, lastconnerror);
        });
        UpnpException.ThrowIfFailed(r);
        return new StatusInfoResult(status, uptime, lastconnerror);
    }

    /// <summary>Python <c>connectiontype()</c>: the IGD's WAN connection type.</summary>
    /// <returns>For example <c>IP_Routed</c>.</returns>
    /// <exception cref="UpnpException">The IGD or the connection to it failed.</exception>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    public string ConnectionType()
    {
        var igd = Current();
        var (r, connectionType) = Run(nameof(ConnectionType), CallTimeout, () =>
            (Miniupnpc.UPNP_GetConnectionTypeInfo(igd.ControlUrl, igd.ServiceType, out var connectionType), connectionType));
        UpnpException.ThrowIfFailed(r);
        return connectionType;
    }

    /// <summary>Python <c>externalipaddress()</c>: the external IP address.</summary>
    /// <returns>The address as text.</returns>
    /// <exception cref="UpnpException">The IGD or the connection to it failed.</exception>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    public string ExternalIpAddress()
    {
        var igd = Current();
        var (r, address) = Run(nameof(ExternalIpAddress), CallTimeout, () =>
            (Miniupnpc.UPNP_GetExternalIPAddress(igd.ControlUrl, igd.ServiceType, out var address), address));
        UpnpException.ThrowIfFailed(r);
        return address;
    }

    /// <summary>Python <c>addportmapping(eport, proto, host, iport, desc, remoteHost[, leaseDuration])</c>.</summary>
    /// <param name="externalPort">External port, 0 to 65535 (0 is passed to the IGD, which decides).</param>
    /// <param name="protocol"><c>TCP</c> or <c>UDP</c>, any case.</param>
    /// <param name="internalHost">Internal client address.</param>
    /// <param name="internalPort">Internal port, 1 to 65535.</param>
    /// <param name="description">Description, or null (miniupnpc then sends "libminiupnpc").</param>
    /// <param name="remoteHost">Remote host, or null/empty for any.</param>
    /// <param name="leaseDuration">Lease in seconds, 0 for permanent.</param>
    /// <returns>true.</returns>
    /// <exception cref="UpnpException">The IGD refused (718 ConflictInMappingEntry, …).</exception>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    public bool AddPortMapping(int externalPort, string protocol, string internalHost, int internalPort,
        string? description, string? remoteHost, uint leaseDuration = 0)
    {
        string lease = leaseDuration.ToString(CultureInfo.InvariantCulture);
        var (igd, ePort, iPort) = PrepareMapping("AddPortMapping", externalPort, protocol, internalHost, internalPort, description, remoteHost, lease);
        int r = Run(nameof(AddPortMapping), CallTimeout, () =>
            Miniupnpc.UPNP_AddPortMapping(igd.ControlUrl, igd.ServiceType, ePort, iPort, internalHost, description, protocol, remoteHost, lease));
        UpnpException.ThrowIfFailed(r);
        return true;
    }

    /// <summary>
    /// Python <c>addanyportmapping(eport, proto, host, iport, desc, remoteHost)</c>: adds a port mapping, the IGD
    /// choosing another external port if needed (IGDv2). The lease is always 0, as in Python.
    /// </summary>
    /// <param name="externalPort">Wanted external port, 0 to 65535.</param>
    /// <param name="protocol"><c>TCP</c> or <c>UDP</c>, any case.</param>
    /// <param name="internalHost">Internal client address.</param>
    /// <param name="internalPort">Internal port, 1 to 65535.</param>
    /// <param name="description">Description, or null.</param>
    /// <param name="remoteHost">Remote host, or null/empty for any.</param>
    /// <returns>The external port the IGD reserved.</returns>
    /// <exception cref="UpnpException">The IGD refused (401 on an IGDv1, …).</exception>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    public int AddAnyPortMapping(int externalPort, string protocol, string internalHost, int internalPort,
        string? description, string? remoteHost)
    {
        var (igd, ePort, iPort) = PrepareMapping("AddAnyPortMapping", externalPort, protocol, internalHost, internalPort, description, remoteHost, "0");
        var (r, reservedPort) = Run(nameof(AddAnyPortMapping), CallTimeout, () =>
            (Miniupnpc.UPNP_AddAnyPortMapping(igd.ControlUrl, igd.ServiceType, ePort, iPort, internalHost, description,
                protocol, remoteHost, "0", out var reservedPort), reservedPort));
        UpnpException.ThrowIfFailed(r);
        return CNumbers.Atoi(reservedPort);
    }

    /// <summary>Python <c>deleteportmapping(eport, proto[, remoteHost=''])</c>.</summary>
    /// <param name="externalPort">External port, 0 to 65535.</param>
    /// <param name="protocol"><c>TCP</c> or <c>UDP</c>, any case.</param>
    /// <param name="remoteHost">Remote host; empty (the default) for any.</param>
    /// <returns>true.</returns>
    /// <exception cref="UpnpException">The IGD refused (714 NoSuchEntryInArray, …).</exception>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    public bool DeletePortMapping(int externalPort, string protocol, string? remoteHost = "")
    {
        CheckPort(externalPort, nameof(externalPort), allowZero: true);
        CheckProtocol(protocol);
        CheckNoNul(remoteHost, nameof(remoteHost));
        var igd = Current();
        string ePort = Text(externalPort);
        CheckSoapBodyFits(igd, "DeletePortMapping",
            ("NewRemoteHost", remoteHost, nameof(remoteHost)), ("NewExternalPort", ePort, null), ("NewProtocol", protocol, null));
        int r = Run(nameof(DeletePortMapping), CallTimeout, () =>
            Miniupnpc.UPNP_DeletePortMapping(igd.ControlUrl, igd.ServiceType, ePort, protocol, remoteHost));
        UpnpException.ThrowIfFailed(r);
        return true;
    }

    /// <summary>Python <c>deleteportmappingrange(start, end, proto, manage)</c> (IGDv2).</summary>
    /// <param name="startPort">First external port, 0 to 65535.</param>
    /// <param name="endPort">Last external port, 0 to 65535.</param>
    /// <param name="protocol"><c>TCP</c> or <c>UDP</c>, any case.</param>
    /// <param name="manage">0: only this client's mappings; 1: all it may manage (0 to 255, Python's <c>"b"</c>).</param>
    /// <returns>true.</returns>
    /// <exception cref="UpnpException">The IGD refused (730 PortMappingNotFound, 733 InconsistentParameters, …).</exception>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    public bool DeletePortMappingRange(int startPort, int endPort, string protocol, int manage)
    {
        CheckPort(startPort, nameof(startPort), allowZero: true);
        CheckPort(endPort, nameof(endPort), allowZero: true);
        CheckProtocol(protocol);
        ArgumentOutOfRangeException.ThrowIfNegative(manage);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(manage, byte.MaxValue);
        var igd = Current();
        int r = Run(nameof(DeletePortMappingRange), CallTimeout, () =>
            Miniupnpc.UPNP_DeletePortMappingRange(igd.ControlUrl, igd.ServiceType, Text(startPort), Text(endPort), protocol, Text(manage)));
        UpnpException.ThrowIfFailed(r);
        return true;
    }

    /// <summary>Python <c>getportmappingnumberofentries()</c> (non-standard; miniupnpd has it).</summary>
    /// <returns>The number of mappings.</returns>
    /// <exception cref="UpnpException">The IGD does not support it, or failed.</exception>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    public uint GetPortMappingNumberOfEntries()
    {
        var igd = Current();
        var (r, n) = Run(nameof(GetPortMappingNumberOfEntries), CallTimeout, () =>
            (Miniupnpc.UPNP_GetPortMappingNumberOfEntries(igd.ControlUrl, igd.ServiceType, out uint n), n));
        UpnpException.ThrowIfFailed(r);
        return n;
    }

    /// <summary>Python <c>getspecificportmapping(eport, proto[, remoteHost=''])</c>.</summary>
    /// <param name="externalPort">External port, 0 to 65535.</param>
    /// <param name="protocol"><c>TCP</c> or <c>UDP</c>, any case.</param>
    /// <param name="remoteHost">Remote host; empty (the default) for any.</param>
    /// <returns><c>(intClient, iPort, desc, enabled, leaseDuration)</c>, or null when there is no such mapping or the
    /// call failed (Python returns None for both: this member never throws UpnpException).</returns>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    public SpecificPortMapping? GetSpecificPortMapping(int externalPort, string protocol, string? remoteHost = "")
    {
        CheckPort(externalPort, nameof(externalPort), allowZero: true);
        CheckProtocol(protocol);
        CheckNoNul(remoteHost, nameof(remoteHost));
        var igd = Current();
        var (intClient, intPort, desc, enabled, leaseDuration) = Run(nameof(GetSpecificPortMapping), CallTimeout, () =>
        {
            _ = Miniupnpc.UPNP_GetSpecificPortMappingEntry(igd.ControlUrl, igd.ServiceType, Text(externalPort), protocol, remoteHost,
                out var intClient, out var intPort, out var desc, out var enabled, out var leaseDuration);
            return (intClient, intPort, desc, enabled, leaseDuration);
        });
        if (intClient.Length == 0)
        {
            return null;
        }
        return new SpecificPortMapping(intClient, unchecked((ushort)CNumbers.Atoi(intPort)), desc,
            CNumbers.Atoi(enabled) != 0, CNumbers.Atoi(leaseDuration));
    }

    /// <summary>Python <c>getgenericportmapping(index)</c>.</summary>
    /// <param name="index">Position of the mapping, from 0 (passed as is, like Python's <c>"i"</c>).</param>
    /// <returns><c>(ePort, protocol, (intClient, iPort), desc, enabled, rHost, duration)</c>, or null past the last
    /// mapping or when the call failed (Python returns None for both).</returns>
    /// <exception cref="TimeoutException">The call took longer than <see cref="CallTimeout"/>.</exception>
    public GenericPortMapping? GetGenericPortMapping(int index)
    {
        var igd = Current();
        var (r, extPort, intClient, intPort, protocol, desc, enabled, rHost, duration) = Run(nameof(GetGenericPortMapping), CallTimeout, () =>
        {
            int r = Miniupnpc.UPNP_GetGenericPortMappingEntry(igd.ControlUrl, igd.ServiceType, index.ToString(CultureInfo.InvariantCulture),
                out var extPort, out var intClient, out var intPort, out var protocol, out var desc, out var enabled, out var rHost, out var duration);
            return (r, extPort, intClient, intPort, protocol, desc, enabled, rHost, duration);
        });
        if (r != Miniupnpc.UPNPCOMMAND_SUCCESS)
        {
            return null;
        }
        return new GenericPortMapping(unchecked((ushort)CNumbers.Atoi(extPort)), protocol,
            (intClient, unchecked((ushort)CNumbers.Atoi(intPort))), desc, enabled, rHost, CNumbers.StrtoulBase0(duration));
    }

    /// <summary>
    /// Frees the discovery results, without waiting for calls already running: they finish (SafeHandle reference
    /// counting defers the free until a SelectIgd using the list returns); later calls throw
    /// <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void Dispose()
    {
        _disposed = true;
        // Set the flag first, then take the list: a Discover storing a newer list afterwards sees the flag.
        Interlocked.Exchange(ref _devlist, new SafeDeviceListHandle()).Dispose();
    }

    /// <summary>The checks and text conversions AddPortMapping and AddAnyPortMapping share, before any I/O.</summary>
    private (Igd Igd, string ExternalPort, string InternalPort) PrepareMapping(string action, int externalPort, string protocol,
        string internalHost, int internalPort, string? description, string? remoteHost, string lease)
    {
        CheckPort(externalPort, nameof(externalPort), allowZero: true);
        CheckProtocol(protocol);
        CheckHost(internalHost, nameof(internalHost));
        CheckPort(internalPort, nameof(internalPort), allowZero: false);
        CheckNoNul(description, nameof(description));
        CheckNoNul(remoteHost, nameof(remoteHost));
        var igd = Current();
        string ePort = Text(externalPort), iPort = Text(internalPort);
        // The arguments in the order upnpcommands.c sends them; a NULL description goes out as "libminiupnpc".
        CheckSoapBodyFits(igd, action,
            ("NewRemoteHost", remoteHost, nameof(remoteHost)), ("NewExternalPort", ePort, null), ("NewProtocol", protocol, null),
            ("NewInternalPort", iPort, null), ("NewInternalClient", internalHost, nameof(internalHost)), ("NewEnabled", "1", null),
            ("NewPortMappingDescription", description ?? "libminiupnpc", nameof(description)), ("NewLeaseDuration", lease, null));
        return (igd, ePort, iPort);
    }

    /// <summary>
    /// Runs <paramref name="call"/> (one native call, which cannot be interrupted) on a native-call thread and waits for
    /// it at most <paramref name="bound"/>. Past the bound the call is abandoned: it goes on until miniupnpc returns
    /// (every HTTP reply within 30 s, our miniwget patch); <paramref name="late"/> frees what it returns.
    /// </summary>
    /// <remarks>
    /// No <see cref="RouterSlots"/> here: Python sends every call at once, and the port keeps its concurrency (the lab's
    /// fault tests time eight simultaneous calls against a router without carrier, each within one connect timeout).
    /// <para>
    /// The caller is synchronous and often a thread-pool thread: it blocks in <see cref="Task.Wait(TimeSpan)"/>, which
    /// needs no other pool thread to wake it (an awaited timeout would need one for its timer, and a starved pool would
    /// make the bound late).
    /// </para>
    /// </remarks>
    private static T Run<T>(string member, TimeSpan bound, Func<T> call, Action<T>? late = null)
    {
        long start = Stopwatch.GetTimestamp();
        if (bound.TotalMilliseconds >= int.MaxValue)
        {
            bound = Timeout.InfiniteTimeSpan; // beyond what a wait takes (24.8 days): as good as infinite
        }
        // An infinite timeout and no token: the task of the native call itself, so that Wait is woken by that thread.
        var running = NativeCall.RunAsync(call, Timeout.InfiniteTimeSpan, CancellationToken.None);
        var left = bound == Timeout.InfiniteTimeSpan ? bound : bound - Stopwatch.GetElapsedTime(start);
        bool done;
        try
        {
            done = running.Wait(left == Timeout.InfiniteTimeSpan || left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
            throw;
        }
        if (!done)
        {
            if (late is not null)
            {
                running.ContinueWith(t => late(t.Result), CancellationToken.None,
                    TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
            throw new TimeoutException($"UPnP.{member} did not end within {bound.TotalSeconds:0.###} s (UPnP.CallTimeout): the router "
                + "is too slow or hostile. The native call is abandoned and ends on its own.");
        }
        return running.Result;
    }

    private Igd Current()
    {
        ThrowIfDisposed();
        return _igd;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static void CheckPort(int port, string paramName, bool allowZero)
    {
        if (port < (allowZero ? 0 : 1) || port > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(paramName, port,
                allowZero ? "A port must be between 0 and 65535." : "A port must be between 1 and 65535.");
        }
    }

    private static void CheckProtocol(string protocol)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        if (!protocol.Equals("TCP", StringComparison.OrdinalIgnoreCase) && !protocol.Equals("UDP", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"The protocol must be TCP or UDP, not '{protocol}'.", nameof(protocol));
        }
    }

    private static void CheckHost(string host, string paramName)
    {
        ArgumentNullException.ThrowIfNull(host, paramName);
        CheckNoNul(host, paramName);
    }

    // C strings end at the first NUL: a string containing one would silently lose its tail.
    private static void CheckNoNul(string? text, string paramName)
    {
        if (text is not null && text.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("The string contains a NUL character, which C cannot carry.", paramName);
        }
    }

    /// <summary>
    /// miniupnpc builds the SOAP body in a 2048-byte buffer and silently fails the call when it does not fit; name the
    /// argument that made it too long instead. Same arithmetic as simpleUPnPcommand (values are not escaped there).
    /// </summary>
    private static void CheckSoapBodyFits(Igd igd, string action, params (string Element, string? Value, string? ParamName)[] args)
    {
        int length = Encoding.UTF8.GetByteCount(
            "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" " +
            "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>" +
            $"<u:{action} xmlns:u=\"{igd.ServiceType}\">" + $"</u:{action}></s:Body></s:Envelope>\r\n");
        string? longest = null;
        int longestLength = -1;
        foreach (var (element, value, paramName) in args)
        {
            int valueLength = value is null ? 0 : Encoding.UTF8.GetByteCount(value);
            length += 2 * element.Length + 5 + valueLength;
            if (paramName is not null && valueLength > longestLength)
            {
                longest = paramName;
                longestLength = valueLength;
            }
        }
        if (length >= SoapBodyCapacity)
        {
            throw new ArgumentException(
                $"The {action} request would be {length} bytes; miniupnpc's request buffer holds {SoapBodyCapacity - 1}.", longest);
        }
    }

    /// <summary>What SelectIgd found, copied out of native memory: commands never touch freed URLs.</summary>
    private sealed class Igd
    {
        internal static readonly Igd None = new();

        private Igd()
        {
        }

        internal Igd(SafeUrlsHandle urls, IGDdatas data, string lanAddr, string wanAddr)
        {
            // C NULL before any URL is set reads as empty: keep null so miniupnpc sees NULL, as Python's calls do.
            ControlUrl = NullIfEmpty(urls.controlURL);
            CifControlUrl = NullIfEmpty(urls.controlURL_CIF);
            ServiceType = data.first.servicetype;
            CifServiceType = data.CIF.servicetype;
            LanAddr = lanAddr;
            WanAddr = wanAddr;
        }

        internal string? ControlUrl { get; }
        internal string ServiceType { get; } = string.Empty;
        internal string? CifControlUrl { get; }
        internal string CifServiceType { get; } = string.Empty;
        internal string LanAddr { get; } = string.Empty;
        internal string WanAddr { get; } = string.Empty;

        private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
    }
}
