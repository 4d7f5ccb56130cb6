using MiniUpnp.Net.Interop;

namespace MiniUpnp.Net.Native;

/// <summary>
/// The C <c>struct IGDdatas</c>: what miniupnpc parsed from an IGD's root description. Pass it to
/// <c>parserootdesc</c>, <c>UPNP_GetValidIGD</c>, <c>UPNP_GetIGDFromUrl</c> or <c>GetUPNPUrls</c> as C code passes
/// <c>&amp;data</c>; read the fields under their C names. It holds no native allocation.
/// </summary>
public sealed unsafe class IGDdatas
{
    // The C struct itself, stored inline in this object and pinned while native code writes into it.
    internal Interop.IGDdatasStruct Value;

    /// <summary>Name of the element being parsed (parser state).</summary>
    public string cureltname => ReadField(static d => d->cureltname);

    /// <summary>The description's URLBase, if any.</summary>
    public string urlbase => ReadField(static d => d->urlbase);

    /// <summary>The device's presentation URL.</summary>
    public string presentationurl => ReadField(static d => d->presentationurl);

    /// <summary>Swaps the first and second WAN connection services, as <c>UPNP_GetValidIGD</c> does to try the second
    /// (miniupnpc.c): not a C function, the one struct edit the async layer's probe needs.</summary>
    internal void SwapFirstAndSecondService() => (Value.first, Value.second) = (Value.second, Value.first);

    /// <summary>Nesting depth reached by the parser (parser state).</summary>
    public int level => Value.level;

    /// <summary>The WANCommonInterfaceConfig service.</summary>
    public IGDdatas_service CIF => ReadService(static d => &d->CIF);

    /// <summary>The first WANIPConnection or WANPPPConnection service.</summary>
    public IGDdatas_service first => ReadService(static d => &d->first);

    /// <summary>The second WANIPConnection or WANPPPConnection service.</summary>
    public IGDdatas_service second => ReadService(static d => &d->second);

    /// <summary>The WANIPv6FirewallControl service.</summary>
    public IGDdatas_service IPv6FC => ReadService(static d => &d->IPv6FC);

    /// <summary>The service being parsed (parser state).</summary>
    public IGDdatas_service tmp => ReadService(static d => &d->tmp);

    private unsafe delegate byte* FieldSelector(Interop.IGDdatasStruct* data);

    private unsafe delegate Interop.IGDdatas_serviceStruct* ServiceSelector(Interop.IGDdatasStruct* data);

    private unsafe string ReadField(FieldSelector field)
    {
        fixed (Interop.IGDdatasStruct* d = &Value)
        {
            return NativeString.Read(field(d), Miniupnpc.MINIUPNPC_URL_MAXSIZE);
        }
    }

    private unsafe IGDdatas_service ReadService(ServiceSelector service)
    {
        fixed (Interop.IGDdatasStruct* d = &Value)
        {
            var s = service(d);
            return new IGDdatas_service(
                NativeString.Read(s->controlurl, Miniupnpc.MINIUPNPC_URL_MAXSIZE),
                NativeString.Read(s->eventsuburl, Miniupnpc.MINIUPNPC_URL_MAXSIZE),
                NativeString.Read(s->scpdurl, Miniupnpc.MINIUPNPC_URL_MAXSIZE),
                NativeString.Read(s->servicetype, Miniupnpc.MINIUPNPC_URL_MAXSIZE));
        }
    }
}

/// <summary>One service of an IGD description (C <c>struct IGDdatas_service</c>, copied).</summary>
/// <param name="controlurl">Its control URL, as written in the description (possibly relative).</param>
/// <param name="eventsuburl">Its event subscription URL.</param>
/// <param name="scpdurl">The URL of its service description.</param>
/// <param name="servicetype">Its service type, e.g. <c>urn:schemas-upnp-org:service:WANIPConnection:2</c>.</param>
public sealed record IGDdatas_service(string controlurl, string eventsuburl, string scpdurl, string servicetype);
