
namespace MiniUpnp.Net;

/// <summary>
/// The well-known values of <see cref="UpnpException.Code"/>: the UPnP error codes routers answer (UPnP Device
/// Architecture, WANIPConnection:2, WANIPv6FirewallControl:1, with the names miniupnpc's <c>strupnperror</c> gives
/// them) and miniupnpc's own negative codes. A router may answer a code that is not listed here: cast
/// <see cref="UpnpException.Code"/> and compare, unknown values simply have no name.
/// </summary>
public enum UpnpErrorCode
{
    /// <summary>miniupnpc <c>UPNPDISCOVER_MEMORY_ERROR</c>: discovery could not allocate memory.</summary>
    DiscoveryMemoryError = -102,

    /// <summary>miniupnpc <c>UPNPDISCOVER_SOCKET_ERROR</c>: discovery could not use its socket.</summary>
    DiscoverySocketError = -101,

    /// <summary>miniupnpc <c>UPNPCOMMAND_MEM_ALLOC_ERROR</c>: memory allocation failed.</summary>
    MemoryAllocationError = -5,

    /// <summary>miniupnpc <c>UPNPCOMMAND_INVALID_RESPONSE</c>: the router's answer made no sense (also used by this
    /// layer for values it cannot accept, such as a port outside 1–65535).</summary>
    InvalidResponse = -4,

    /// <summary>miniupnpc <c>UPNPCOMMAND_HTTP_ERROR</c>: the router could not be reached or did not answer (a stale
    /// URL, a router that is down or restarting).</summary>
    HttpError = -3,

    /// <summary>miniupnpc <c>UPNPCOMMAND_INVALID_ARGS</c>: miniupnpc's own argument check failed (nothing was sent).</summary>
    ArgumentCheckFailed = -2,

    /// <summary>miniupnpc <c>UPNPCOMMAND_UNKNOWN_ERROR</c>.</summary>
    UnknownError = -1,

    /// <summary>No valid IGD (miniupnpc <c>UPNP_NO_IGD</c>): discovery found none, or a description is not an IGD's.</summary>
    NoIgd = 0,

    /// <summary>401 Invalid Action: the router does not have this action (for example GetListOfPortMappings on IGDv1).</summary>
    InvalidAction = 401,

    /// <summary>402 Invalid Args (miniupnpd also answers it for an unknown pinhole id or a pinhole lease of 0).</summary>
    InvalidArgs = 402,

    /// <summary>501 Action Failed.</summary>
    ActionFailed = 501,

    /// <summary>600 Argument Value Invalid.</summary>
    ArgumentValueInvalid = 600,

    /// <summary>601 Argument Value Out of Range.</summary>
    ArgumentValueOutOfRange = 601,

    /// <summary>602 Optional Action Not Implemented.</summary>
    OptionalActionNotImplemented = 602,

    /// <summary>603 Out of Memory.</summary>
    OutOfMemory = 603,

    /// <summary>604 Human Intervention Required.</summary>
    HumanInterventionRequired = 604,

    /// <summary>605 String Argument Too Long.</summary>
    StringArgumentTooLong = 605,

    /// <summary>606 Action not authorized (for example a mapping or pinhole for another host).</summary>
    ActionNotAuthorized = 606,

    /// <summary>701 PinholeSpaceExhausted.</summary>
    PinholeSpaceExhausted = 701,

    /// <summary>702 FirewallDisabled.</summary>
    FirewallDisabled = 702,

    /// <summary>703 InboundPinholeNotAllowed.</summary>
    InboundPinholeNotAllowed = 703,

    /// <summary>704 NoSuchEntry: no pinhole with that id.</summary>
    NoSuchEntry = 704,

    /// <summary>705 ProtocolNotSupported.</summary>
    ProtocolNotSupported = 705,

    /// <summary>706 InternalPortWildcardingNotAllowed.</summary>
    InternalPortWildcardingNotAllowed = 706,

    /// <summary>707 ProtocolWildcardingNotAllowed.</summary>
    ProtocolWildcardingNotAllowed = 707,

    /// <summary>708 InvalidLayer2Address.</summary>
    InvalidLayer2Address = 708,

    /// <summary>709 NoTrafficReceived: the pinhole exists but no packet went through it yet.</summary>
    NoTrafficReceived = 709,

    /// <summary>713 SpecifiedArrayIndexInvalid: past the last mapping of a generic-entry listing.</summary>
    SpecifiedArrayIndexInvalid = 713,

    /// <summary>714 NoSuchEntryInArray: no such port mapping.</summary>
    NoSuchEntryInArray = 714,

    /// <summary>715 WildCardNotPermittedInSrcIP.</summary>
    WildCardNotPermittedInSrcIP = 715,

    /// <summary>716 WildCardNotPermittedInExtPort.</summary>
    WildCardNotPermittedInExtPort = 716,

    /// <summary>718 ConflictInMappingEntry: another client holds that external port.</summary>
    ConflictInMappingEntry = 718,

    /// <summary>724 SamePortValuesRequired: the router wants the external and internal ports equal.</summary>
    SamePortValuesRequired = 724,

    /// <summary>725 OnlyPermanentLeasesSupported: the router wants a lease of 0.</summary>
    OnlyPermanentLeasesSupported = 725,

    /// <summary>726 RemoteHostOnlySupportsWildcard.</summary>
    RemoteHostOnlySupportsWildcard = 726,

    /// <summary>727 ExternalPortOnlySupportsWildcard.</summary>
    ExternalPortOnlySupportsWildcard = 727,

    /// <summary>728 NoPortMapsAvailable.</summary>
    NoPortMapsAvailable = 728,

    /// <summary>729 ConflictWithOtherMechanisms.</summary>
    ConflictWithOtherMechanisms = 729,

    /// <summary>730 PortMappingNotFound: no mapping in the range (DeletePortMappingRange, GetListOfPortMappings).</summary>
    PortMappingNotFound = 730,

    /// <summary>731 ReadOnly.</summary>
    ReadOnly = 731,

    /// <summary>732 WildCardNotPermittedInIntPort.</summary>
    WildCardNotPermittedInIntPort = 732,

    /// <summary>733 InconsistentParameters.</summary>
    InconsistentParameters = 733,
}
